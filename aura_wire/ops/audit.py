"""Audit log of plaintext messages for template discovery (off by default).

WARNING: this file stores application messages in clear text on disk.
Redaction (:func:`redact`) masks the secrets it recognises before anything
is written (emails, bearer tokens, ``key=value`` secrets, API keys with
known prefixes, JWTs, long hex and base64 strings, 13-19 digit numbers that
start with 2-6 and pass the Luhn check, like card numbers), but it cannot
recognise every secret; see docs/operations.md before enabling it.

Lines are JSON objects ``{"t": unix_time, "d": "in"|"out", "m": text}``.
The file rotates by size (``path``, ``path.1`` .. ``path.<backups>``), so
the log never holds more than ``(backups + 1) * max_bytes`` bytes; messages
longer than ``max_message_bytes`` and binary messages that are not UTF-8 are
skipped (counted, never truncated: a truncated message would teach the
discovery a false template).  ``sensitive`` messages must never be given
to it.  This module does file I/O and nothing else.
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
import time
from typing import Callable, Final, Iterator, Pattern

from aura_wire.errors import ConfigError

__all__ = ["AuditLog", "redact", "read_audit_messages", "REDACTION_RULES"]


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _mask_card(m: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", m.group(0))
    return "<card>" if 13 <= len(digits) <= 19 and _luhn_ok(digits) else m.group(0)


def _mask_b64(m: re.Match[str]) -> str:
    s = m.group(0)
    # Long runs with digits, upper and lower case are keys/tokens; URL paths
    # (a "/" every few characters) and long words are left alone.
    if (any(c.isdigit() for c in s) and any(c.isupper() for c in s) and any(c.islower() for c in s)
            and s.count("/") * 16 <= len(s)):
        return "<b64>"
    return s


_Repl = str | Callable[[re.Match[str]], str]

#: (name, pattern, replacement), applied in this order.
REDACTION_RULES: Final[list[tuple[str, Pattern[str], _Repl]]] = [
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), "<jwt>"),
    ("bearer", re.compile(r"(?i)\b(bearer|basic|token)(\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1\2<token>"),
    ("secret_field", re.compile(
        r"""(?ix)(["']?\b(?:api[_-]?key|apikey|access[_-]?token|refresh[_-]?token|auth[_-]?token|token|secret|
        client[_-]?secret|password|passwd|pwd|authorization|session[_-]?id|private[_-]?key|signature)\b["']?
        \s*[:=]\s*["']?)(?!<[a-z-]+>)([^"'\s,&;}]+)"""), r"\1<secret>"),
    ("api_key", re.compile(
        r"\b(?:sk|pk|rk)[-_](?:live|test|proj)?[-_]?[A-Za-z0-9_-]{16,}|\bgh[pousr]_[A-Za-z0-9]{20,}"
        r"|\bgithub_pat_[A-Za-z0-9_]{20,}|\bxox[abprs]-[A-Za-z0-9-]{10,}|\bAKIA[0-9A-Z]{16}\b"
        r"|\bAIza[0-9A-Za-z_-]{35}"), "<api-key>"),
    ("email", re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"), "<email>"),
    ("hex", re.compile(r"\b(?:0x)?[0-9a-fA-F]{32,}\b"), "<hex>"),
    ("base64", re.compile(r"[A-Za-z0-9+/_-]{40,}={0,2}"), _mask_b64),
    # Card numbers start with 2-6 (Mastercard 2/5, Amex 3, Visa 4, Discover 6); that
    # spares millisecond timestamps (1...), and digits glued to words (blk_-123...).
    ("card", re.compile(r"(?<![\w.-])[2-6](?:[ -]?\d){12,18}(?!\w|\.\d)"), _mask_card),
]


def redact(text: str) -> str:
    """``text`` with every secret :data:`REDACTION_RULES` recognise replaced by a ``<kind>`` marker."""
    for _name, pattern, repl in REDACTION_RULES:
        text = pattern.sub(repl, text)
    return text


class AuditLog:
    """Append redacted messages to a JSONL file with size-based rotation.

    ``AuditLog(path, max_bytes=10 MiB, backups=3, max_message_bytes=64 KiB,
    sample_rate=1.0)``; thread-safe.  Call :meth:`close` when done.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_bytes: int = 10 * 1024 * 1024,
        backups: int = 3,
        max_message_bytes: int = 64 * 1024,
        sample_rate: float = 1.0,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_bytes < 1024:
            raise ConfigError("audit max_bytes must be >= 1024", field="audit.max_bytes")
        if not 0 <= backups <= 100:
            raise ConfigError("audit backups must be in [0, 100]", field="audit.backups")
        if max_message_bytes < 1:
            raise ConfigError("audit max_message_bytes must be >= 1", field="audit.max_message_bytes")
        if not 0.0 <= sample_rate <= 1.0:
            raise ConfigError("audit sample_rate must be in [0, 1]", field="audit.sample_rate")
        self.path = os.fspath(path)
        self.max_bytes = max_bytes
        self.backups = backups
        self.max_message_bytes = max_message_bytes
        self.sample_rate = sample_rate
        self._rng = random.Random(seed)
        self._clock = clock
        self._lock = threading.Lock()
        self.written = 0
        self.skipped = 0
        self._f = open(self.path, "ab")  # noqa: SIM115 - the log's file, open until close()
        self._size = self._f.tell()

    def write(self, message: str | bytes, direction: str = "in") -> bool:
        """Redact and append ``message``; return whether it was written."""
        if isinstance(message, (bytes, bytearray, memoryview)):
            try:
                text = bytes(message).decode("utf-8")
            except UnicodeDecodeError:
                self.skipped += 1
                return False
        else:
            text = message
        if len(text) > self.max_message_bytes or (self.sample_rate < 1.0 and self._rng.random() >= self.sample_rate):
            self.skipped += 1
            return False
        line = json.dumps({"t": round(self._clock(), 3), "d": direction, "m": redact(text)},
                          ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
        if len(line) > self.max_bytes:
            self.skipped += 1
            return False
        with self._lock:
            if self._f.closed:
                return False
            if self._size + len(line) > self.max_bytes:
                self._rotate()
            self._f.write(line)
            self._f.flush()
            self._size += len(line)
            self.written += 1
        return True

    def _rotate(self) -> None:
        self._f.close()
        if self.backups == 0:
            os.unlink(self.path)
        else:
            for i in range(self.backups - 1, 0, -1):
                src = f"{self.path}.{i}"
                if os.path.exists(src):
                    os.replace(src, f"{self.path}.{i + 1}")
            os.replace(self.path, f"{self.path}.1")
        self._f = open(self.path, "ab")  # noqa: SIM115 - the log's file, open until close()
        self._size = 0

    def files(self) -> list[str]:
        """The log files that exist, newest first."""
        out = [self.path] + [f"{self.path}.{i}" for i in range(1, self.backups + 1)]
        return [p for p in out if os.path.exists(p)]

    def close(self) -> None:
        with self._lock:
            self._f.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_audit_messages(path: str | os.PathLike[str], *, limit: int = 100_000, backups: int = 100) -> list[str]:
    """Up to ``limit`` messages from an audit log and its rotated files, newest file first.

    Lines that are not valid JSON objects with a string ``m`` (for example a
    line cut by a crash) are skipped.
    """
    base = os.fspath(path)
    out: list[str] = []
    for p in [base] + [f"{base}.{i}" for i in range(1, backups + 1)]:
        if not os.path.exists(p):
            if p != base:
                break
            continue
        for msg in _iter_file(p):
            out.append(msg)
            if len(out) >= limit:
                return out
    return out


def _iter_file(path: str) -> Iterator[str]:
    with open(path, "rb") as f:
        for raw in f:
            try:
                obj = json.loads(raw)
            except ValueError:
                continue
            if isinstance(obj, dict) and isinstance(obj.get("m"), str):
                yield obj["m"]
