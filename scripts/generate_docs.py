#!/usr/bin/env python3
"""Regenerate what is derived from the code: man pages, shell completions, .env.example.

    python scripts/generate_docs.py          # write the files
    python scripts/generate_docs.py --check  # exit 1 and list the stale files

Man pages come from Debian's help2man run on the installed `gondulf` command
(Typer's own Click copy hides options from click-man); completions from
`gondulf --show-completion SHELL`. Both run with fixed width, no colours and
a fixed date so the output only changes when the commands do.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gondulf import __version__  # noqa: E402
from gondulf.cli.main import command_summaries  # noqa: E402
from gondulf.config import SETTING_SPECS  # noqa: E402

RELEASE_DATE_EPOCH = "1795910400"  # 2026-11-29, the date printed in the man pages
SHELLS = {"bash": "gondulf.bash", "zsh": "_gondulf", "fish": "gondulf.fish"}


def gondulf_command() -> str:
    found = shutil.which("gondulf", path=str(Path(sys.executable).parent)) or shutil.which(
        "gondulf"
    )
    if not found:
        sys.exit("generate_docs: the gondulf command is not installed (pip install -e .)")
    return found


def quiet_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONDULF_")}
    env.update(
        {
            "TYPER_USE_RICH": "0",
            "COLUMNS": "80",
            "NO_COLOR": "1",
            "TERM": "dumb",
            "SOURCE_DATE_EPOCH": RELEASE_DATE_EPOCH,
            "LC_ALL": "C.UTF-8",
            "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1",
        }
    )
    return env


def help2man(program: str, name: str, output: Path, include: Path | None = None) -> None:
    if not shutil.which("help2man"):
        sys.exit("generate_docs: help2man is not installed (apt-get install help2man)")
    extra = [f"--include={include}"] if include else []
    subprocess.run(
        [
            "help2man",
            "--no-info",
            "--no-discard-stderr",
            f"--version-string={__version__}",
            f"--name={name}",
            f"--output={output}",
            *extra,
            program,
        ],
        check=True,
        env=quiet_env(),
    )


def man_pages(folder: Path) -> None:
    command = gondulf_command()
    with tempfile.TemporaryDirectory() as scratch:
        sections = Path(scratch) / "sections.h2m"
        sections.write_text(environment_section() + FILES_SECTION + EXIT_STATUS_SECTION)
        help2man(command, "a self-hosted IndieAuth server", folder / "gondulf.1", sections)
        see_also = Path(scratch) / "command.h2m"
        see_also.write_text(EXIT_STATUS_SECTION + COMMAND_SEE_ALSO)
        for words, description in command_summaries().items():
            name = "-".join(words.split())
            wrapper = Path(scratch) / f"gondulf-{name}"
            wrapper.write_text(f'#!/bin/sh\nexec "{command}" {words} "$@"\n')
            wrapper.chmod(0o755)
            page = folder / f"gondulf-{name}.1"
            help2man(str(wrapper), description, page, see_also)
            # the page describes the command as people type it
            page.write_text(page.read_text().replace(f"gondulf-{name}", f"gondulf {words}"))


def completions(folder: Path) -> None:
    for shell, name in SHELLS.items():
        script = subprocess.run(
            [gondulf_command(), "--show-completion", shell],
            check=True,
            env=quiet_env(),
            capture_output=True,
            text=True,
        )
        (folder / name).write_text(script.stdout)


README_TABLE = re.compile(r"(<!-- settings:[^\n]*-->\n).*?(\n<!-- /settings -->)", re.S)


def settings_table() -> str:
    """The README's table of settings."""
    rows = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    rows += [
        f"| `{spec.name}` | {spec.default_for_people} | {spec.help} |" for spec in SETTING_SPECS
    ]
    return "\n".join(rows)


def readme() -> str:
    text = (ROOT / "README.md").read_text()
    if not README_TABLE.search(text):
        sys.exit("generate_docs: README.md lost its <!-- settings --> markers")
    return README_TABLE.sub(lambda m: m.group(1) + settings_table() + m.group(2), text)


EXIT_STATUS_SECTION = """[EXIT STATUS]
.TP
.B 0
Success (for checks: everything passed).
.TP
.B 1
A check ran and found a problem, nothing matched (an unknown token, domain or resource
server), or a confirmation was declined.
.TP
.B 2
Wrong arguments: an unknown command or option, a missing argument, an ambiguous token
ID, no answer to a confirmation (add --yes).
.TP
.B 3
Invalid configuration (gondulf check-config shows every problem).
.TP
.B 4
A service failed: the database (also: there is none where the settings point), DNS,
SMTP or the web.
"""

FILES_SECTION = """[FILES]
.TP
.I .env
Settings, read from the working directory; the environment wins over it.
.TP
.I data/gondulf.db
The SQLite database (GONDULF_DATABASE_URL), with its -wal, -shm and .lock files beside
it. Only gondulf serve and gondulf migrate create it. gondulf restore keeps the database
it replaces beside it as gondulf.db.before-restore-TIMESTAMP.
.TP
.I data/dev-secret-key
The secret gondulf serve --dev generates once and reads back (development only).
"""

COMMAND_SEE_ALSO = """[SEE ALSO]
.BR gondulf (1)
for the settings (ENVIRONMENT) and files.
"""


def environment_section() -> str:
    """The ENVIRONMENT section help2man includes in gondulf.1."""
    lines = [
        "[ENVIRONMENT]",
        "Settings come from these variables, or from a .env file in the working "
        "directory (the environment wins).",
    ]
    for spec in SETTING_SPECS:
        default = spec.default_for_people.replace("`", "")
        lines += [".TP", f".B {spec.name}", f"{spec.help.replace('`', '')} Default: {default}."]
    return "\n".join(lines) + "\n"


def env_example() -> str:
    lines = [
        "# Gondulf settings. Copy to .env (or set them in the environment, which wins)",
        "# and fill in at least the required ones. Generated from",
        "# gondulf/config/settings.py.",
        "",
    ]
    for spec in SETTING_SPECS:
        lines += [f"# {line}" for line in textwrap.wrap(spec.help, 76)]
        lines += [f"{spec.name}={spec.default_text}", ""]
    return "\n".join(lines)


def generate(root: Path, man: bool = True) -> None:
    (root / "man").mkdir(exist_ok=True)
    (root / "completions").mkdir(exist_ok=True)
    if man:
        man_pages(root / "man")
    completions(root / "completions")
    (root / ".env.example").write_text(env_example())
    (root / "README.md").write_text(readme())


def stale_files(man: bool = True) -> list[str]:
    with tempfile.TemporaryDirectory() as scratch:
        fresh = Path(scratch)
        generate(fresh, man)
        stale = []
        for path in sorted(p for p in fresh.rglob("*") if p.is_file()):
            relative = path.relative_to(fresh)
            current = ROOT / relative
            if not current.is_file() or current.read_text() != path.read_text():
                stale.append(str(relative))
        for folder in ("man", "completions") if man else ("completions",):
            for path in (ROOT / folder).glob("*"):
                if not (fresh / folder / path.name).exists():
                    stale.append(f"{folder}/{path.name} (no longer generated)")
        return stale


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files")
    parser.add_argument(
        "--without-man", action="store_true", help="leave out the man pages (no help2man)"
    )
    arguments = parser.parse_args()
    if arguments.check:
        stale = stale_files(man=not arguments.without_man)
        if stale:
            print("stale generated files (run python scripts/generate_docs.py):")
            print("\n".join(f"  {name}" for name in stale))
            sys.exit(1)
        print("generated files are up to date")
    else:
        generate(ROOT, man=not arguments.without_man)


if __name__ == "__main__":
    main()
