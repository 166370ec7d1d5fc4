"""Documentation that the code keeps honest: settings, commands, generated files, CI."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gondulf import __version__
from gondulf.cli.main import command_summaries
from gondulf.config import SETTING_SPECS

ROOT = Path(__file__).resolve().parent.parent
CHANGELOG = (ROOT / "CHANGELOG.md").read_text()
README = (ROOT / "README.md").read_text()


def test_every_setting_is_documented_in_the_readme_and_env_example() -> None:
    example = (ROOT / ".env.example").read_text()
    for spec in SETTING_SPECS:
        assert f"| `{spec.name}` |" in README, spec.name
        assert f"\n{spec.name}={spec.default_text}\n" in example, spec.name


def test_readme_documents_no_setting_that_does_not_exist() -> None:
    documented = set(re.findall(r"\| `(GONDULF_[A-Z_]+)` \|", README))
    assert documented == {spec.name for spec in SETTING_SPECS}


def test_every_command_is_documented_in_the_readme_and_has_a_man_page() -> None:
    commands = command_summaries()
    assert "tokens list" in commands and "serve" in commands
    for words, summary in commands.items():
        assert summary, words
        assert f"`gondulf {words}" in README, words
        assert (ROOT / "man" / f"gondulf-{'-'.join(words.split())}.1").is_file(), words


def test_quick_start_is_two_lines_and_ci_runs_the_test_line() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.*?)\n```", quick_start, re.S)
    assert len(commands) == 2 and all("\n" not in c for c in commands)
    serve_line, test_line = commands
    assert serve_line.endswith("gondulf serve --dev")
    assert test_line.endswith("-m pytest")
    ci = (ROOT / ".ci" / "run").read_text()
    pattern = re.search(r'grep -m1 -E "(.*?)" README.md', ci)
    assert pattern is not None
    assert [line for line in README.splitlines() if re.search(pattern.group(1), line)] == [
        test_line
    ]


def check_generated(*options: str) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "generate_docs.py"), "--check", *options],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_completions_env_example_and_settings_table_are_current() -> None:
    check_generated("--without-man")


@pytest.mark.skipif(
    shutil.which("help2man") is None,
    reason="help2man is not installed (apt-get install help2man; .ci/run installs it)",
)
def test_generated_man_pages_are_current() -> None:
    check_generated()


def test_changelog_has_an_unreleased_section() -> None:
    assert "## [Unreleased]" in (ROOT / "CHANGELOG.md").read_text()


def test_the_running_version_is_released_in_the_changelog() -> None:
    released = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", CHANGELOG, re.M)
    assert released and released[0] == __version__


def test_every_test_security_md_cites_exists() -> None:
    """SECURITY.md names the test proving each protection; each must be real."""
    text = (ROOT / "SECURITY.md").read_text()
    cited = 0
    current: Path | None = None
    for file, name in re.findall(r"`(tests/test_\w+\.py)?(?:::(test_\w+))?`", text):
        if file:
            current = ROOT / file
            assert current.is_file(), file
        if name:
            assert current is not None, name
            assert re.search(rf"def {name}\(", current.read_text()), f"{current.name}::{name}"
            cited += 1
    assert cited >= 30


def test_every_module_the_architecture_names_exists() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    named = set(re.findall(r"`(gondulf/[\w/]+(?:\.py)?|tests/[\w/]+\.py|scripts/\w+\.py)`", text))
    assert len(named) >= 8
    missing = [name for name in named if not (ROOT / name).exists()]
    assert missing == []
    package = ROOT / "gondulf"
    for folder, modules in re.findall(
        r"`(\w+)/` (?:reaches|is)[^.]*?:((?: `\w+\.py`[^`]*)+)", text
    ):
        for module in re.findall(r"`(\w+\.py)`", modules):
            assert list(package.rglob(f"{folder}/{module}")), f"{folder}/{module}"
