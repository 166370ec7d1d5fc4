"""What `pip install gondulf` and the source archive carry: built for real with hatchling."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from gondulf import __version__

ROOT = Path(__file__).resolve().parent.parent
NAME = f"gondulf-{__version__}"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-d", str(folder)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return folder


def tracked(folder: str) -> set[str]:
    listing = subprocess.run(
        ["git", "ls-files", folder], cwd=ROOT, check=True, capture_output=True, text=True
    )
    return {line for line in listing.stdout.splitlines() if line}


def test_the_source_archive_holds_docs_man_pages_completions_and_the_license(
    built: Path,
) -> None:
    with tarfile.open(built / f"{NAME}.tar.gz") as archive:
        names = {name.removeprefix(f"{NAME}/") for name in archive.getnames()}
    for required in (
        "LICENSE",
        "README.md",
        "CHANGELOG.md",
        ".env.example",
        ".ci/run",
        "package.json",  # axe-core for tests/e2e/, installed with npm ci
        "package-lock.json",
    ):
        assert required in names, required
    for folder in ("man", "completions", "gondulf", "tests"):
        files = tracked(folder)
        assert files and files <= names, sorted(files - names)[:5]


def test_the_wheel_installs_the_package_data_man_pages_and_completions(built: Path) -> None:
    with zipfile.ZipFile(built / f"{NAME}-py3-none-any.whl") as wheel:
        names = set(wheel.namelist())
        metadata = Parser().parsestr(wheel.read(f"{NAME}.dist-info/METADATA").decode())
    package = {name for name in tracked("gondulf") if not name.endswith("__pycache__")}
    assert package <= names, sorted(package - names)[:5]  # migrations, templates, static
    data = f"{NAME}.data/data/share/"
    for page in tracked("man"):
        assert f"{data}man/man1/{Path(page).name}" in names, page
    assert f"{data}bash-completion/completions/gondulf" in names
    assert f"{data}zsh/site-functions/_gondulf" in names
    assert f"{data}fish/vendor_completions.d/gondulf.fish" in names
    assert f"{NAME}.dist-info/licenses/LICENSE" in names
    assert metadata["License-Expression"] == "MIT"
    assert any(
        "IndieAuth" in line or "Authentication" in line
        for line in metadata.get_all("Classifier") or []
    )


def test_the_license_file_is_the_license_pyproject_names() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License")
    assert 'license = "MIT"' in (ROOT / "pyproject.toml").read_text()
