"""The dictionary endpoint: ``GET {path}<id>`` serves a dictionary over plain HTTP (spec/session.md §6.5).

Dictionaries are content-addressed, so a response never changes: it is
served with ``Cache-Control: public, max-age=31536000, immutable`` and
``ETag: "<id>"``; ``If-None-Match`` gives 304.  ``GET {path}`` (the bare
prefix) lists the ids as JSON, current first.  A small ASGI responder: no
codec logic here.
"""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable, Mapping, MutableMapping

from aura_wire.codec.dictionary import Dictionary
from aura_wire.session.negotiation import DICTIONARY_PATH as DEFAULT_DICTIONARY_PATH

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
    scope: Scope, send: Send, prefix: str, dictionaries: Mapping[str, Dictionary], current: str | None
) -> None:
    """Answer one HTTP request under ``prefix`` (the caller checked the path starts with it)."""
    method = scope.get("method", "GET")
    head = method == "HEAD"
    if method not in ("GET", "HEAD"):
        await _respond(send, 405, [(b"allow", b"GET, HEAD"), (b"content-type", b"text/plain")],
                       b"method not allowed\n", False)
        return
    name = scope["path"][len(prefix):]
    if name == "":
        ids = list(dictionaries)
        if current is not None and current in ids:
            ids.remove(current)
            ids.insert(0, current)
        body = json.dumps({"current": current, "dictionaries": [{"id": i, "size": len(dictionaries[i])} for i in ids]})
        await _respond(send, 200, [(b"content-type", b"application/json"), (b"cache-control", b"no-cache")],
                       body.encode(), head)
        return
    d = dictionaries.get(name)
    if d is None:
        await _respond(send, 404, [(b"content-type", b"text/plain")], b"unknown dictionary id\n", head)
        return
    etag = f'"{d.id}"'.encode()
    cache_headers = [(b"etag", etag), (b"cache-control", IMMUTABLE)]
    for key, value in scope.get("headers", []):
        if key.lower() == b"if-none-match" and (value.strip() == b"*" or etag in [v.strip() for v in value.split(b",")]):
            await send({"type": "http.response.start", "status": 304, "headers": cache_headers})
            await send({"type": "http.response.body", "body": b""})
            return
    await _respond(send, 200, [(b"content-type", CONTENT_TYPE)] + cache_headers, d.to_bytes(), head)
