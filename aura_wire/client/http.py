"""Fetch a dictionary over plain HTTP from the middleware's endpoint (spec/session.md §6.5).

Blocking ``urllib`` run in a worker thread, bounded by size and time, and
verified against the id before it is returned.  It asks for ``br`` or
``gzip`` (``Accept-Encoding``) and decodes the body within the same bound.
"""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.parse
import urllib.request

from aura_wire.codec.dictionary import DEFAULT_MAX_DICTIONARY_SIZE, Dictionary
from aura_wire.errors import LimitError, UnknownDictionaryError
from aura_wire.session.negotiation import DICTIONARY_PATH as DEFAULT_DICTIONARY_PATH
from aura_wire.session.transfer import decode_bounded

__all__ = ["dictionary_url", "fetch_dictionary", "fetch_dictionary_sized"]


def dictionary_url(uri: str, dictionary_id: str, path: str = DEFAULT_DICTIONARY_PATH) -> str:
    """The HTTP(S) URL of a dictionary on the server behind websocket ``uri``."""
    parts = urllib.parse.urlsplit(uri)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return urllib.parse.urlunsplit((scheme, parts.netloc, path + dictionary_id, "", ""))


def _get(url: str, dictionary_id: str, max_size: int, timeout: float) -> tuple[Dictionary, int]:
    req = urllib.request.Request(url, headers={"Accept": "application/vnd.aura-wire.dictionary",
                                               "Accept-Encoding": "br, gzip"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (http/https only)
            data = resp.read(max_size + 1)
            coding = (resp.headers.get("Content-Encoding") or "identity").strip().lower()
    except urllib.error.HTTPError as exc:
        raise UnknownDictionaryError(f"GET {url} failed: HTTP {exc.code}", field="http") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise UnknownDictionaryError(f"GET {url} failed: {exc}", field="http") from exc
    if len(data) > max_size:
        raise LimitError(f"dictionary at {url} exceeds {max_size} bytes", field="http")
    body_size = len(data)
    if coding != "identity":
        # Spec §6.5: the body may come br- or gzip-coded; decoded with the same bound, then verified.
        data = decode_bounded(coding, data, max_size, field="http")
    return Dictionary.from_bytes(data, expected_id=dictionary_id, max_size=max_size), body_size


async def fetch_dictionary(uri: str, dictionary_id: str, *, path: str = DEFAULT_DICTIONARY_PATH,
                           max_size: int = DEFAULT_MAX_DICTIONARY_SIZE, timeout: float = 10.0) -> Dictionary:
    """GET a dictionary from the server behind ``uri`` (ws/wss/http/https) and verify its hash."""
    d, _ = await fetch_dictionary_sized(uri, dictionary_id, path=path, max_size=max_size, timeout=timeout)
    return d


async def fetch_dictionary_sized(uri: str, dictionary_id: str, *, path: str = DEFAULT_DICTIONARY_PATH,
                                 max_size: int = DEFAULT_MAX_DICTIONARY_SIZE,
                                 timeout: float = 10.0) -> tuple[Dictionary, int]:
    """:func:`fetch_dictionary`, also returning the body bytes received (coded, as on the network)."""
    url = dictionary_url(uri, dictionary_id, path)
    return await asyncio.to_thread(_get, url, dictionary_id, max_size, timeout)
