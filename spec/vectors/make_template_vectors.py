"""Generate spec/vectors/templates/*.json: TEMPLATE payload vectors (spec/templates.md §8).

Run from the repo root: ``python spec/vectors/make_template_vectors.py``.  Sections are
trained on synthetic messages only (nothing from real users).  Each vector holds the section
(hex, or null: no dictionary), the mode, the messages and the payloads (hex, without the frame
header; null where no template applied and the message was committed as coded by another method).
Error vectors hold one payload and the name of the error it must raise.
"""

from __future__ import annotations

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))

from aura_wire.codec.templates.coders import TemplateDecoder, TemplateEncoder  # noqa: E402
from aura_wire.codec.templates.section import TemplateSet  # noqa: E402
from aura_wire.training.templates import train_templates  # noqa: E402
from aura_wire.codec.varint import encode_uvarint as uv  # noqa: E402

OUT = os.path.join(HERE, "templates")


def ticks(n: int, start: int = 0) -> list[str]:
    out = []
    for i in range(start, start + n):
        sym = ("btcusd", "ethusd", "xrpusd")[i % 3]
        out.append(
            f'{{"stream":"{sym}@bookTicker","data":{{"u":{16700608 + 7 * i},"e":"bookTicker","s":"{sym.upper()}",'
            f'"b":"{400 + (i * 7) % 13}.{i % 100:02d}","B":"{i % 50}","T":{1626916403864 + 11 * i},'
            f'"ok":{"true" if i % 2 else "false"},"x":null}}}}'
        )
    return out


def depth(n: int, start: int = 0) -> list[str]:
    out = []
    for i in range(start, start + n):
        levels = ",".join(f'["{30000 + i + k}.{k}","{(i * k) % 7}"]' for k in range(1 + i % 3))
        out.append(f'{{"e":"depthUpdate","E":{1626916416755 + i},"b":[{levels}],"a":[]}}')
    return out


def logs(n: int, start: int = 0) -> list[str]:
    out = []
    for i in range(start, start + n):
        if i % 2:
            out.append(f"081109 2036{i % 60:02d} {140 + i % 9} INFO dfs.DataNode$PacketResponder: "
                       f"PacketResponder {i % 3} for block blk_{(-1) ** i * (38865049064 + 7919 * i)} terminating")
        else:
            out.append(f"03-17 16:13:{i % 60:02d}.{811 + i:03d}  {1702 + (i % 2) * 30000:5d}  {2395 + i} D Power: "
                       f"acquire lock={233570404 + i}, flags=0x{i % 16:x}, ws=null, uid={10037 + i % 4}")
    return out


FORMS = [
    '{"id":"4A8FF3A94E53CF376A55F4071EC47FD3","h":"deadbeef01","n":"081109","d":"-0.5","big":-17,"ip":"10.0.0.1:80",'
    '"t":"2021-04-17T16:43:52.670710Z","w":"Hello World.","o":{"k":[1,2,3],"s":"x"},"e":[]}',
    '{"id":"4A8FF3A94E53CF376A55F4071EC47FD4","h":"deadbeef02","n":"081110","d":"-0.4","big":-18,"ip":"10.0.0.2:81",'
    '"t":"2021-04-17T16:43:52.673980Z","w":"Hello World!","o":{"k":[1,2,4],"s":"x"},"e":[]}',
    '{"id":"4A8FF3A94E53CF376A55F4071EC47FD4","h":"DEADBEEF03","n":"081111","d":"12.25","big":5,"ip":"10.0.1.2:81",'
    '"t":"2021-04-17T16:44:00.000001Z","w":"Hello World!","o":{"k":[],"s":"4A8FF3A94E53CF376A55F4071EC47FD3"},"e":[1]}',
]


def msg_json(m: str) -> dict[str, str]:
    return {"text": m}


def write(name: str, case: dict[str, object]) -> None:
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(case, f, indent=1, ensure_ascii=False)
        f.write("\n")


def case(name: str, desc: str, section: bytes | None, context: bool, msgs: list[str],
         fuzzy: bool = False, window: int = 0, content: bytes = b"") -> list[str | None]:
    """A vector; ``fuzzy`` vectors carry ``"fuzzy": true`` (the others are coded without fuzzy payloads);
    ``window`` > 0: COPY's message history is the last ``window`` bytes of the earlier messages;
    ``content``: COPY's shared content K."""
    ts = TemplateSet.from_section(section) if section is not None else None
    enc = TemplateEncoder(ts, context=context, fuzzy=fuzzy, content=content)
    payloads: list[str | None] = []
    hist = b""
    for m in msgs:
        data = m.encode("utf-8")
        p = enc.encode(data, True, hist)
        payloads.append(p.hex() if p is not None else None)
        enc.commit(data, p is not None)
        if window:
            hist = (hist + data)[-window:]
    if fuzzy:
        assert any(p is not None and int(p[:2], 16) & 3 == 3 for p in payloads), name
    body: dict[str, object] = {"description": desc, "section": section.hex() if section is not None else None,
                               "context": context}
    if fuzzy:
        body["fuzzy"] = True
    if window:
        body["window"] = window
    if content:
        body["content"] = content.hex()
    body["messages"] = [msg_json(m) for m in msgs]
    body["payloads"] = payloads
    write(name, body)
    return payloads


def error_case(name: str, desc: str, section: bytes | None, context: bool, setup: list[str],
               payload: bytes, error: str, max_size: int | None = None) -> None:
    body: dict[str, object] = {"description": desc, "section": section.hex() if section is not None else None,
                               "context": context, "observe": [msg_json(m) for m in setup],
                               "payload": payload.hex(), "error": error}
    if max_size is not None:
        body["max_size"] = max_size
    write(name, body)


def deletes(n: int, start: int = 0) -> list[str]:
    """Log lines that repeat a value inside the message (COPY from the output so far)."""
    out = []
    for i in range(start, start + n):
        blk = (-1) ** i * (4411589101766563890 - 7919 * i * i)
        out.append(f"081111 0{i % 10}4612 19 INFO dfs.FSDataset: Deleting block blk_{blk} file "
                   f"/mnt/hadoop/dfs/data/current/subdir{i % 64}/blk_{blk}")
    return out


AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"


def requests(n: int, start: int = 0) -> list[str]:
    """JSON events whose long strings recur from earlier messages (COPY from the history) or differ
    from the slot's prediction in a few places (COPY from the prediction)."""
    out = []
    for i in range(start, start + n):
        url = f"https://cdn.example.org/assets/v{i % 3}/bundle-{(i * 37) % 1000:03d}.js?cache=ab{i % 7}cd"
        if i % 2:
            out.append(json.dumps({"method": "send", "id": f"{i}.{i % 5}", "url": url, "ua": AGENT},
                                  separators=(",", ":")))
        else:
            out.append(json.dumps({"method": "recv", "id": f"{i - 1}.{(i - 1) % 5}", "status": 200,
                                   "headers": {"agent": AGENT, "location": url}}, separators=(",", ":")))
    return out


def copies(section: bytes | None, context: bool, msgs: list[str], payloads: list[str | None], window: int,
           content: bytes) -> int:
    """How many COPY atoms decoding the payloads meets (the generator runs the pure sources)."""
    import aura_wire.codec.templates.atoms as ta

    seen = [0]
    real = ta._decode_copy

    def counting(*args: object, **kw: object) -> int:
        seen[0] += 1
        return real(*args, **kw)  # type: ignore[arg-type]

    ta._decode_copy = counting  # type: ignore[assignment]
    try:
        dec = TemplateDecoder(TemplateSet.from_section(section) if section is not None else None, context=context,
                              content=content)
        hist = b""
        for m, p in zip(msgs, payloads):
            data = m.encode()
            if p is None:
                dec.observe(data)
            else:
                assert dec.decode(bytes.fromhex(p), True, 1 << 20, hist) == data
            if window:
                hist = (hist + data)[-window:]
    finally:
        ta._decode_copy = real  # type: ignore[assignment]
    return seen[0]


def copy_cases(tsec: bytes) -> None:
    dsec = train_templates([m.encode() for m in deletes(40)], min_frequency=5, min_distinct=8)
    words = [f"update{w}VisibilityLocked" for w in ("Panel", "Status", "Dimmed", "Notification", "Wallpaper")]
    panel = [f"081109 2036{i % 60:02d} {140 + i % 9} INFO ui.Panel: {words[(i * 7) % 5]}" for i in range(60)]
    psec = train_templates([m.encode() for m in panel[:40]], min_frequency=5, min_distinct=8)
    kc = ("|".join(words)).encode()
    for name, section, context, msgs, window, content, desc in (
            ("copy-stateless", dsec, False, deletes(4, 100), 0, b"",
             "COPY from the output so far: the block id repeated inside one message (stateless)"),
            ("copy-context", None, True, requests(8, 100), 4096, b"",
             "COPY from the message history (H, window 4096) and from the prediction (P), context"),
            ("copy-content", psec, False, panel[40:44], 0, kc,
             "COPY from the dictionary's shared content K (stateless)"),
    ):
        pl = case(name, desc, section, context, msgs, window=window, content=content)
        assert copies(section, context, msgs, pl, window, content) > 0, name
    one = ['{"a":"xx"}']
    head = bytes([(8 + 0) << 2])  # context: runtime template id 0 (no dictionary), no mask
    error_case("error-copy-distance", "COPY distance 200 reaches before the reference buffer "
               "(5 bytes: no prediction, no history, the output {\"a\":)",
               None, True, one, head + bytes([0x10, 0x07, 0xC8, 0x01]), "PayloadError")
    error_case("error-copy-overlap", "COPY of 5 bytes at distance 3 (n > d)", None, True, one,
               head + bytes([0x10, 0x0B, 0x03]), "PayloadError")
    error_case("error-copy-count", "COPY announces 27 pieces in 2 bytes", None, True, one,
               head + bytes([0x70, 0x14, 0x02, 0x61]), "PayloadError")
    error_case("error-copy-literal-past", "COPY literal of 10 bytes with 3 left", None, True, one,
               head + bytes([0x10, 0x14, 0x61, 0x62, 0x63]), "PayloadError")
    error_case("error-copy-empty-piece", "COPY piece of length 0", None, True, one,
               head + bytes([0x10, 0x01, 0x01]), "PayloadError")


def near_logs(n: int, start: int = 0) -> list[str]:
    """Log lines a few edits away from ``logs``: a token replaced, added, removed, a wider space."""
    out = []
    for i, m in enumerate(logs(n, start)):
        k = i % 4
        if k == 0:
            m = m.replace("terminating", "terminated").replace(" D Power:", " D Power: (retry)")
        elif k == 1:
            m = m.replace("PacketResponder ", "PacketResponder #", 1).replace(" for block", " for  block")
        elif k == 2:
            m = m.replace(" ws=null,", "")
        else:
            m = m.replace("dfs.DataNode$PacketResponder:", "dfs.DataNode$PacketResponder: [warn]")
        out.append(m)
    return out


def fuzzy_cases(tsec: bytes) -> None:
    mixed = [m for pair in zip(logs(6, 300), near_logs(6, 300)) for m in pair]
    case("fuzzy-text-stateless", "fuzzy payloads (mode 3), stateless: a template plus an edit script",
         tsec, False, mixed, fuzzy=True)
    case("fuzzy-text-context", "fuzzy payloads in context mode: masks and MRU references inside mode 3, "
         "state updated by match(message)", tsec, True, mixed + near_logs(4, 320), fuzzy=True)
    talk = [f"user {u} says: I do not know why job {40 + i} failed after {i}ms"
            for i, u in enumerate(["ann", "bob", "cy"])]
    talk += ["user dee says: I don't know why job 43 failed after 3ms",
             "user eve says: I do really not know why job 44 failed after 4ms",
             "user fay says:  I do not know why job 45 failed after 5ms"]
    case("fuzzy-runtime", "no dictionary: 'do not' vs 'don't' against a runtime template", None, True, talk,
         fuzzy=True)
    # error cases on a stateless exact payload of one template: R = the message
    msg = logs(1, 301)[0].encode()
    exact = TemplateEncoder(TemplateSet.from_section(tsec), context=False).encode(msg, True)
    assert exact is not None and exact[0] & 3 == 0 and exact[0] < 0x80
    ref = bytes([exact[0] | 3])
    body = exact[1:]

    def fz(mmode: int, edits: list[tuple[int, int, bytes]], nedits: int | None = None) -> bytes:
        out = ref + uv(((len(edits) if nedits is None else nedits) << 2) | mmode) + body
        for skip, dl, ins in edits:
            out += uv(skip) + uv(dl) + uv(len(ins)) + ins
        return out

    good = fz(0, [(10, 2, b"xy")])
    error_case("error-fuzzy-mask-mode", "fuzzy payload with mask mode 3", tsec, False, [],
               fz(3, [(10, 2, b"xy")]), "PayloadError")
    error_case("error-fuzzy-stateless-mask", "fuzzy payload with a mask in a stateless frame", tsec, False, [],
               fz(1, [(10, 2, b"xy")]), "PayloadError")
    error_case("error-fuzzy-no-edits", "fuzzy payload with zero edits", tsec, False, [], fz(0, []),
               "PayloadError")
    error_case("error-fuzzy-edit-count", "fuzzy edit count beyond the payload", tsec, False, [],
               fz(0, [(10, 2, b"xy")], nedits=1000), "PayloadError")
    error_case("error-fuzzy-empty-edit", "an edit that neither deletes nor inserts", tsec, False, [],
               fz(0, [(10, 0, b"")]), "PayloadError")
    error_case("error-fuzzy-adjacent", "a second edit with skip 0", tsec, False, [],
               fz(0, [(10, 1, b""), (0, 1, b"")]), "PayloadError")
    error_case("error-fuzzy-past-end", "an edit deleting past the end of the rendered template", tsec, False, [],
               fz(0, [(len(msg) - 1, 2, b"")]), "PayloadError")
    error_case("error-fuzzy-insert-past", "inserted bytes running past the payload", tsec, False, [],
               fz(0, [(10, 0, b"abc")])[:-1], "PayloadError")
    error_case("error-fuzzy-trailing", "a valid fuzzy payload followed by one extra byte", tsec, False, [],
               good + b"\x00", "PayloadError")
    error_case("error-fuzzy-limit", "a fuzzy output beyond max_size", tsec, False, [],
               fz(0, [(10, 0, b"0123456789")]), "LimitError", max_size=len(msg) + 5)


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith(".json"):
            os.unlink(os.path.join(OUT, f))
    jsec = train_templates([m.encode() for m in ticks(60) + depth(30)], min_frequency=5, min_distinct=8)
    tsec = train_templates([m.encode() for m in logs(80)], min_frequency=5, min_distinct=8)
    case("json-stateless", "JSON shapes, stateless: TABLE, UINT, DEC, LIT, constants folded",
         jsec, False, ticks(6, 100))
    case("json-context", "JSON shapes in context mode: masks, MRU references, DNUM deltas, keyed predictions",
         jsec, True, ticks(9, 100) + depth(4, 100))
    case("json-arrays", "arrays coded generically with in-array predictions (level 1 shape)",
         jsec, True, depth(6, 200))
    case("text-stateless", "text templates, stateless: affixes, variable separators, ZPAD, NEG", tsec, False,
         logs(6, 100))
    case("text-context", "text templates in context mode: prev_text prediction, DDIG, masks", tsec, True,
         logs(10, 100))
    case("runtime-json", "no dictionary: runtime JSON shapes learned by observation", None, True, ticks(5, 300))
    case("runtime-text", "no dictionary: runtime text templates, generalised online", None, True,
         [f"user {u} logged in from 10.0.0.{i} port {4000 + i}" for i, u in enumerate(["ann", "bob", "cy", "dee"])])
    hot = [f'{{"hot":{i},"v":"x{i % 3}"}}' for i in range(80)]
    stream = [m for i in range(80) for m in (hot[i], f'{{"once{i}":{i}}}')] + ['{"once0":7}']
    pl = case("runtime-eviction", "no dictionary: 80 one-off shapes overflow the 64 runtime templates; the hot "
              "shape, used between them, is never evicted (least recently used first); the first one-off "
              "shape was evicted and is learned again at the end", None, True, stream)
    assert all(p is not None for p in pl[2:-1:2]) and pl[-1] is None
    case("forms", "every atom form: HEX, ZPAD, DEC, NEG, NUMS, PREFIX, A64, RECENT, OBJ, ARR", None, True, FORMS)
    error_case("error-unknown-id", "template id 200 is not defined", jsec, False, [], bytes([0xA0, 0x06, 0x00]),
               "UnknownTemplateError")
    error_case("error-unknown-rank", "context: MRU rank 3 is empty", None, True, [], bytes([3 << 2]),
               "UnknownTemplateError")
    enc = TemplateEncoder(TemplateSet.from_section(jsec), context=False)
    good = enc.encode(ticks(1, 100)[0].encode(), True)
    assert good is not None
    error_case("error-trailing", "a valid payload followed by one extra byte", jsec, False, [], good + b"\x00",
               "PayloadError")
    error_case("error-truncated", "a valid payload cut short by one byte", jsec, False, [], good[:-1],
               "PayloadError")
    error_case("error-same-without-last", "context: SAME for a slot with no previous value", jsec, True, [],
               bytes([(8 + 0) << 2, 0x00]), "PayloadError")
    fuzzy_cases(tsec)
    copy_cases(tsec)
    error_case("error-nesting", "context: arrays nested 40 deep in a runtime JSON slot", None, True,
               ['{"a":[1]}'], bytes([(8 + 0) << 2]) + bytes([0x1D]) * 40 + bytes([0x0D]), "LimitError")


if __name__ == "__main__":
    main()
