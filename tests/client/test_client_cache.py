"""The client's on-disk dictionary cache: verified loads, corruption, bounded size, default location."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aura_wire.client import DictionaryCache, default_cache_dir
from conftest import small_dictionary


def test_put_get_round_trip(tmp_path: Path) -> None:
    cache = DictionaryCache(tmp_path / "c")
    d = small_dictionary("a")
    assert cache.get(d.id) is None and d.id not in cache
    cache.put(d)
    assert d.id in cache
    got = cache.get(d.id)
    assert got == d and got.id == d.id
    assert [e[0] for e in cache.entries()] == [d.id]


def test_corrupted_entry_is_detected_dropped_and_counted(tmp_path: Path) -> None:
    cache = DictionaryCache(tmp_path)
    d = small_dictionary("b")
    cache.put(d)
    path = cache.path_for(d.id)
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0x40
    path.write_bytes(bytes(raw))
    assert cache.get(d.id) is None
    assert cache.corrupted == 1 and not path.exists()


def test_truncated_and_garbage_entries(tmp_path: Path) -> None:
    cache = DictionaryCache(tmp_path)
    d = small_dictionary("c")
    cache.put(d)
    cache.path_for(d.id).write_bytes(d.to_bytes()[:10])
    assert cache.get(d.id) is None
    assert cache.get("not-an-id") is None


def test_size_is_bounded_least_recently_used_evicted(tmp_path: Path) -> None:
    dicts = [small_dictionary(t) for t in "defg"]
    cache = DictionaryCache(tmp_path, max_bytes=len(dicts[0]) * 2 + 10)
    for i, d in enumerate(dicts):
        cache.put(d)
        os.utime(cache.path_for(d.id), (1000 + i, 1000 + i))
    ids = [e[0] for e in cache.entries()]
    assert len(ids) <= 2
    assert dicts[-1].id in ids
    assert sum(e[1] for e in cache.entries()) <= cache.max_bytes


def test_default_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "aura_wire"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert default_cache_dir() == Path.home() / ".cache" / "aura_wire"
    assert DictionaryCache().directory == Path.home() / ".cache" / "aura_wire"
