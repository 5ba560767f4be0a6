"""The mutation check of both decoders, side by side: the reference (``run.py`` over ``mutants.py``)
and the TypeScript client (``clients/typescript/scripts/mutate.mjs`` over ``mutants.mjs``).

The two mutant lists correspond one to one: the same names, each breaking the same spec rule in
either decoder.  This script checks that, runs both (or reads earlier results), and prints one row
per mutant.  A mutant killed in one decoder and not in the other is a difference; the ones whose
cause is known are explained in ``EXPLAINED`` (and in README.md), any other one is flagged.

Usage, from the repository root (the TypeScript side needs ``npm ci`` in clients/typescript)::

    python spec/mutation/compare.py [--jobs 2] [--py-json py.json] [--ts-json ts.json] [--only NAME ...]

``--py-json`` / ``--ts-json``: read that side's results from a file written by ``run.py --json`` /
``mutate.mjs --json`` instead of running it (a missing file is written).  Exit status 0 when the
lists correspond, nothing is stale, and every difference is explained.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
TS = REPO / "clients" / "typescript"
sys.path.insert(0, str(HERE))

from mutants import MUTANTS  # noqa: E402

#: differences whose cause is known: the rule is enforced twice in one decoder (so one broken copy is
#: caught by the other), or the broken check is implied by another one there
EXPLAINED: dict[str, str] = {}


def ts_names() -> list[str]:
    """The names in mutants.mjs, in order (read as text: no Node needed)."""
    return re.findall(r'^  \["([a-z0-9-]+)", ', (TS / "scripts" / "mutants.mjs").read_text(), re.M)


def run_py(out: Path, jobs: int, only: list[str]) -> None:
    subprocess.run([sys.executable, str(HERE / "run.py"), "--jobs", str(jobs), "--json", str(out),
                    *(["--only", *only] if only else [])], cwd=REPO, check=False)


def run_ts(out: Path, only: list[str]) -> None:
    subprocess.run(["npm", "run", "--silent", "build"], cwd=TS, check=True)
    subprocess.run(["node", "scripts/mutate.mjs", "--json", str(out), *only], cwd=TS, check=False)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--py-json", default=None)
    ap.add_argument("--ts-json", default=None)
    ap.add_argument("--only", nargs="*", default=[])
    args = ap.parse_args()
    py_names = [m.name for m in MUTANTS]
    tsn = ts_names()
    ok = True
    if py_names != tsn:
        ok = False
        print("the mutant lists do not correspond:")
        for n in py_names:
            if n not in tsn:
                print(f"  only in mutants.py: {n}")
        for n in tsn:
            if n not in py_names:
                print(f"  only in mutants.mjs: {n}")
        if sorted(py_names) == sorted(tsn):
            print("  (same names, another order)")
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    py_json = Path(args.py_json) if args.py_json else tmp / f"aura-mutation-py-{os.getpid()}.json"
    ts_json = Path(args.ts_json) if args.ts_json else tmp / f"aura-mutation-ts-{os.getpid()}.json"
    if not py_json.exists():
        run_py(py_json, args.jobs, args.only)
    if not ts_json.exists():
        run_ts(ts_json, args.only)
    py = {r["name"]: r for r in json.loads(py_json.read_text())["results"]}
    ts = {r["name"]: r for r in json.loads(ts_json.read_text())["results"]}
    rules = {m.name: m.rule for m in MUTANTS}
    print(f"{'mutant':34} {'reference':10} {'typescript':10}  rule")
    diff: list[str] = []
    for name in py_names:
        if args.only and name not in args.only:
            continue
        a = py.get(name, {}).get("status", "-")
        b = ts.get(name, {}).get("status", "-")
        mark = "" if a == b else "  <- differs"
        print(f"{name:34} {a:10} {b:10}  {rules[name]}{mark}")
        if a != b:
            diff.append(name)
        if "stale" in (a, b):
            ok = False
    for label, res in (("reference", py), ("typescript", ts)):
        valid = [r for r in res.values() if r["status"] in ("killed", "survived")]
        killed = sum(1 for r in valid if r["status"] == "killed")
        print(f"{label}: killed {killed} of {len(valid)} ({100 * killed / max(len(valid), 1):.1f} %)")
    same = sum(1 for n in py_names if n in py and n in ts and py[n]["status"] == ts[n]["status"])
    print(f"same outcome: {same} of {len(py_names)}")
    for name in diff:
        why = EXPLAINED.get(name)
        print(f"  {name}: {why if why else 'UNEXPLAINED difference'}")
        ok = ok and why is not None
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
