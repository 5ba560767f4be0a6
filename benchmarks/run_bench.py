"""The side-by-side benchmark (a thin wrapper over `aura-wire bench`, :mod:`aura_wire.tools.bench`).

    python benchmarks/run_bench.py                      # every corpus in ../shared/corpora
    python benchmarks/run_bench.py --limit 400 --plot bench.png
    python benchmarks/run_bench.py path/to/a.jsonl path/to/b.jsonl --json out.json

Same options as ``aura-wire bench`` (``--help``); with no corpus it takes
``../shared/corpora/*.jsonl`` relative to the repository root.  Install the
package first (``pip install .``) to measure the compiled build; the report's
first line says which build ran.
"""

from __future__ import annotations

import glob
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(argv: list[str]) -> int:
    try:
        import aura_wire  # noqa: F401  (the installed package, compiled when pip-installed)
    except ImportError:
        sys.path.insert(0, REPO)
    from aura_wire.tools.cli import main as cli_main

    corpora = [a for a in argv if not a.startswith("-") and os.path.exists(a)]
    if not corpora and not any(a in ("-h", "--help") for a in argv):
        found = sorted(glob.glob(os.path.join(REPO, "..", "shared", "corpora", "*.jsonl")))
        if not found:
            print("no corpus given and ../shared/corpora/*.jsonl not found", file=sys.stderr)
            return 2
        argv = found + argv
    return cli_main(["bench", *argv])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
