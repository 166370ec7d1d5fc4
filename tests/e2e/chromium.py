"""Where the browser tests find Chromium and axe-core, and how Chromium is started."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; Playwright's own download is not used
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"  # npm ci, from package-lock.json
SCREENSHOTS = ROOT / "build" / "screenshots"

# Without the networking switches Chromium keeps trying to reach Google's hosts, which a
# closed network refuses or never answers, and hangs. HttpsUpgrades would first try https
# for the app's plain-http redirect_uri. The `.test` hosts of the tests' world are all
# served on 127.0.0.1.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-features=HttpsUpgrades",
    "--host-resolver-rules=MAP *.test 127.0.0.1",
]


def missing_parts() -> str | None:
    """Why the browser tests cannot run here, or None when everything they need is present."""
    if not CHROMIUM.exists():
        return f"Chromium is not installed at {CHROMIUM} (Debian: apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (pip install -e '.[test]')"
    if not AXE.exists():
        return f"axe-core is not installed at {AXE.relative_to(ROOT)} (run npm ci)"
    return None
