"""Differential fuzzing: the reference decoder and the TypeScript one must agree on mutated frames.

Two decoders written from one spec must give, for every frame, the same message or the same error
class (spec/wire-format.md §5.6 orders the checks, so even a frame with several faults has one right
error).  This script mutates real frames (fuzz_decoder's seeds and structure-aware ``mutate``; the
selectors that decode every method: with the full dictionary or none, stateless or context), decodes
each input with the reference and writes the inputs and the reference's outcomes to a JSON file;
``clients/typescript/scripts/differential.mjs`` decodes the same frames with the TypeScript decoder
and lists every disagreement.  Forged check bytes (selector bit 0x20) are not used: the TypeScript
decoder cannot bypass its check.

Usage, from the repository root (build the TypeScript bundle first: ``cd clients/typescript && npm run build``)::

    python fuzz/differential.py --inputs 5000 --out /tmp/aura-diff.json
    node clients/typescript/scripts/differential.mjs /tmp/aura-diff.json
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fuzz_decoder import (  # noqa: E402
    CORPORA,
    FUZZ_MAX_MESSAGE,
    SEL_CONTEXT,
    SEL_DICT,
    SEL_FULL,
    SEL_SESSION,
    Targets,
    build_targets,
    corpus_seeds,
    mutate,
    seed_inputs,
    split_input,
)


def outcomes(targets: Targets, selector: int, frames: Sequence[bytes]) -> list[list[str]]:
    """The reference's result for each frame: ["text", str], ["binary", hex] or ["error", class name]."""
    from aura_wire.errors import AuraError

    dec = targets.decoder(selector)
    out: list[list[str]] = []
    for f in frames:
        try:
            m = dec.decode(f)
        except AuraError as exc:
            out.append(["error", type(exc).__name__])
            continue
        out.append(["text", m] if isinstance(m, str) else ["binary", m.hex()])
    return out


def make_cases(targets: Targets, seeds: Sequence[bytes], n: int, seed: int) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    cases: list[dict[str, Any]] = []
    usable = [s for s in seeds if not s[0] & SEL_SESSION]
    while len(cases) < n:
        data = mutate(rnd.choice(usable), rnd, usable)
        selector, frames = split_input(data)
        # every method decodes: the full dictionary or none (the reference's brio/templates switches are on)
        selector = (selector & (SEL_CONTEXT | SEL_DICT)) | SEL_FULL
        cases.append({"context": bool(selector & SEL_CONTEXT), "dictionary": bool(selector & SEL_DICT),
                      "frames": [f.hex() for f in frames], "outcomes": outcomes(targets, selector, frames)})
    return cases


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--inputs", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--corpora", type=Path, default=CORPORA)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    targets = build_targets()
    seeds = seed_inputs(targets) + corpus_seeds(targets, args.corpora)
    cases = make_cases(targets, seeds, args.inputs, args.seed)
    doc = {"max_message_size": FUZZ_MAX_MESSAGE, "dictionary": targets.dict_full.to_bytes().hex(), "cases": cases}
    args.out.write_text(json.dumps(doc))
    frames = sum(len(c["frames"]) for c in cases)
    errors = sum(o[0] == "error" for c in cases for o in c["outcomes"])
    print(f"{len(cases)} inputs, {frames} frames ({frames - errors} decoded, {errors} refused) -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
