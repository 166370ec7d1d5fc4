"""The layers hold: SQL only in the SQLite storage, a protocol core that imports nothing
else of Gondulf, and no layer importing upward."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "gondulf"
SQL = re.compile(
    r"\b(SELECT\s+[\w*(]|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|"
    r"CREATE\s+(TABLE|INDEX|TRIGGER|VIEW)|PRAGMA\s+\w+|BEGIN\s+IMMEDIATE)\b"
)
LAYERS = ["indieauth", "storage", "services", "web", "demo", "cli"]  # each imports only leftwards


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("gondulf")}


def layer_of(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def test_sql_appears_only_in_the_sqlite_storage() -> None:
    allowed = PACKAGE / "storage" / "sqlite"
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in modules()
        if allowed not in path.parents and SQL.search(path.read_text())
    ]
    assert offenders == []


def test_the_protocol_core_imports_nothing_else_of_gondulf() -> None:
    for path in (PACKAGE / "indieauth").rglob("*.py"):
        others = {name for name in imports_of(path) if not name.startswith("gondulf.indieauth")}
        assert others == set(), path.name


def test_no_layer_imports_a_layer_above_it() -> None:
    for path in modules():
        own = layer_of("gondulf." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts))
        if own is None:
            continue
        for name in imports_of(path):
            other = layer_of(name)
            assert other is None or LAYERS.index(other) <= LAYERS.index(own), (
                f"{path.relative_to(PACKAGE)} imports {name}"
            )


def test_services_depend_on_the_storage_interface_not_on_sqlite() -> None:
    composition_root = PACKAGE / "services" / "runtime.py"
    for path in (PACKAGE / "services").rglob("*.py"):
        if path == composition_root:
            continue
        assert not any(name.startswith("gondulf.storage.sqlite") for name in imports_of(path)), (
            path.name
        )
