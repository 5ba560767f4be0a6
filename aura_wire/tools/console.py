"""What the ``aura-wire`` subcommands share: the one-line error, progress bars on stderr,
reading input files, number formats.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.resources
import importlib.util
import sys
import threading
import time
from typing import IO, Any

from aura_wire.errors import CorpusError

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


# ---------------------------------------------------------------------------
# progress bar
# ---------------------------------------------------------------------------


class Progress:
    """A one-line progress bar on ``stream`` (stderr), redrawn at most 20 times a second.

    On a terminal it redraws in place; otherwise it prints only the final
    line, so logs and tests stay readable.
    """

    def __init__(self, total: int, label: str, stream: IO[str] | None = None, width: int = 30) -> None:
        self.total = max(0, total)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.done = 0
        self.extra = ""
        self._last = 0.0
        self._t0 = time.perf_counter()
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def update(self, n: int = 1, extra: str | None = None) -> None:
        self.done += n
        if extra is not None:
            self.extra = extra
        now = time.perf_counter()
        if self._tty and (now - self._last >= 0.05 or self.done >= self.total):
            self._last = now
            self.stream.write("\r" + self._line())
            self.stream.flush()

    def _line(self) -> str:
        frac = self.done / self.total if self.total else 1.0
        fill = int(round(frac * self.width))
        bar = "#" * fill + "." * (self.width - fill)
        el = time.perf_counter() - self._t0
        return f"{self.label} [{bar}] {100 * frac:5.1f}% {self.done}/{self.total} {el:5.1f}s {self.extra}"

    def close(self) -> None:
        if self._tty:
            self.stream.write("\r" + self._line() + "\n")
        else:
            self.stream.write(self._line() + "\n")
        self.stream.flush()


@contextlib.contextmanager
def _ticker(label: str, stream: IO[str]) -> Any:
    """Show elapsed time while a step with no progress callback (dictionary training) runs."""
    stop = threading.Event()
    t0 = time.perf_counter()
    tty = bool(getattr(stream, "isatty", lambda: False)())

    def run() -> None:
        spin = "|/-\\"
        i = 0
        while not stop.wait(0.2):
            if tty:
                stream.write(f"\r{label} {spin[i % 4]} {time.perf_counter() - t0:5.1f}s")
                stream.flush()
            i += 1

    th = threading.Thread(target=run, daemon=True)
    th.start()
    try:
        yield
    finally:
        stop.set()
        th.join()
        stream.write(("\r" if tty else "") + f"{label} done in {time.perf_counter() - t0:.1f}s\n")
        stream.flush()


# ---------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------


def sample_path() -> str:
    """Path of the bundled sample stream (package data)."""
    return str(importlib.resources.files("aura_wire").joinpath("data", "sample.jsonl"))


def _features(args: argparse.Namespace) -> dict[str, bool]:
    from aura_wire.tools.bench import available_features

    f = available_features()
    if getattr(args, "no_brio", False):
        f["brio"] = False
    if getattr(args, "no_templates", False):
        f["templates"] = False
    return f


def _load(path: str, limit: int | None = None, field: str | None = None) -> list[str]:
    from aura_wire.files import load_messages

    try:
        return load_messages(path, limit=limit, field=field)
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise CliError(f"{path} is not UTF-8 text: {exc.reason}") from exc
    except CorpusError as exc:
        raise CliError(str(exc)) from exc


def _fmt_bytes(n: float) -> str:
    return f"{int(n):,}"


def _pct(x: float) -> str:
    return f"{100.0 * x:.1f}%"


def _method_mix(counts: dict[str, int]) -> str:
    total = sum(counts.values()) or 1
    return ", ".join(f"{k} {100.0 * v / total:.0f}%" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
