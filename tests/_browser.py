"""What the browser tests share: where the TypeScript client lives, and its prerequisites."""

from __future__ import annotations

import asyncio
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


async def drive_page(*urls: str) -> tuple[bytes, str]:
    """Open the page(s) in headless Chromium through ``clients/typescript/test/drive.mjs``; return the first line it
    prints (the page's JSON report, empty when it printed none) and its stderr."""
    proc = await asyncio.create_subprocess_exec("node", str(TS / "test" / "drive.mjs"), *urls, cwd=TS,
                                                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    assert proc.stdout is not None and proc.stdin is not None and proc.stderr is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 120)
    proc.stdin.close()
    await asyncio.wait_for(proc.wait(), 60)
    return line, (await proc.stderr.read()).decode()
