"""Audit log: redaction, rotation, bounds (aura_wire/ops/audit.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from aura_wire.errors import ConfigError
from aura_wire.ops.audit import AuditLog, read_audit_messages, redact

JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ."
       "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")


@pytest.mark.parametrize(("text", "secret", "marker"), [
    ('{"user":"alice.smith+tag@example.co.uk","x":1}', "alice.smith+tag@example.co.uk", "<email>"),
    ("Authorization: Bearer abcDEF123456._-~+/=", "abcDEF123456", "<token>"),
    ('{"token": "' + JWT + '"}', JWT, "<jwt>"),
    ("auth " + JWT, JWT, "<jwt>"),
    ('{"api_key":"k3y-Value-9"}', "k3y-Value-9", "<secret>"),
    ("GET /v1?apikey=zzTopSecret99&x=1", "zzTopSecret99", "<secret>"),
    ("password=hunter2", "hunter2", "<secret>"),
    ("key sk-proj-AbCdEf0123456789xyzXYZ done", "sk-proj-AbCdEf0123456789xyzXYZ", "<api-key>"),
    ("token ghp_abcdefghijklmnopqrstuvwxyz0123456789", "ghp_abcdefghijklmnopqrstuvwxyz0123456789", "<"),
    ("aws AKIAIOSFODNN7EXAMPLE here", "AKIAIOSFODNN7EXAMPLE", "<api-key>"),
    ("sha 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 end",
     "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "<hex>"),
    ("blob QmFzZTY0RW5jb2RlZFNlY3JldEtleU1hdGVyaWFsMTIzNDU2Nzg5MA== end",
     "QmFzZTY0RW5jb2RlZFNlY3JldEtleU1hdGVyaWFsMTIzNDU2Nzg5MA==", "<b64>"),
    ("card 4111 1111 1111 1111 exp 12/29", "4111 1111 1111 1111", "<card>"),
    ("card 5500-0000-0000-0004.", "5500-0000-0000-0004", "<card>"),
    ('{"cc":"378282246310005"}', "378282246310005", "<card>"),
])
def test_redaction_masks_secrets(text: str, secret: str, marker: str) -> None:
    out = redact(text)
    assert secret not in out
    assert marker in out


@pytest.mark.parametrize("text", [
    '{"e":"trade","E":1700000000001,"s":"BTCUSDT","p":"37000.10","q":"0.002"}',  # 13 digits, fails Luhn
    "GET /repos/octocat/Hello-World/issues/comments/1234?page=2 HTTP/1.1",
    "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_38865049064139660",
    "plain words only, nothing secret here at all",
    "Receiving block blk_-1608999687919862906 src: /10.250.19.102:54106 dest: /10.250.19.102:50010",
    '{"id":4111111111111111111,"price":"4111111111111.1"}',  # 19 digits failing Luhn; a decimal
    "version 1.2.3.4 build 20240101",
])
def test_redaction_leaves_ordinary_text_alone(text: str) -> None:
    assert redact(text) == text


def test_redaction_is_idempotent() -> None:
    text = "mail bob@example.com token=abc12345 Bearer xyzXYZ0987654321"
    once = redact(text)
    assert redact(once) == once


def test_log_writes_redacted_jsonl(tmp_path: Path) -> None:
    p = tmp_path / "audit.jsonl"
    with AuditLog(p, clock=lambda: 1234.5) as log:
        assert log.write('{"to":"carol@example.org","body":"hi"}', "out")
        assert log.write(b"binary but utf-8 \xc3\xa9", "in")
        assert not log.write(b"\xff\xfe not utf-8")
    lines = p.read_bytes().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first == {"t": 1234.5, "d": "out", "m": '{"to":"<email>","body":"hi"}'}
    assert b"carol@example.org" not in p.read_bytes()
    assert log.written == 2 and log.skipped == 1
    assert read_audit_messages(p) == ['{"to":"<email>","body":"hi"}', "binary but utf-8 \u00e9"]


def test_rotation_bounds_the_total_size(tmp_path: Path) -> None:
    p = tmp_path / "audit.jsonl"
    log = AuditLog(p, max_bytes=2048, backups=2)
    for i in range(500):
        log.write(f"message number {i} " + "x" * 40)
    log.close()
    files = log.files()
    assert [os.path.basename(f) for f in files] == ["audit.jsonl", "audit.jsonl.1", "audit.jsonl.2"]
    assert not (tmp_path / "audit.jsonl.3").exists()
    for f in files:
        assert os.path.getsize(f) <= 2048
    msgs = read_audit_messages(p)
    assert msgs[0].startswith("message number ")
    # newest file first; the newest message is in the current file
    assert any(m.startswith("message number 499 ") for m in msgs)
    assert len(msgs) < 500
    assert len(read_audit_messages(p, limit=7)) == 7


def test_rotation_without_backups_and_oversized_messages(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    log = AuditLog(p, max_bytes=1024, backups=0, max_message_bytes=100)
    assert not log.write("y" * 101)  # skipped, never truncated
    for _ in range(50):
        log.write("z" * 60)
    log.close()
    assert os.path.getsize(p) <= 1024
    assert log.files() == [str(p)]


def test_torn_lines_are_skipped_on_read(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    p.write_bytes(b'{"t":1,"d":"in","m":"ok"}\n{"t":2,"d":"in","m":"cut')
    assert read_audit_messages(p) == ["ok"]


def test_sampling_and_validation(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "s.jsonl", sample_rate=0.25, seed=3)
    for i in range(400):
        log.write(f"m{i}")
    log.close()
    assert 60 < log.written < 140
    with pytest.raises(ConfigError) as ei:
        AuditLog(tmp_path / "x", max_bytes=10)
    assert ei.value.field == "audit.max_bytes"
