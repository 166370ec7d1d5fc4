"""Failures that are not protocol errors, each with the CLI exit code it maps to.

Exit codes: 0 success; 1 a check ran and found a problem, or nothing matched;
2 wrong arguments; 3 invalid configuration; 4 a service (database, DNS, SMTP,
HTTP) failed.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_SERVICE = 4


class GondulfError(Exception):
    """An expected failure with a one-line message meant for a person."""

    exit_code = EXIT_SERVICE


@dataclass(frozen=True)
class ConfigProblem:
    variable: str
    message: str

    def __str__(self) -> str:
        return f"{self.variable} {self.message}"


class ConfigError(GondulfError):
    exit_code = EXIT_CONFIG

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        count = len(problems)
        super().__init__(
            f"configuration has {count} problem{'s' if count != 1 else ''}: "
            + "; ".join(str(p) for p in problems)
        )


class UsageError(GondulfError):
    """An argument a person gave that cannot be used."""

    exit_code = EXIT_USAGE


class DatabaseError(GondulfError):
    """The database cannot be opened, migrated or used."""


class DatabaseBusy(DatabaseError):
    """The database stayed locked longer than a caller may wait: try again shortly."""
