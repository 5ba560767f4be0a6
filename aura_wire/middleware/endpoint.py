"""The dictionary endpoint: ``GET {path}<id>`` serves a dictionary over plain HTTP (spec/session.md §6.5).

Dictionaries are content-addressed, so a response never changes: it is
served with ``Cache-Control: public, max-age=31536000, immutable`` and
``ETag: "<id>"``; ``If-None-Match`` gives 304.  The body is coded with
``br`` or ``gzip`` when ``Accept-Encoding`` allows (the coded forms are made
once per dictionary).  ``GET {path}`` (the bare prefix) lists the ids as
JSON, current first, with their coded sizes and announced savings.  A small
ASGI responder: no codec logic here.
"""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable, Mapping, MutableMapping

from aura_wire.codec.dictionary import Dictionary
from aura_wire.session.negotiation import DICTIONARY_PATH as DEFAULT_DICTIONARY_PATH
from aura_wire.session.transfer import accepted_coding, coded_form

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

__all__ = ["DEFAULT_DICTIONARY_PATH", "serve_dictionary"]

CONTENT_TYPE = b"application/vnd.aura-wire.dictionary"
IMMUTABLE = b"public, max-age=31536000, immutable"


async def _respond(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes, head: bool) -> None:
    headers = headers + [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


async def serve_dictionary(
    scope: Scope, send: Send, prefix: str, dictionaries: Mapping[str, Dictionary], current: str | None,
    savings: Mapping[str, int] | None = None,
) -> int:
    """Answer one HTTP request under ``prefix`` (the caller checked the path starts with it).

    Returns the body bytes sent (for the transfer metrics).
    """
    method = scope.get("method", "GET")
    head = method == "HEAD"
    if method not in ("GET", "HEAD"):
        await _respond(send, 405, [(b"allow", b"GET, HEAD"), (b"content-type", b"text/plain")],
                       b"method not allowed\n", False)
        return 0
    name = scope["path"][len(prefix):]
    if name == "":
        ids = list(dictionaries)
        if current is not None and current in ids:
            ids.remove(current)
            ids.insert(0, current)
        items = []
        for i in ids:
            entry = dictionaries[i]
            item: dict[str, Any] = {"id": i, "size": len(entry),
                                    "coded": {c: len(coded_form(entry, c)) for c in ("br", "gzip")}}
            if savings is not None and i in savings:
                item["saving"] = savings[i]
            items.append(item)
        body = json.dumps({"current": current, "dictionaries": items})
        await _respond(send, 200, [(b"content-type", b"application/json"), (b"cache-control", b"no-cache")],
                       body.encode(), head)
        return 0
    d = dictionaries.get(name)
    if d is None:
        await _respond(send, 404, [(b"content-type", b"text/plain")], b"unknown dictionary id\n", head)
        return 0
    headers = dict((k.lower(), v) for k, v in scope.get("headers", []))
    coding = accepted_coding(headers.get(b"accept-encoding", b"").decode("latin-1"))
    # One ETag per representation (RFC 9110 §8.8.3); If-None-Match naming any of them is a match.
    etag = (f'"{d.id}.{coding}"' if coding else f'"{d.id}"').encode()
    cache_headers = [(b"etag", etag), (b"cache-control", IMMUTABLE), (b"vary", b"accept-encoding")]
    inm = headers.get(b"if-none-match")
    if inm is not None:
        tags = [v.strip().removeprefix(b"W/") for v in inm.split(b",")]
        if inm.strip() == b"*" or any(t == f'"{d.id}"'.encode() or t.startswith(f'"{d.id}.'.encode()) for t in tags):
            await send({"type": "http.response.start", "status": 304, "headers": cache_headers})
            await send({"type": "http.response.body", "body": b""})
            return 0
    payload = coded_form(d, coding) if coding else d.to_bytes()
    extra = [(b"content-encoding", coding.encode())] if coding else []
    await _respond(send, 200, [(b"content-type", CONTENT_TYPE)] + extra + cache_headers, payload, head)
    return 0 if head else len(payload)
