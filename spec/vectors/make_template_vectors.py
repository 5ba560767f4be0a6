"""Generate spec/vectors/templates/*.json: TEMPLATE payload vectors (spec/templates.md §8).

Run from the repo root: ``python spec/vectors/make_template_vectors.py``.  Sections are
trained on synthetic messages only (nothing from real users).  Each vector holds the section
(hex, or null: no dictionary), the mode, the messages and the payloads (hex, without the frame
header; null where no template applied and the message was sent by another method) and, in context
mode, the STATE instructions the encoder sent with each message (spec/wire-format.md §4.7).
Error vectors hold the messages observed before, one payload (or instruction block) and the name
of the error it must raise.
"""

from __future__ import annotations

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
# copies() counts COPY atoms by wrapping a function of the pure sources: a compiled build cannot be
# patched that way, so this generator always runs pure (the compiled encoder makes the same bytes)
os.environ["AURA_WIRE_PURE"] = "1"

from aura_wire.codec.templates.coders import TemplateDecoder, TemplateEncoder  # noqa: E402
from aura_wire.codec.templates.context import parse_instructions  # noqa: E402
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
    # hold_defines off: runtime-eviction defines shapes never used, to fill and evict the table
    enc = TemplateEncoder(ts, context=context, fuzzy=fuzzy, content=content, hold_defines=False)
    payloads: list[str | None] = []
    instructions: list[str | None] = []
    hist = b""
    for m in msgs:
        data = m.encode("utf-8")
        p = enc.encode(data, True, hist)
        payloads.append(p.hex() if p is not None else None)
        ins = enc.learn(data)
        instructions.append(ins.hex() if ins else None)
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
    if context:
        body["instructions"] = instructions
    write(name, body)
    LAST_INSTRUCTIONS[:] = instructions
    return payloads


#: the instructions of the last vector written by case() (copies() replays them)
LAST_INSTRUCTIONS: list[str | None] = []


def observed(section: bytes | None, context: bool, setup: list[str]) -> list[dict[str, str | None]]:
    """The setup messages of an error vector as the reference encoder sent them: text, payload
    (or null) and STATE instructions (or null)."""
    if not setup:
        return []
    enc = TemplateEncoder(TemplateSet.from_section(section) if section is not None else None, context=context,
                          fuzzy=False, hold_defines=False)
    out: list[dict[str, str | None]] = []
    for m in setup:
        data = m.encode("utf-8")
        p = enc.encode(data, True)
        ins = enc.learn(data)
        enc.commit(data, p is not None)
        out.append({"text": m, "payload": p.hex() if p is not None else None,
                    "instructions": ins.hex() if ins else None})
    return out


def error_case(name: str, desc: str, section: bytes | None, context: bool, setup: list[str],
               payload: bytes, error: str, max_size: int | None = None,
               observe: list[dict[str, str | None]] | None = None) -> None:
    """An error vector; ``observe`` (instead of ``setup``): hand-made observed messages (see ``hand``)."""
    obs = observe if observe is not None else observed(section, context, setup)
    body: dict[str, object] = {"description": desc, "section": section.hex() if section is not None else None,
                               "context": context, "observe": obs, "payload": payload.hex(), "error": error}
    if max_size is not None:
        body["max_size"] = max_size
    if not name.startswith("error-section-"):
        _check_error(body)
    write(name, body)


def _check_error(body: dict[str, object]) -> None:
    """The reference decoder raises exactly the vector's error (as tests/ replay it)."""
    sec = body["section"]
    dec = TemplateDecoder(TemplateSet.from_section(bytes.fromhex(sec)) if isinstance(sec, str) else None,
                          context=bool(body["context"]))
    try:
        for o in body["observe"]:  # type: ignore[attr-defined]
            data = str(o["text"]).encode()
            if o["payload"] is not None:
                got = dec.decode_payload(bytes.fromhex(o["payload"]), 1 << 20)
                assert got.data == data, (o, got.data)
                dec.commit(got)
            if o["instructions"] is not None:
                dec.apply(parse_instructions(bytes.fromhex(o["instructions"]), 0)[0], data)
    except Exception as exc:
        raise AssertionError(f"{body['description']}: setup failed: {exc!r}") from exc
    try:
        dec.commit(dec.decode_payload(bytes.fromhex(str(body["payload"])), int(body.get("max_size", 1 << 20))))
    except Exception as exc:
        assert type(exc).__name__ == body["error"], (body["description"], exc)
    else:
        raise AssertionError(f"{body['description']}: no error")


def hand(steps: list[tuple[bytes | None, bytes | None, str | None]],
         section: bytes | None = None) -> list[dict[str, str | None]]:
    """Hand-made context messages: (payload or None, instruction block or None, the message when there
    is no payload); the message of a payload is what the reference decoder makes of it."""
    dec = TemplateDecoder(TemplateSet.from_section(section) if section is not None else None, context=True)
    out: list[dict[str, str | None]] = []
    for payload, block, text in steps:
        if payload is not None:
            got = dec.decode_payload(payload, 1 << 20)
            dec.commit(got)
            text = got.data.decode()
        assert text is not None
        if block is not None:
            dec.apply(parse_instructions(block, 0)[0], text.encode())
        out.append({"text": text, "payload": payload.hex() if payload is not None else None,
                    "instructions": block.hex() if block is not None else None})
    return out


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
    from the slot's prediction in a few places (COPY from the prediction).  The agent string is
    longer than 128 bytes, so it is never a prediction or a recent string (§5.1 step 3-4)."""
    agent = AGENT + " ExampleCrawler/2.1 (+https://crawler.example.org/about)"
    out = []
    for i in range(start, start + n):
        url = f"https://cdn.example.org/assets/v{i % 3}/bundle-{(i * 37) % 1000:03d}.js?cache=ab{i % 7}cd"
        if i % 2:
            out.append(json.dumps({"method": "send", "id": f"{i}.{i % 5}", "url": url, "ua": agent},
                                  separators=(",", ":")))
        else:
            out.append(json.dumps({"method": "recv", "id": f"{i - 1}.{(i - 1) % 5}", "status": 200,
                                   "headers": {"agent": agent, "location": url}}, separators=(",", ":")))
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
        for m, p, ins in zip(msgs, payloads, LAST_INSTRUCTIONS or [None] * len(msgs)):
            data = m.encode()
            if p is not None:
                got = dec.decode_payload(bytes.fromhex(p), 1 << 20, hist)
                assert got.data == data
                dec.commit(got)
            if ins is not None:
                block = bytes.fromhex(ins)
                dec.apply(parse_instructions(block, 0)[0], data)
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
            ("copy-all-parts", psec, True, panel[40:52], 4096, kc,
             "context COPY with the shared content K, the prediction P and the history H all non-empty: "
             "distances count back through K ++ P ++ H ++ out"),
    ):
        pl = case(name, desc, section, context, msgs, window=window, content=content)
        assert copies(section, context, msgs, pl, window, content) > 0, name
    one = ['{"a":"xx"}', '{"a":"xy"}']  # the shape's second message defines runtime template 0
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


def tag(form: int, param: int, q: bool = False) -> bytes:
    """An atom tag (spec §4.1): Q, P (param, or 7 and an extension), F."""
    out = bytes([(0x80 if q else 0) | (min(param, 7) << 4) | form])
    return out + (uv(param - 7) if param >= 7 else b"")


RAW_, UINT, NEG, ZPAD, DEC, HEX, NUMS, DNUM, DDIG, TABLE, A64, LIT, ARR, OBJ, PREFIX = range(1, 16)
SAME = 0
#: a runtime JSON template with one slot, and one exact payload giving the slot a prediction
JSON_SETUP = ['{"a":"xx"}', '{"a":"yy"}', '{"a":"ab-12-cd-0-345"}']
#: a runtime text template: "job", a variable separator, a slot token, "done"
TEXT_SETUP = ["job 1 done", "job  2 done"]
R0 = bytes([(8 + 0) << 2])  # context reference to runtime template 0 (id 8 + 0), no mask


def crafted(name: str, desc: str, setup: list[str], payloads: list[bytes]) -> None:
    """A decode-only context vector: ``setup`` as the reference encoder sent it, then hand-made
    payloads (forms the reference encoder does not choose); the messages are what they decode to."""
    obs = observed(None, True, setup)
    dec = TemplateDecoder(None, context=True)
    msgs = [o["text"] for o in obs]
    pls = [o["payload"] for o in obs]
    ins = [o["instructions"] for o in obs]
    for o in obs:
        data = str(o["text"]).encode()
        if o["payload"] is not None:
            dec.commit(dec.decode_payload(bytes.fromhex(str(o["payload"])), 1 << 20))
        if o["instructions"] is not None:
            dec.apply(parse_instructions(bytes.fromhex(str(o["instructions"])), 0)[0], data)
    for p in payloads:
        got = dec.decode_payload(p, 1 << 20)
        dec.commit(got)
        msgs.append(got.data.decode())
        pls.append(p.hex())
        ins.append(None)
    write(name, {"description": desc, "section": None, "context": True, "decode_only": True,
                 "messages": [msg_json(str(m)) for m in msgs], "payloads": pls, "instructions": ins})


def state_error_cases() -> None:
    """Instructions that replace a template's state: a DEFINE primes the new template with its own
    message (templates.md §5.5), here a value longer than 128 bytes (stored as no prediction), so a
    SAME after them must fail where a decoder keeping the old lasts would deliver them."""
    obs = observed(None, True, JSON_SETUP)
    long = '{"a":"' + "z" * 200 + '"}'  # one hole: 5 bytes in, 202 long
    for name, desc, block in (
            ("error-same-after-redefine", "DEFINE over a live template replaces its lasts with the new "
             "message's value, longer than 128 bytes (no prediction): SAME fails", "01010001" + "05" + uv(202).hex()),
            ("error-same-after-evict", "EVICT then DEFINE of the same k: the lasts are the new message's, "
             "longer than 128 bytes (no prediction): SAME fails", "0200000100" + "01" + "05" + uv(202).hex()),
    ):
        body: dict[str, object] = {"description": desc, "section": None, "context": True,
                                   "observe": obs + [{"text": long, "payload": None, "instructions": block}],
                                   "payload": (R0 + tag(SAME, 0)).hex(), "error": "PayloadError"}
        _check_error(body)
        write(name, body)
    # the keyed lasts (§5.1 step 3) of the template a DEFINE replaces go too: the new template's own
    # first message (key "t") leaves slot 1 unpredicted for key "s", which only the old one had
    short = '{"a":"s","b":"x"}'
    longer = '{"a":"t","b":"' + "z" * 200 + '"}'
    two = bytes([0x01]) + uv(0) + uv(2) + uv(5) + uv(3) + uv(5)
    steps: list[tuple[bytes | None, bytes | None, str | None]] = [
        (None, uv(1) + two + uv(3), short), (None, uv(1) + two + uv(202), longer)]
    error_case("error-keyed-after-redefine", "DEFINE over a live template drops its keyed lasts: the old "
               "template's entry for key \"s\" is gone, so SAME on slot 1 after slot 0 = \"s\" fails",
               None, True, [], R0 + tag(RAW_, 1, q=True) + b"s" + tag(SAME, 0), "PayloadError",
               observe=hand(steps))


def atom_cases(jsec: bytes) -> None:
    state_error_cases()
    crafted("atoms-crafted", "hand-made atoms in a JSON slot: NEG 0 ('-0'), NUMS both modes with a lone 0 "
            "group, PREFIX, odd-length uppercase HEX, A64, DEC, ZPAD, DNUM, DDIG, LIT, RECENT, quoted forms, "
            "OBJ, ARR with sibling-array predictions", JSON_SETUP, [
                R0 + tag(NEG, 0),                                               # -0
                R0 + tag(RAW_, 14, q=True) + b"ab-12-cd-0-345",                 # back to the string
                R0 + tag(NUMS, 0, q=True) + uv(2) + uv(0) + uv(1),              # ab-13-cd-0-344 (deltas +1, 0, -1)
                R0 + tag(NUMS, 1, q=True) + uv(7) + uv(0) + uv(9),              # ab-7-cd-0-9 (values)
                R0 + tag(PREFIX, 6, q=True) + uv(2) + b"zz",                    # ab-7-czz
                R0 + tag(HEX, 2 * 5 + 1) + bytes([0x0A, 0xBC, 0xDE]),           # ABCDE
                R0 + tag(A64, 4) + bytes([0x28, 0x92, 0xCB]),                   # A64 of 4 chars
                R0 + tag(DEC, 2) + uv(2 * 1234),                                # 12.34
                R0 + tag(DNUM, 2 * 5),                                          # 12.34 + 0.05
                R0 + tag(ZPAD, 6) + uv(42),                                     # 000042
                R0 + tag(DDIG, 2 * 7 + 1),                                      # 000042 - 8 -> 000034
                R0 + tag(LIT, 1),                                               # true
                R0 + tag(RAW_, 6, q=True) + b"recent",                          # "recent" enters recent
                R0 + tag(LIT, 3, q=True),                                       # RECENT 0 -> "recent"
                R0 + tag(OBJ, 2) + tag(RAW_, 1, q=True) + b"k" + tag(UINT, 1)
                + tag(RAW_, 1, q=True) + b"l" + tag(LIT, 0),                    # {"k":1,"l":null}
                R0 + tag(ARR, 2) + tag(ARR, 2) + tag(UINT, 10) + tag(DEC, 1) + uv(2 * 15)
                + tag(ARR, 2) + tag(DNUM, 2 * 3) + tag(DNUM, 1),                # [[10,1.5],[13,1.4]]
            ])
    # errors in a JSON slot of runtime template 0, context
    for name, desc, payload, err in (
            ("error-atom-same-q", "SAME with the quote flag", R0 + tag(SAME, 0, q=True), "PayloadError"),
            ("error-atom-zpad-nopad", "ZPAD whose value already has the width", R0 + tag(ZPAD, 3) + uv(123),
             "PayloadError"),
            ("error-atom-zpad-width", "ZPAD width 65", R0 + tag(ZPAD, 65) + uv(1), "PayloadError"),
            ("error-atom-dec-scale-0", "DEC with scale 0", R0 + tag(DEC, 0) + uv(4), "PayloadError"),
            ("error-atom-dec-scale-41", "DEC with scale 41", R0 + tag(DEC, 41) + uv(4), "PayloadError"),
            ("error-atom-hex-empty", "HEX with n = 0", R0 + tag(HEX, 0), "PayloadError"),
            ("error-atom-hex-nibble", "odd HEX whose first byte's high nibble is not 0",
             R0 + tag(HEX, 2 * 3) + bytes([0x1A, 0xBC]), "PayloadError"),
            ("error-atom-a64-pad", "A64 with non-zero pad bits", R0 + tag(A64, 1) + bytes([0x01]), "PayloadError"),
            ("error-atom-nums-range", "NUMS mode 1 with a group of 10^18", R0 + tag(NUMS, 1, q=True) + uv(10 ** 18)
             + uv(0) + uv(0), "PayloadError"),
            ("error-atom-nums-mode", "NUMS mode 2", R0 + tag(NUMS, 2, q=True) + uv(0) + uv(0) + uv(0),
             "PayloadError"),
            ("error-atom-ddig-range", "DDIG below zero", R0 + tag(DDIG, 2 * 20000000 - 1 + 2), "PayloadError"),
            ("error-atom-prefix-long", "PREFIX longer than the prediction", R0 + tag(PREFIX, 40, q=True) + uv(0),
             "PayloadError"),
            ("error-atom-prefix-past", "PREFIX bytes running past the payload", R0 + tag(PREFIX, 2, q=True) + uv(9)
             + b"ab", "PayloadError"),
            ("error-atom-table-empty", "TABLE without a dictionary (empty string table)", R0 + tag(TABLE, 0),
             "PayloadError"),
            ("error-atom-recent-missing", "RECENT naming a string never added (values under 4 bytes are not "
             "recent strings)", R0 + tag(LIT, 3 + 1, q=True), "PayloadError"),
            ("error-atom-lit-unknown", "LIT 3 with the quote flag off is RECENT; LIT with Q in p < 3 refused",
             R0 + tag(LIT, 1, q=True), "PayloadError"),
            ("error-atom-obj-key", "OBJ whose key is not a quoted string", R0 + tag(OBJ, 1) + tag(UINT, 1)
             + tag(UINT, 2), "PayloadError"),
            ("error-atom-container-count", "ARR announcing more elements than payload bytes", R0 + tag(ARR, 9)
             + tag(UINT, 1), "PayloadError"),
            ("error-atom-reserved", "a reserved tag: F = 0 with Q and param 0 in a text-free slot is SAME; "
             "RAW running past the payload", R0 + tag(RAW_, 9) + b"abc", "PayloadError"),
            ("error-mask-empty", "mode 1 with a coded mask of 0 (mask = lastmask = 0), then a valid slot",
             bytes([(8 << 2) | 1]) + uv(0) + tag(UINT, 5), "PayloadError"),
            ("error-atom-ddig-overflow", "DDIG beyond the digit count (120345 + 10^6 needs 7 digits)",
             R0 + tag(DDIG, 2 * 10 ** 6), "PayloadError"),
            ("error-mask-beyond", "a mask naming slot 1 of a one-slot template", bytes([(8 << 2) | 1]) + uv(2),
             "PayloadError"),
            ("error-output-limit", "an output longer than max_size (40)", R0 + tag(RAW_, 60) + b"x" * 60,
             "LimitError"),
            ("error-output-limit-gap", "the template's last literal takes the output past max_size (6)",
             R0 + tag(UINT, 1), "LimitError"),
            ("error-nesting-35", "arrays nested 35 deep (the limit is 32) around a valid value",
             R0 + tag(ARR, 1) * 35 + tag(UINT, 1), "LimitError"),
    ):
        limit = {"error-output-limit": 40, "error-output-limit-gap": 6}.get(name)
        error_case(name, desc, None, True, JSON_SETUP, payload, err, max_size=limit)
    long_setup = JSON_SETUP[:2] + ['{"a":"' + "z" * 200 + '"}']
    error_case("error-same-after-long-value", "SAME after a value longer than 128 bytes (stored as no "
               "prediction)", None, True, long_setup, R0 + tag(SAME, 0), "PayloadError")
    # text slots: runtime text template 0 is "job", variable separator, slot, "done"
    for name, desc, payload, err in (
            ("error-text-q", "a quoted atom in a text slot", R0 + uv(1) + tag(RAW_, 1, q=True) + b"7", "PayloadError"),
            ("error-text-space", "a text slot value containing a space", R0 + uv(1) + tag(RAW_, 3) + b"7 8",
             "PayloadError"),
            ("error-text-sep-zero", "a variable separator of 0 spaces between two tokens", R0 + uv(0)
             + tag(UINT, 7), "PayloadError"),
            ("error-text-lit", "LIT (a JSON form) in a text slot", R0 + uv(1) + tag(LIT, 1), "PayloadError"),
            ("error-text-sep-limit", "a separator longer than max_size", R0 + uv(5000) + tag(UINT, 7), "LimitError"),
    ):
        error_case(name, desc, None, True, TEXT_SETUP, payload, err, max_size=100 if "limit" in name else None)
    ts = TemplateSet.from_section(jsec)
    tid = min(ts.templates)
    error_case("error-mask-stateless", "a mask (mode 2) in a stateless payload", jsec, False, [],
               uv((tid << 2) | 2), "PayloadError")
    error_case("error-section-ids", "a templates section whose ids do not ascend", bytes.fromhex(
        "01" "00" "02" "05" "00" "01" "00" "01" "61" "01" "01" "05" "00" "01" "00" "01" "61" "01" "01"), False, [],
        b"\x00", "DictionaryFormatError")
    error_case("error-section-literal-space", "a text template whose literal token holds a space", bytes.fromhex(
        "01" "00" "01" "00" "00" "01" "00" "03" "612062" "01" "01"), False, [], b"\x00", "DictionaryFormatError")
    error_case("error-section-trailing", "a templates section with a trailing byte", bytes.fromhex(
        "01" "00" "00" "00"), False, [], b"\x00", "DictionaryFormatError")


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
    case("runtime-json", "no dictionary: runtime JSON shapes defined by DEFINE_JSON instructions", None, True,
         ticks(5, 300))
    case("runtime-text", "no dictionary: runtime text templates defined and generalised by DEFINE_TEXT", None, True,
         [f"user {u} logged in from 10.0.0.{i} port {4000 + i}" for i, u in enumerate(["ann", "bob", "cy", "dee"])])
    # two runtime text templates in turn: a payload's slot 1 (the time) equals prev_text[1], left by the
    # other template's message (or by its DEFINE, which primes), not its own template's lasts (§5.2)
    order = [("a", 0), ("b", 0), ("a", 1), ("b", 1), ("b", 2), ("a", 2), ("b", 3), ("a", 3), ("a", 4)]
    lines = [f"081109 20{35 + t:02d}{t * 7 % 60:02d} 143 INFO dfs.DataNode: Receiving block blk_{t} size {t + 9}"
             if k == "a" else
             f"081109 20{35 + t:02d}{t * 7 % 60:02d} 19 INFO dfs.FSNamesystem: allocateBlock /user/job_{t}.jar"
             for k, t in order]
    case("prev-text-across-templates", "no dictionary: two runtime text templates in turn; slots 0 and 1 "
         "(date and time) are predicted by prev_text, the previous text template message's, not by the "
         "template's own lasts", None, True, lines)
    # DEFINE_TEXT_RULE: bytes >= 0x80 are letters, so "ü9e3779" is a slot without a prefix; its later
    # values are unlike their predictions (sent as they are), so a decoder taking "ü" for punctuation
    # (prefix "ü") renders them wrong
    case("runtime-text-rule-high-bytes", "no dictionary: a runtime text template defined by DEFINE_TEXT_RULE "
         "whose slot tokens start or end with a non-ASCII letter (no prefix, no suffix)", None, True,
         [f"job \u00fc{i * 2654435761 % 16 ** 6:06x} done {i * 40503 % 16 ** 5:05x}\u00e9 at {i * 37 % 100}"
          for i in range(1, 7)])
    hot = [f'{{"hot":{i},"v":"x{i % 3}"}}' for i in range(80)]
    stream = [m for i in range(80) for m in (hot[i], f'{{"once{i}":{i}}}', f'{{"once{i}":{i + 1}}}')]
    stream.append('{"once0":7}')
    pl = case("runtime-eviction", "no dictionary: 80 shapes, each seen twice (so defined), overflow the 64 "
              "runtime templates; the reference encoder evicts the least recently used (EVICT, or a DEFINE over "
              "its id), so the hot shape, used between them, stays; the first shape is gone at the end", None,
              True, stream)
    assert all(pl[k] is not None for k in range(6, 240, 3)) and pl[-1] is None
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
    atom_cases(jsec)
    error_case("error-nesting", "context: arrays nested 40 deep in a runtime JSON slot", None, True,
               ['{"a":[1]}', '{"a":[2]}'], bytes([(8 + 0) << 2]) + bytes([0x1D]) * 40 + bytes([0x0D]), "LimitError")
    mutation_cases(jsec, tsec)


def define_json(k: int, skip: int, length: int) -> bytes:
    """DEFINE_JSON k with one hole (wire-format.md §4.7)."""
    return bytes([0x01]) + uv(k) + uv(1) + uv(skip) + uv(length)


def block(*instructions: bytes) -> bytes:
    return uv(len(instructions)) + b"".join(instructions)


def mutation_cases(jsec: bytes, tsec: bytes) -> None:
    """Vectors that pin rules the others left open (found by spec/mutation/: a decoder breaking the
    rule passed every vector).  Several have two faults: the expected error is the first one met
    (wire-format.md §5.6 step 9), so a decoder that skips the first check fails with another error."""
    one = '{"a":1}'
    # template ids above 12 are named by reference r = id + 8 (templates.md §4)
    uses = [uv((8 + 13) << 2) + tag(UINT, 2), uv(0 << 2) + tag(UINT, 3), uv((8 + 13) << 2) + tag(SAME, 0)]
    obs = hand([(None, block(define_json(13, 5, 1), define_json(40, 5, 1)), one)] + [(u, None, None) for u in uses]
               + [(uv((8 + 40) << 2) + tag(UINT, 9), None, None)])
    write("runtime-high-id", {"description": "runtime templates 13 and 40 (DEFINE_JSON) used by id (r = id + 8 "
                              "= 21, 48) and by MRU rank", "section": None, "context": True, "decode_only": True,
                              "messages": [msg_json(str(o["text"])) for o in obs],
                              "payloads": [o["payload"] for o in obs], "instructions": [o["instructions"] for o in obs]})
    # the MRU holds 8 templates: the 9th used pushes the oldest out, and an EVICT leaves rank 7 empty
    steps: list[tuple[bytes | None, bytes | None, str | None]] = [
        (None, block(*[define_json(k, 5, 1) for k in range(9)]), one)]
    steps += [(uv((8 + k) << 2) + tag(UINT, k), None, None) for k in range(9)]
    steps += [(None, block(bytes([0x00]) + uv(5)), one)]
    error_case("error-mru-rank-after-evict", "nine runtime templates used in turn (the MRU keeps the last 8: 8..1), "
               "then EVICT 5: MRU rank 7 is empty", None, True, [], uv(7 << 2) + tag(UINT, 1),
               "UnknownTemplateError", observe=hand(steps))
    # a fuzzy payload with mask mode 3 where the template has a lastmask: refused, never read as mode 2
    steps = [(None, block(define_json(0, 5, 1)), one), (R0 + tag(UINT, 5), None, None), (R0 + tag(SAME, 0), None, None)]
    error_case("error-fuzzy-mask-mode-context", "context: a fuzzy payload whose mask mode is 3, for a template "
               "whose lastmask is 1 (its slot equalled its prediction)", None, True, [],
               uv((8 << 2) | 3) + uv((1 << 2) | 3) + uv(1) + uv(1) + uv(1) + b"X", "PayloadError",
               observe=hand(steps))
    # the first fault met wins: the count (or mask) check comes before the output limit is reached
    error_case("error-atom-container-count-first", "ARR of 3 elements with 2 payload bytes left, whose first "
               "element would also take the output past max_size (8): the count is refused first", None, True,
               JSON_SETUP, R0 + tag(ARR, 3) + tag(LIT, 0) + tag(LIT, 0), "PayloadError", max_size=8)
    error_case("error-copy-count-first", "COPY of 3 pieces with 3 payload bytes left, whose first piece would also "
               "take the output past max_size (8): the count is refused first", None, True, JSON_SETUP,
               R0 + tag(SAME, 3) + bytes([0x0B, 0x05, 0x00]), "PayloadError", max_size=8)
    ts = TemplateSet.from_section(jsec)
    tid = min(t for t in ts.templates if ts.templates[t].nslots >= 2)
    error_case("error-mask-stateless-first", "a mask (mode 1, slot 1) in a stateless payload whose slot 0 would "
               "also take the output past max_size (4): the mask is refused first", jsec, False, [],
               uv((tid << 2) | 1) + uv(2) + tag(UINT, 12345), "PayloadError", max_size=4)


if __name__ == "__main__":
    main()
