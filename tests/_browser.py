"""What the browser tests share: where the TypeScript client lives, and its prerequisites."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

TS = Path(__file__).resolve().parents[1] / "clients" / "typescript"


def need_browser() -> None:
    missing = [what for what, ok in (("node", shutil.which("node")), ("chromium", Path("/usr/bin/chromium").exists()),
                                     ("clients/typescript/dist", (TS / "dist" / "aura-wire.js").exists()),
                                     ("clients/typescript/node_modules", (TS / "node_modules").is_dir())) if not ok]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser test prerequisites missing in CI: {', '.join(missing)}")
        pytest.skip(f"browser test prerequisites missing: {', '.join(missing)} (see docs/browser.md)")
