"""The session-layer fuzz target (fuzz/fuzz_session.py) replayed as a test (issue 19).

Runs the fuzzer's oracle over its seed programs and a fixed set of pseudo-random ones, both modes:
CONTROL messages built field by field against one session, and a client/server pair with sends,
partial deliveries, offers answered every way, closes and dropped or duplicated CONTROL frames.
Any finding fails the test with the input in hex (replay it with ``--reproduce``).  The test also
checks the programs reach what the oracle is about: synced deliveries both ways, failures with
their close codes and injected faults; an oracle that is never reached proves nothing.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parents[2] / "fuzz"
sys.path.insert(0, str(FUZZ))

import fuzz_session  # noqa: E402
from fuzz_decoder import OracleFailure, Targets, build_targets  # noqa: E402


@pytest.fixture(scope="module")
def targets() -> Targets:
    return build_targets()


def _programs(n: int, seed: int) -> list[bytes]:
    rnd = random.Random(seed)
    return [bytes([i % 4]) + bytes(rnd.getrandbits(8) for _ in range(rnd.randint(8, 300))) for i in range(n)]


def test_session_programs_hold_the_oracle(targets: Targets) -> None:
    fuzz_session.REACHED.clear()
    findings = []
    for data in fuzz_session.seed_inputs() + _programs(400, seed=2026):
        try:
            fuzz_session.run_one(targets, data)
        except Exception as exc:  # every finding, whatever its type
            findings.append(f"{type(exc).__name__}: {exc}\n  input hex: {data.hex()}")
    assert not findings, "\n".join(findings[:5])
    reached = fuzz_session.REACHED
    for key in ("pair: delivered sc (synced)", "pair: delivered cs (synced)", "pair: control frame dropped",
                "pair: control frame duplicated", "pair: fetch started", "control: failed 1002"):
        assert reached[key] > 0, f"the programs never reached {key!r}: {dict(reached)}"
    assert any(k.startswith("pair: failed") for k in reached)


def test_the_pair_oracle_catches_an_altered_message(targets: Targets, monkeypatch: pytest.MonkeyPatch) -> None:
    """The oracle has teeth: a session that alters what it delivers is a finding."""
    from aura_wire.session import MessageReceived, Session

    real = Session.events

    def altered(self: Session) -> list[object]:
        return [MessageReceived(ev.data[::-1]) if isinstance(ev, MessageReceived) and len(ev.data) > 1 else ev
                for ev in real(self)]

    monkeypatch.setattr(Session, "events", altered)
    # pair mode; max_chunk, codec and message-set choices; the server sends message 3 (text, not
    # sensitive), 8 frames go to the client; the client sends message 4, 8 frames go to the server
    program = bytes([1]) + bytes([0, 0, 5]) + bytes([1, 3, 200, 100, 2, 7, 0, 4, 200, 100, 3, 7])
    with pytest.raises(OracleFailure, match="differ from the sent"):
        fuzz_session.run_one(targets, program)
