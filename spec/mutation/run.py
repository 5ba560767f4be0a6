"""Mutation testing of the reference decoder against the spec vectors.

Each mutant in ``mutants.py`` breaks one rule of the spec in the reference decoder, the way a
stranger implementing ``spec/`` might get it wrong.  For each mutant this script copies the
``aura_wire`` package into a temporary directory, applies the one edit there (the repository is
never written), and runs the vector tests (wire, templates, BRIO, session) pure-Python against the
copy.  A mutant is *killed* when at least one vector fails, *survived* otherwise.

Usage, from the repository root::

    python spec/mutation/run.py [--jobs 2] [--only NAME ...] [--json out.json]

Exit status 0 when every mutant applied; the kill ratio is printed.  A snippet that no longer
matches exactly once in the package is reported as ``stale`` (the mutant list must follow the code).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))

from mutants import MUTANTS, Mutant  # noqa: E402

VECTOR_TESTS = [
    "tests/test_vectors_wire.py",
    "tests/test_template_vectors.py",
    "tests/test_session_vectors.py",
    "tests/test_dictionary_vectors.py",
    "tests/test_brio.py::test_vector",
]
#: deselected: tests of the reference *encoder* (it shares code with the decoder, so a mutant could be
#: killed by the encoder's output instead of by a vector a decoder fails) and the generator check
DESELECT = "not encodes and not test_generator_reproduces_the_files"


def _vector_tests() -> list[str]:
    """The vector test modules, wherever the test tree keeps them."""
    found: list[str] = []
    for spec in VECTOR_TESTS:
        path, _, node = spec.partition("::")
        hits = [path] if (REPO / path).exists() else [str(p.relative_to(REPO)) for p in
                                                        sorted(REPO.glob("tests/**/" + Path(path).name))]
        if not hits:
            raise SystemExit(f"vector test {path} not found under tests/: fix VECTOR_TESTS in {__file__}")
        found += [h + ("::" + node if node else "") for h in hits]
    return found


def _locate(pkg: Path, m: Mutant) -> tuple[Path, int] | str:
    hits: list[tuple[Path, int]] = []
    for f in sorted(pkg.rglob("*.py")):
        text = f.read_text()
        n = text.count(m.old)
        if n:
            hits.append((f, n))
    if len(hits) != 1 or hits[0][1] != 1:
        return f"snippet matches {sum(n for _, n in hits)} times in {len(hits)} files"
    return hits[0]


def run_one(m: Mutant, tests: list[str]) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="aura-mutant-") as tmp:
        pkg = Path(tmp) / "aura_wire"
        shutil.copytree(REPO / "aura_wire", pkg, ignore=shutil.ignore_patterns("*.so", "__pycache__"))
        loc = _locate(pkg, m)
        if isinstance(loc, str):
            return {"name": m.name, "status": "stale", "detail": loc, "rule": m.rule}
        f, _ = loc
        f.write_text(f.read_text().replace(m.old, m.new))
        env = dict(os.environ, AURA_WIRE_PURE="1", PYTHONPATH=tmp, PYTHONDONTWRITEBYTECODE="1")
        t0 = time.monotonic()
        # run from the temporary directory: ``python -m`` puts the working directory first on
        # sys.path, so the mutated copy is the aura_wire that gets imported
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "--no-header",
             "-c", str(REPO / "pyproject.toml"), "--rootdir", str(REPO),
             "-k", DESELECT, *[str(REPO / t) for t in tests]],
            cwd=tmp, env=env, capture_output=True, text=True, timeout=600)
        status = "killed" if proc.returncode != 0 else "survived"
        first_fail = ""
        for line in proc.stdout.splitlines():
            if line.startswith("FAILED") or line.startswith("ERROR"):
                first_fail = line[:160]
                break
        return {"name": m.name, "status": status, "rule": m.rule, "file": str(f.relative_to(tmp)),
                "seconds": round(time.monotonic() - t0, 1), "killed_by": first_fail}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--json", default=None, help="write the results here")
    args = ap.parse_args()
    tests = _vector_tests()
    chosen = [m for m in MUTANTS if not args.only or m.name in args.only]
    names = [m.name for m in MUTANTS]
    assert len(names) == len(set(names)), "mutant names must be unique"
    unknown = set(args.only or ()) - set(names)
    if unknown:
        print(f"unknown mutant names: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    # every snippet must still be found exactly once before anything runs: a mutant whose code moved
    # would otherwise be silently skipped
    stale_now = [(m.name, loc) for m in chosen if isinstance(loc := _locate(REPO / "aura_wire", m), str)]
    if stale_now:
        for name, why in stale_now:
            print(f"STALE mutant {name}: {why}", file=sys.stderr)
        print("the mutant list must follow the code (spec/mutation/mutants.py)", file=sys.stderr)
        return 1
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
        results = list(ex.map(lambda m: run_one(m, tests), chosen))
    killed = [r for r in results if r["status"] == "killed"]
    survived = [r for r in results if r["status"] == "survived"]
    stale = [r for r in results if r["status"] == "stale"]
    for r in results:
        print(f"{r['status']:9} {r['name']:40} {r['rule']}")
    valid = len(killed) + len(survived)
    ratio = len(killed) / valid if valid else 0.0
    print(f"\nkilled {len(killed)} / {valid} mutants ({100 * ratio:.1f} %); survived {len(survived)}; "
          f"stale {len(stale)}")
    for r in survived:
        print(f"  survived: {r['name']}: {r['rule']}")
    for r in stale:
        print(f"  stale: {r['name']}: {r['detail']}")
    if args.json:
        Path(args.json).write_text(json.dumps({"killed": len(killed), "survived": len(survived),
                                               "stale": len(stale), "results": results}, indent=1))
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
