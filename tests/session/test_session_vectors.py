"""Replay the conversation vectors of spec/vectors/session/ against each role of the Session.

For the role under test, frames recorded from the peer are fed in and must
yield the recorded messages and close; frames recorded from the role itself
must be produced in the same order: CONTROL frames byte for byte, data
frames with the same header flags (so the dictionary switch point is the
same).  A test also checks that the generator script reproduces the files.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aura_wire.codec.dictionary import Dictionary
from aura_wire.session import ConnectionFailed, MessageReceived, Role, Session, SessionConfig
from aura_wire.session.control import Hello, is_control_frame, parse_control
from aura_wire.session.negotiation import parse_hints
from aura_wire.session.params import PARAM_NAMES

REPO = Path(__file__).resolve().parents[2]
VECTORS = sorted((REPO / "spec" / "vectors" / "session").glob("*.json"))


def message_of(j: dict[str, str]) -> str | bytes:
    return j["text"] if "text" in j else bytes.fromhex(j["binary"])


def replay(vector: dict[str, Any], role: str) -> None:
    cfg = SessionConfig(**vector["session_config"])
    dicts = [Dictionary.from_bytes(bytes.fromhex(h)) for h in vector["server_dictionaries"]]
    by_id = {d.id: d for d in dicts}
    hints = parse_hints(vector.get("client_hints", []))
    assert hints is not None
    if role == "server":
        codec = {**vector["codec_config"], **vector.get("server_codec_config", {})}
        s = Session(Role.SERVER, dictionaries=dicts, config=cfg, codec_config=codec, hints=hints)
    else:
        client_cfg = SessionConfig(**{**vector["session_config"], **vector.get("client_session_config", {})})
        s = Session(Role.CLIENT, config=client_cfg, codec_config=vector["codec_config"], hints=hints,
                    held=[by_id[i] for i in hints.have if i in by_id])
    produced: list[bytes] = []
    pending: list[Any] = []
    closed = False
    for step in vector["steps"]:
        if "action" in step:
            if step["action"] != role:
                continue
            do = step["do"]
            if do == "start":
                s.start()
            elif do == "send":
                s.send_message(message_of(step["message"]), sensitive=step.get("sensitive", False))
            elif do == "use":
                s.use_dictionary(by_id[step["id"]])
            elif do == "fetch":
                s.fetch_dictionary(step["id"])
            elif do == "decline":
                s.decline()
            continue
        if "close" in step:
            if step["close"]["by"] == role:
                fails = [e for e in pending + s.events() if isinstance(e, ConnectionFailed)]
                assert [f.code for f in fails] == [step["close"]["code"]]
                assert fails[0].reason == step["close"]["reason"]
                closed = True
            continue
        frame = bytes.fromhex(step["frame"])
        if step["from"] == role and step.get("injected"):
            continue  # a hand-made frame (error vectors): only the receiving role replays it
        if step["from"] == role:
            frame = bytes.fromhex(step.get("sent", step["frame"]))  # altered in transit: compare what was sent
            produced += s.data_to_send()
            assert produced, f"{role} should have sent {step['frame'][:20]}"
            mine = produced.pop(0)
            if is_control_frame(frame) or is_control_frame(mine):
                assert mine == frame
            else:
                assert mine[0] == frame[0], "data frame header differs (method or flags)"
        else:
            s.receive_frame(frame)
            if role == "client" and is_control_frame(frame) and not s.closed:
                hello = parse_control(frame)
                if isinstance(hello, Hello):  # the client adopted the registered parameters, ignored the others
                    assert s.params is not None
                    assert s.params.pairs() == tuple(p for p in hello.params if p[0] in PARAM_NAMES)
                    for name, value in s.params.values.items():
                        assert s.codec_config[name] == value
            events = s.events()
            pending += [e for e in events if isinstance(e, ConnectionFailed)]
            got = [e.data for e in events if isinstance(e, MessageReceived)]
            if "message" in step:
                assert got == [message_of(step["message"])]
            else:
                assert got == []
    assert closed == any("close" in st and st["close"]["by"] == role for st in vector["steps"])


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
@pytest.mark.parametrize("role", ["server", "client"])
def test_vector(path: Path, role: str) -> None:
    replay(json.loads(path.read_text()), role)


def test_vectors_exist() -> None:
    names = {p.stem for p in VECTORS}
    assert {"no_dictionary", "client_holds_dictionary", "inband_fetch", "corrupted_transfer"} <= names


def test_generator_reproduces_the_files(tmp_path: Path) -> None:
    """The generator, writing into a temporary folder (never into the repository), makes the committed files."""
    committed = {p.name: p.read_text() for p in VECTORS}
    script = REPO / "spec" / "vectors" / "make_session_vectors.py"
    out = subprocess.run([sys.executable, str(script), "--out", str(tmp_path)], cwd=tmp_path, capture_output=True,
                         text=True, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, timeout=60)
    assert out.returncode == 0, out.stderr
    made = {p.name: p.read_text() for p in sorted(tmp_path.glob("*.json"))}
    assert made == committed
