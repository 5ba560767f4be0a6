"""Smoke version of scripts/load_test.py (issue 7, part 3): a few hundred concurrent connections.

Marked ``slow``: it starts two uvicorn servers on 127.0.0.1 and pushes real corpus messages through
AuraMiddleware (context mode) and through plain permessage-deflate.  The full run (1,000 connections)
is ``PYTHONPATH=. python scripts/load_test.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from _corpora import REPO, have_corpora

pytestmark = [pytest.mark.slow, pytest.mark.corpora]


def test_load_smoke_both_stacks_lose_nothing() -> None:
    if not have_corpora():
        pytest.skip("../shared/corpora is absent (the load test streams real corpus messages)")
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "load_test.py"), "--connections", "150", "--messages", "2",
         "--per-corpus", "60", "--train-per-corpus", "60", "--deadline", "150"],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True,
        timeout=170,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    for stack in ("aura", "deflate"):
        assert f"[{stack}] connections: 150/150 open at once (server saw 150;" in out, out
        assert f"[{stack}] messages: 300 echoed exactly of 300" in out, out
        assert f"[{stack}] losses: 0 (lost 0, altered 0)" in out, out
        assert f"[{stack}] latency: p50" in out and f"[{stack}] server memory per connection:" in out
