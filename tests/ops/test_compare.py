"""A/B comparison, TOML configuration and canary split (aura_wire/ops/compare.py, canary.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aura_wire.errors import ConfigError
from aura_wire.metrics import CompressionMetrics
from aura_wire.ops.canary import CanarySplitter
from aura_wire.ops.compare import compare, compare_files, format_table, load_config, load_corpus, validate_config

CORPORA = Path(__file__).resolve().parents[3] / "shared" / "corpora"


def corpus(n: int = 120) -> list[str]:
    return [json.dumps({"e": "trade", "s": "BTCUSDT", "p": f"{37000 + i * 0.5:.2f}", "q": f"{0.001 * (i % 7):.3f}",
                        "id": 1000 + i, "flags": ["a", "b"] * (i % 3)}) for i in range(n)]


def test_compare_reports_each_configuration() -> None:
    msgs = corpus()
    rows = compare(msgs, [
        {"name": "raw-only", "codec": {"zstd": False, "brotli": False, "brio": False, "templates": False}},
        # level 4 tries every method on every message; lower levels predict the method and may send
        # RAW where ZSTD would have saved a few bytes, which the bound below does not allow for
        {"name": "zstd", "codec": {"brio": False, "templates": False, "level": 4}},
        {"name": "zstd-stateless", "context": False, "codec": {"brio": False, "templates": False, "level": 4}},
    ])
    assert [r["name"] for r in rows] == ["raw-only", "zstd", "zstd-stateless"]
    raw, zstd, stateless = rows
    total = sum(len(m.encode()) for m in msgs)
    for r in rows:
        assert r["messages"] == len(msgs)
        assert r["original_bytes"] == total
        assert r["roundtrip_ok"] is True
        assert r["ratio"] == pytest.approx(total / r["wire_bytes"])
        assert sum(r["methods"].values()) == pytest.approx(1.0)
    assert raw["wire_bytes"] == total + 2 * len(msgs)  # a header byte and a check byte each
    assert raw["methods"] == {"raw": 1.0}
    assert raw["ratio"] < 1.0 and raw["expansion_rate"] == 1.0
    assert zstd["wire_bytes"] < raw["wire_bytes"]
    # context helps or is neutral, but for its check byte (wire-format §5.2 rule 4): at most one byte a message
    assert zstd["wire_bytes"] <= stateless["wire_bytes"] + len(msgs)
    table = format_table(rows)
    lines = table.splitlines()
    assert lines[0].split() == ["metric", "raw-only", "zstd", "zstd-stateless"]
    assert any(line.startswith("ratio (orig/wire)") for line in lines)
    assert f"{raw['ratio']:.3f}" in table and "round trip" in table


def test_train_fraction_measures_on_the_same_tail() -> None:
    msgs = corpus(200)
    rows = compare(msgs, [{"name": "none", "codec": {"brio": False, "templates": False}},
                          {"name": "trained", "train_fraction": 0.5, "train": {"templates": False, "brio": False},
                           "codec": {"brio": False, "templates": False}}])
    assert rows[0]["messages"] == rows[1]["messages"] == 100
    assert rows[1]["dictionary_bytes"] > 0 and rows[0]["dictionary_bytes"] == 0


def test_toml_config_loading_and_errors_name_the_field(tmp_path: Path) -> None:
    good = tmp_path / "a.toml"
    good.write_text('context = true\nmessages_per_connection = 20\ndictionary = "d.aura"\n'
                    '[codec]\nzstd_level = 5\nbrio = false\n[train]\nmin_distinct = 4\n')
    cfg = load_config(good)
    assert cfg["name"] == "a"
    assert cfg["codec"] == {"zstd_level": 5, "brio": False}
    assert cfg["dictionary"] == str(tmp_path / "d.aura")
    cases = {
        'colour = "red"\n': "colour",
        "messages_per_connection = 0\n": "messages_per_connection",
        "context = 1\n": "context",
        "[codec]\nzstd_level = 99\n": "codec.zstd_level",
        "[codec]\nzstd_lvl = 3\n": "codec.zstd_lvl",
        "[train]\nmin_distinct = \"8\"\n": "train.min_distinct",
        "[train]\nfoo = 1\n": "train.foo",
        "train_fraction = 1.5\n": "train_fraction",
        "context = \n": "toml",
    }
    for text, field in cases.items():
        bad = tmp_path / "bad.toml"
        bad.write_text(text)
        with pytest.raises(ConfigError) as ei:
            load_config(bad)
        assert ei.value.field == field, (text, ei.value)
        assert str(bad) in str(ei.value)
    with pytest.raises(ConfigError):
        validate_config({"codec": "fast"})
    with pytest.raises(ConfigError):
        compare(["x"], [])


def test_default_codec_and_files(tmp_path: Path) -> None:
    """The full default codec (BRIO, templates) through compare_files, as the CLI calls it."""
    corpus_path = tmp_path / "c.jsonl"
    corpus_path.write_text("".join(json.dumps({"m": m}) + "\n" for m in corpus(60)))
    (tmp_path / "default.toml").write_text("")
    (tmp_path / "stateless.toml").write_text("context = false\n")
    rows = compare_files(corpus_path, [tmp_path / "default.toml", tmp_path / "stateless.toml"], limit=50)
    assert [r["name"] for r in rows] == ["default", "stateless"]
    for r in rows:
        assert r["messages"] == 50 and r["roundtrip_ok"] is True
        assert r["decode_latency"]["p50"] > 0 and r["encode_latency"]["p50"] > 0
    assert rows[0]["ratio"] > 1.0


def test_load_corpus(tmp_path: Path) -> None:
    p = tmp_path / "c.jsonl"
    p.write_text('{"m": "one"}\n\n{"m": "two"}\n{"m": "three"}\n')
    assert load_corpus(p) == ["one", "two", "three"]
    assert load_corpus(p, limit=2) == ["one", "two"]
    p.write_text('{"x": 1}\n')
    with pytest.raises(ConfigError) as ei:
        load_corpus(p)
    assert ":1:" in str(ei.value)


@pytest.mark.corpora
def test_compare_on_a_real_corpus_slice() -> None:
    path = CORPORA / "logs_hdfs.jsonl"
    if not path.exists():
        pytest.skip(f"corpora folder absent: {CORPORA}")
    msgs = load_corpus(path, limit=150)
    rows = compare(msgs, [{"name": "zstd", "codec": {"brio": False, "templates": False}}])
    assert rows[0]["roundtrip_ok"] and rows[0]["messages"] == 150


# -- canary -------------------------------------------------------------------

def test_canary_split_is_deterministic_and_near_the_percentage() -> None:
    s = CanarySplitter(10, {"name": "a"}, {"name": "b"}, seed=42)
    arms = [s.choose(f"conn-{i}").name for i in range(5000)]
    assert 400 < arms.count("b") < 600
    s2 = CanarySplitter(10, {}, {}, seed=42)
    assert [s2.choose(f"conn-{i}").name for i in range(5000)] == arms
    s3 = CanarySplitter(10, {}, {}, seed=43)
    assert [s3.choose(f"conn-{i}").name for i in range(5000)] != arms
    assert s.a.connections + s.b.connections == 5000
    assert all(CanarySplitter(0, {}, {}).choose(i).name == "a" for i in range(200))
    assert all(CanarySplitter(100, {}, {}).choose(i).name == "b" for i in range(200))
    counter = CanarySplitter(50, {}, {}, seed=1)
    again = CanarySplitter(50, {}, {}, seed=1)
    assert [counter.choose().name for _ in range(50)] == [again.choose().name for _ in range(50)]


def test_canary_reports_both_arms() -> None:
    s = CanarySplitter(50, {"codec": {"zstd_level": 3}}, {"codec": {"zstd_level": 9}})
    ma, mb, db = CompressionMetrics(), CompressionMetrics(), CompressionMetrics("decode")
    ma.record("zstd", 100, 50, 1e-5, False)
    mb.record("zstd", 100, 25, 1e-5, False)
    db.record("zstd", 100, 25, 3e-3, False)
    s.record("a", ma)
    s.record(s.b, mb)
    s.record(s.b, db)
    assert s.b.sent_metrics.messages == 1 and s.b.received_metrics.messages == 1
    assert s.b.metrics.encode_latency.quantile(1.0) == pytest.approx(1e-5)  # decode latency kept apart
    rep = s.report()
    assert rep["a"]["metrics"]["ratio"] == pytest.approx(2.0)
    assert rep["b"]["metrics"]["messages"] == 2
    assert rep["ratio_b_over_a"] == pytest.approx(2.0)
    assert s.arm_metrics()["b"].messages == 2
    with pytest.raises(ConfigError) as ei:
        CanarySplitter(101, {}, {})
    assert ei.value.field == "percent"


def test_state_per_connection_follows_the_windows() -> None:
    msgs = corpus(200)
    rows = compare(msgs, [{"name": "default"},
                          {"name": "small", "codec": {"window": 1024, "template_brio_window": 512,
                                                      "brio_search_ring": 0}},
                          {"name": "stateless", "context": False}])
    default, small, stateless = rows
    assert default["state_bytes"] > small["state_bytes"] > 0
    assert stateless["state_bytes"] < small["state_bytes"]
    assert "state / connection" in format_table(rows)
