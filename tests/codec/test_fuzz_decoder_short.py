"""A short, bounded run of the decoder fuzzer's blind structure-aware mode (fuzz/fuzz_decoder.py --mutate).

The fuzzer's oracle (every input decodes or raises an AuraError with a close code, output within
max_message_size, context decoding deterministic, a session fails cleanly) over mutations of real
frames: the vectors', the encoder's on synthetic traffic and, when ../shared/corpora is present, on
real messages of each corpus.  A fixed random seed and a fixed count of inputs, so a failure replays
exactly (the finding's input is printed in hex: ``python fuzz/fuzz_decoder.py --reproduce FILE``).
Longer runs, pure with coverage or compiled, are documented in fuzz/fuzz_decoder.py.
"""

from __future__ import annotations

import random
import sys
from collections import Counter
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parents[2] / "fuzz"
sys.path.insert(0, str(FUZZ))

import fuzz_decoder  # noqa: E402
from fuzz_decoder import SEL_SESSION, Targets, build_targets, corpus_seeds, mutate, seed_inputs  # noqa: E402


@pytest.fixture(scope="module")
def targets() -> Targets:
    return build_targets()


@pytest.fixture(scope="module")
def seeds(targets: Targets) -> list[bytes]:
    return seed_inputs(targets) + corpus_seeds(targets, per_corpus=16)


@pytest.mark.slow
def test_mutated_frames_hold_the_decoder_oracle(targets: Targets, seeds: list[bytes]) -> None:
    stats = fuzz_decoder.mutation_run(targets, seeds, seed=2026, iterations=1500)
    assert stats.inputs == 1500
    shown = [f"{type(exc).__name__}: {exc}\n  input hex: {data.hex()}" for data, exc in stats.findings[:5]]
    assert not stats.findings, f"{len(stats.findings)} findings:\n" + "\n".join(shown)


@pytest.mark.slow
def test_mutations_reach_both_decoded_and_refused_frames(targets: Targets, seeds: list[bytes]) -> None:
    """The oracle is reached: mutated inputs are neither all refused at the header nor all left intact."""
    rnd = random.Random(2026)
    outcomes: Counter[str] = Counter()
    for _ in range(300):
        data = mutate(rnd.choice(seeds), rnd, seeds)
        selector, frames = fuzz_decoder.split_input(data)
        if selector & SEL_SESSION:
            continue
        for result in fuzz_decoder._decode_all(targets.decoder(selector), frames):
            outcomes[result[1] if isinstance(result, tuple) else "decoded"] += 1
    assert outcomes["decoded"] > 100, outcomes
    refusals = {k for k in outcomes if k != "decoded"}
    assert {"PayloadError", "FrameError", "ContextDesyncError"} <= refusals, outcomes
