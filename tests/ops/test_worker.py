"""Continuous discovery: store, sample buffer, adopt/refuse, atomic writes (aura_wire/ops/worker.py)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aura_wire.codec.dictionary import SECTION_META, Dictionary
from aura_wire.errors import ConfigError
from aura_wire.ops.audit import AuditLog
from aura_wire.ops.worker import DictionaryStore, SampleBuffer, TemplateDiscoveryWorker, frame_bytes
from aura_wire import load_dictionary, save_dictionary
from conftest import eventually

REPO = Path(__file__).resolve().parents[2]
# Evaluation encoders without BRIO/templates keep the test fast in pure Python; the dictionary
# still matters because context-mode ZSTD frames use its content (spec/wire-format.md §4.2.1).
CODEC = {"brio": False, "templates": False}
TRAIN = {"templates": False, "zstd_dict_size": 0}


def ssh_log(n: int, seed: int = 1) -> list[str]:
    """Synthetic sshd log lines: a few templates with varying fields."""
    rng = random.Random(seed)
    users = ["root", "admin", "oracle", "test", "ubuntu", "git", "postgres", "deploy"]
    out = []
    for _ in range(n):
        pid = rng.randrange(1000, 30000)
        ip = f"{rng.randrange(1, 255)}.{rng.randrange(255)}.{rng.randrange(255)}.{rng.randrange(255)}"
        k = rng.randrange(4)
        if k == 0:
            out.append(f"Dec 10 06:55:{rng.randrange(60):02d} LabSZ sshd[{pid}]: Invalid user {rng.choice(users)} "
                       f"from {ip}")
        elif k == 1:
            out.append(f"Dec 10 06:55:{rng.randrange(60):02d} LabSZ sshd[{pid}]: Failed password for invalid user "
                       f"{rng.choice(users)} from {ip} port {rng.randrange(1024, 65535)} ssh2")
        elif k == 2:
            out.append(f"Dec 10 06:55:{rng.randrange(60):02d} LabSZ sshd[{pid}]: pam_unix(sshd:auth): "
                       f"authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}")
        else:
            out.append(f"Dec 10 06:55:{rng.randrange(60):02d} LabSZ sshd[{pid}]: Received disconnect from {ip}: "
                       f"11: Bye Bye [preauth]")
    return out


def small_dictionary(tag: int, size: int = 64) -> Dictionary:
    return Dictionary({SECTION_META: b"test-%d" % tag, 9: bytes(random.Random(tag).randbytes(size))})


# -- store --------------------------------------------------------------------

def test_store_keeps_last_versions_and_detects_corruption(tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    store = DictionaryStore(tmp_path, keep=3)
    ds = [small_dictionary(i) for i in range(5)]
    for d in ds:
        store.save(d)
    assert store.versions() == [d.id for d in ds[2:]]
    assert sorted(os.listdir(tmp_path)) == sorted([d.id + ".aura" for d in ds[2:]] + ["versions.json"])
    assert [d.id for d in store.load_all()] == [d.id for d in ds[2:]]
    # Corrupt the newest file: it is ignored with a logged error, and latest() falls back.
    newest = store.path_for(ds[4].id)
    data = bytearray(Path(newest).read_bytes())
    data[-1] ^= 0xFF
    Path(newest).write_bytes(bytes(data))
    with caplog.at_level(logging.ERROR, logger="aura_wire.ops.worker"):
        assert store.load(ds[4].id) is None
        latest = store.latest()
    assert latest is not None and latest.id == ds[3].id
    assert any("corrupted" in r.getMessage() and ds[4].id in r.getMessage() for r in caplog.records)
    assert [d.id for d in store.load_all()] == [ds[2].id, ds[3].id]


def test_store_removes_leftover_temporary_files(tmp_path: Path) -> None:
    (tmp_path / ".aura-dict-abc123").write_bytes(b"half a dictionary")
    (tmp_path / ".aura-tmp-xyz").write_bytes(b"[")
    DictionaryStore(tmp_path)
    assert os.listdir(tmp_path) == []


_KILL_SCRIPT = r"""
import os, random, sys
sys.path.insert(0, sys.argv[1])
from aura_wire.codec.dictionary import Dictionary, SECTION_META
from aura_wire.files import save_dictionary
from aura_wire.ops.worker import DictionaryStore
folder, target = sys.argv[2], sys.argv[3]
big = [Dictionary({SECTION_META: b"v%d" % i, 9: random.Random(i).randbytes(3 * 1024 * 1024)}) for i in range(2)]
store = DictionaryStore(folder, keep=2)
print("ready", flush=True)
i = 0
while True:
    save_dictionary(big[i % 2], target)                                      # same path, overwritten
    store.save(Dictionary({SECTION_META: b"s%d" % i, 9: random.Random(i).randbytes(1024 * 1024)}))
    i += 1
"""


def test_atomic_writes_survive_sigkill_mid_write(tmp_path: Path) -> None:
    target = tmp_path / "current.aura"
    folder = tmp_path / "store"
    a = Dictionary({SECTION_META: b"v0", 9: random.Random(0).randbytes(3 * 1024 * 1024)})
    b = Dictionary({SECTION_META: b"v1", 9: random.Random(1).randbytes(3 * 1024 * 1024)})
    save_dictionary(a, target)
    torn = 0
    for delay in (0.2, 0.5):
        proc = subprocess.Popen([sys.executable, "-c", _KILL_SCRIPT, str(REPO), str(folder), str(target)],
                                stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"
            time.sleep(delay)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            if proc.stdout is not None:
                proc.stdout.close()
        assert proc.returncode == -signal.SIGKILL
        # The overwritten file is always one complete version, never a torn mix.
        got = load_dictionary(target)
        assert got.id in (a.id, b.id)
        # A torn temporary file may remain; reopening the store cleans it and every listed version loads.
        torn += sum(1 for n in os.listdir(folder) + os.listdir(tmp_path) if n.startswith(".aura-"))
        store = DictionaryStore(folder, keep=2)
        assert not [n for n in os.listdir(folder) if n.startswith(".aura-")]
        versions = store.versions()
        assert versions, "at least one store.save completed"
        loaded = store.load_all()
        assert [d.id for d in loaded] == [v for v in versions if os.path.exists(store.path_for(v))]
        for d in loaded:
            assert load_dictionary(store.path_for(d.id), expected_id=d.id) == d
    print(f"torn temporary files seen after the kills: {torn}")


# -- sample buffer ------------------------------------------------------------

def test_sample_buffer_is_bounded_and_uniform() -> None:
    buf = SampleBuffer(capacity=100, max_message_bytes=10, seed=5)
    for i in range(10_000):
        buf.add(str(i))
    buf.add("x" * 11)  # too long: not sampled
    items = buf.snapshot()
    assert len(items) == 100
    assert buf.seen == 10_000
    # A uniform sample of 0..9999 has about half its items below 5000.
    assert 30 < sum(1 for s in items if int(s) < 5000) < 70
    buf.clear()
    assert len(buf) == 0 and buf.seen == 0


# -- worker -------------------------------------------------------------------

def test_worker_needs_enough_messages() -> None:
    w = TemplateDiscoveryWorker(min_message_count=100, train_options=TRAIN, codec=CODEC)
    for m in ssh_log(99):
        assert w.samples is not None
        w.samples.add(m)
    res = w.run_once()
    assert not res.adopted and "not enough samples" in res.reason
    assert w.current is None


def test_worker_adopts_a_better_dictionary_and_refuses_a_worse_one(tmp_path: Path) -> None:
    adopted: list[Dictionary] = []
    store = DictionaryStore(tmp_path / "dicts", keep=2)
    traffic = ssh_log(120, seed=2)
    w = TemplateDiscoveryWorker(3600, 100, store=store, on_new_dictionary=adopted.append,
                                train_options=TRAIN, codec=CODEC, min_improvement=0.05, messages_per_connection=10)
    res = w.run_once(traffic)
    # From no dictionary to a trained one: held-back frames get much smaller.
    assert res.adopted, res.reason
    assert res.candidate_bytes < res.current_bytes * 0.95
    assert len(adopted) == 1 and w.current is adopted[0]
    assert store.versions() == [adopted[0].id]
    good = adopted[0]
    # Check the worker's numbers independently on the held-back-like traffic.
    fresh = ssh_log(60, seed=3)
    assert frame_bytes(good, fresh, messages_per_connection=10, codec=CODEC) < \
        frame_bytes(None, fresh, messages_per_connection=10, codec=CODEC)

    # A candidate without the content section is worse than the current one: refused.
    w.train_options = {"templates": False, "brio": False, "zstd_dict_size": 0}
    res2 = w.run_once(traffic)
    assert not res2.adopted
    assert res2.candidate_bytes > res2.current_bytes
    assert "not better" in res2.reason
    assert w.current is good and len(adopted) == 1 and store.versions() == [good.id]
    # Retrained on the same traffic, the candidate is at best marginally better: refused by the margin.
    w.train_options = TRAIN
    res3 = w.run_once(traffic)
    assert not res3.adopted, res3.reason
    assert w.current is good and len(adopted) == 1
    # A new worker on the same store starts from the stored version.
    w2 = TemplateDiscoveryWorker(train_options=TRAIN, codec=CODEC, store=store)
    assert w2.current == good
    assert w2.version(good.id) == good


def test_worker_reads_the_audit_log(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with AuditLog(path) as log:
        for m in ssh_log(120, seed=6):
            log.write(m)
    w = TemplateDiscoveryWorker(audit_path=path, min_message_count=100, train_options=TRAIN, codec=CODEC,
                                messages_per_connection=10)
    res = w.run_once()
    assert res.samples == 120
    assert res.adopted, res.reason


async def test_async_wrapper_adopts_on_the_loop_thread_and_stops(tmp_path: Path) -> None:
    import threading

    called: list[tuple[str, int]] = []
    buf = SampleBuffer(capacity=500, seed=1)

    def on_new(d: Dictionary) -> None:
        called.append((d.id, threading.get_ident()))
        buf.clear()  # the next rounds find too few samples and end at once

    pool = concurrent.futures.ProcessPoolExecutor(1)  # training off the loop's process, as in production
    w = TemplateDiscoveryWorker(0.01, 100, samples=buf, store=DictionaryStore(tmp_path),
                                on_new_dictionary=on_new, executor=pool,
                                train_options=TRAIN, codec=CODEC, messages_per_connection=10)
    task = w.start()
    await eventually(lambda: len(w.history) >= 3, what="three discovery rounds")
    assert all("not enough samples" in r.reason for r in w.history)
    for m in ssh_log(120, seed=8):
        buf.add(m)
    for _ in range(1000):
        if called:
            break
        await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert called and called[0][1] == threading.get_ident()  # the callback ran on the event loop's thread
    assert w.current is not None and called[0][0] == w.current.id
    assert DictionaryStore(tmp_path).versions()[-1] == w.current.id
    pool.shutdown()


def test_worker_validation_names_the_field() -> None:
    with pytest.raises(ConfigError) as ei:
        TemplateDiscoveryWorker(discovery_interval=0)
    assert ei.value.field == "discovery_interval"
    with pytest.raises(ConfigError) as ei:
        TemplateDiscoveryWorker(codec={"zstd_levle": 3})
    assert ei.value.field == "zstd_levle"
