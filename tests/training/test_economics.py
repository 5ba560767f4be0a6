"""Dictionary economics (spec/session.md §6.8): the saving measured on held-back traffic, the break-even
point, and ``aura-wire train`` storing the one and printing the other."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import aura_wire
from aura_wire.files import load_dictionary
from aura_wire.codec.encoder import Encoder
from aura_wire.training import train_dictionary
from aura_wire.training.economics import break_even, measure_saving
from aura_wire.session.transfer import coded_form
from conftest import load_corpus

PKG_PARENT = str(Path(aura_wire.__file__).resolve().parent.parent)


def test_measure_saving_is_what_a_switch_after_warmup_saves() -> None:
    train = load_corpus("market_binance", 300)
    held = load_corpus("market_binance", 90, skip=1000)
    d = train_dictionary(train)
    s = measure_saving(d, held, warmup=30)
    # one encoder without the dictionary throughout; the other switches at message 30 and, as a
    # switch does (spec/session.md §6.4), starts there from fresh context state
    without, switched = Encoder(None, context=True), Encoder(d, context=True)
    plain = [len(without.encode(m)) for m in held]
    after = [len(switched.encode(m)) for m in held[30:]]
    assert s == max(0.0, sum(a - b for a, b in zip(plain[30:], after)) / 60)
    assert measure_saving(d, held[:1], warmup=1) == 0.0  # nothing counted


def test_a_dictionary_of_the_same_feed_saves_after_a_switch() -> None:
    train = load_corpus("cdp_devtools_cnn", 300)
    held = load_corpus("cdp_devtools_cnn", 90, skip=1000)
    assert measure_saving(train_dictionary(train), held, warmup=30) > 0


def test_break_even() -> None:
    assert break_even(1000, 4.0) == 250
    assert math.isinf(break_even(1000, 0.0))


def test_train_stores_the_saving_and_prints_the_break_even(tmp_path: Path) -> None:
    src = tmp_path / "feed.jsonl"
    # a feed whose dictionary measurably pays (on market_binance the connection's own history gives
    # the gain: its saving is 0.0 with the encoder's rent-or-buy DEFINEs)
    src.write_text("".join(json.dumps({"m": m}) + "\n" for m in load_corpus("market_coinbase", 250)))
    out = tmp_path / "d.aura"
    env = dict(os.environ, PYTHONPATH=PKG_PARENT)
    proc = subprocess.run([sys.executable, "-m", "aura_wire.tools.cli", "train", str(src), "-o", str(out), "--hold-back",
                           "60", "--json"], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    d = load_dictionary(out)
    assert d.meta["saving_per_message"] == round(summary["saving_per_message"], 3) > 0
    assert d.meta["saving_measured_on"] == 60 == summary["held_back"]
    assert summary["transfer_bytes"]["br"] == len(coded_form(d, "br")) < len(d)
    assert summary["break_even_messages"] == round(len(coded_form(d, "br")) / summary["saving_per_message"])
    text = subprocess.run([sys.executable, "-m", "aura_wire.tools.cli", "train", str(src), "-o", str(out), "--limit",
                           "120"], env=env, capture_output=True, text=True, timeout=300).stdout
    assert "break-even" in text and "Brotli-coded" in text


def test_choose_size_keeps_the_largest_net_gain() -> None:
    from aura_wire.training.economics import choose_size

    fit = load_corpus("market_binance", 300)
    held = load_corpus("market_binance", 60, skip=1000)
    best, all_ = choose_size(fit, held, target_messages=5000, transfer_size=lambda d: len(coded_form(d, "br")),
                             sizes=(4096, 16384))
    assert [c.size for c in all_] == [4096, 16384]
    for c in all_:
        assert c.net == c.saving * 5000 - c.transfer and c.transfer == len(coded_form(c.dictionary, "br"))
    assert best.net == max(c.net for c in all_)
