"""Regression tests for what fuzz/fuzz_decoder.py found (issue 7, part 1).

Each case is the exact frame sequence of a crash, the decoder it was fed to, and the rule it broke:
``Decoder.decode`` must return the message or raise an :class:`~aura_wire.errors.AuraError`, never
another exception, and never return more than ``max_message_size`` bytes.  The fuzz input format
(byte 0 selector, then 2-byte-length-prefixed frames) is described in fuzz/fuzz_decoder.py; the
frames are stored here in hex so the test needs neither atheris nor the fuzz script.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from aura_wire import Decoder
from aura_wire.errors import AuraError, PayloadError


LIMIT = 1 << 16


@dataclass(frozen=True)
class Finding:
    name: str
    frames: tuple[str, ...]  # hex
    context: bool
    brio: bool
    templates: bool
    note: str
    open_while: bool = False  # True while the finding is known to be unfixed (strict xfail)


FINDINGS = [
    Finding(
        name="F1-brio-frame-with-brio-disabled",
        # fuzz input 00 9292 0400040000 00ff10: selector 0 (stateless, no dictionary, brio off); the length
        # 0x9292 runs past the end, so the one frame is the rest: a stateless BRIO frame (header 0x04).
        frames=("0400040000" "00ff10",),
        context=False, brio=False, templates=False,
        note="encoder.py Decoder._decode_brio imports aura_wire.codec.brio for a C=0 BRIO frame even when the "
             "decoder was built with brio=False: ModuleNotFoundError (not an AuraError) when the module is absent, "
             "and a BRIO frame is decoded by a decoder configured without BRIO when it is present",
        open_while=False,
    ),
    Finding(
        name="F1b-brio-frame-text-flag",
        frames=("0c41",),
        context=True, brio=False, templates=False,
        note="same path with T=1 in a context decoder (its C=1 path already refuses with FrameError)",
        open_while=False,
    ),
]


def _run(f: Finding) -> None:
    dec = Decoder(None, context=f.context, max_message_size=LIMIT, brio=f.brio, templates=f.templates)
    for h in f.frames:
        try:
            out = dec.decode(bytes.fromhex(h))
        except AuraError:
            continue
        assert isinstance(out, (str, bytes))
        assert len(out) <= LIMIT


@pytest.mark.parametrize("finding", FINDINGS, ids=[f.name for f in FINDINGS])
def test_fuzz_finding(finding: Finding, request: pytest.FixtureRequest) -> None:
    if finding.open_while:
        request.applymarker(pytest.mark.xfail(strict=True, raises=ModuleNotFoundError,
                                              reason=f"open finding: {finding.note}"))
    _run(finding)


def test_brio_frame_refused_by_a_brio_disabled_context_decoder() -> None:
    """The context path already does the right thing (FrameError); F1 is about the C=0 path."""
    dec = Decoder(None, context=True, max_message_size=LIMIT, brio=False, templates=False)
    with pytest.raises(AuraError):
        dec.decode(bytes.fromhex("1441"))


@pytest.mark.parametrize("context", [False, True])
def test_brio_frame_of_zeros_past_its_end_is_refused_before_its_output(context: bool) -> None:
    """F2 (fuzz_decoder.py --mutate, pure: 7-byte inputs took 1.2 s): a BRIO frame holding only its message
    length decoded the whole message from the zeros past its end, 16 MiB and 2.5 s of compiled CPU for a 5-byte
    frame, before its check byte failed.  brio.md §2: at most 16 bytes are read past the end."""
    from aura_wire.codec.brio.model import default_models
    from aura_wire.codec.brio.rangecoder import _encode_msg_len, _RangeEncoder

    rc = _RangeEncoder(default_models(), None)
    _encode_msg_len(rc, (16 << 20) - 1)
    frame = bytes([0x44 | (0x10 if context else 0)]) + rc.finish()  # v2 BRIO, D = 0
    assert len(frame) <= 5
    with pytest.raises(PayloadError, match="past its end"):
        Decoder(None, context=context, max_message_size=16 << 20).decode(frame)
