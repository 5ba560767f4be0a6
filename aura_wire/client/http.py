"""Fetch a dictionary over plain HTTP from the middleware's endpoint (spec/session.md §6.5).

Blocking ``urllib`` run in a worker thread, bounded by size and time, and
verified against the id before it is returned.
"""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.parse
import urllib.request

from aura_wire.codec.dictionary import DEFAULT_MAX_DICTIONARY_SIZE, Dictionary
from aura_wire.errors import LimitError, UnknownDictionaryError
from aura_wire.session.negotiation import DICTIONARY_PATH as DEFAULT_DICTIONARY_PATH

__all__ = ["dictionary_url", "fetch_dictionary"]


def dictionary_url(uri: str, dictionary_id: str, path: str = DEFAULT_DICTIONARY_PATH) -> str:
    """The HTTP(S) URL of a dictionary on the server behind websocket ``uri``."""
    parts = urllib.parse.urlsplit(uri)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return urllib.parse.urlunsplit((scheme, parts.netloc, path + dictionary_id, "", ""))


def _get(url: str, dictionary_id: str, max_size: int, timeout: float) -> Dictionary:
    req = urllib.request.Request(url, headers={"Accept": "application/vnd.aura-wire.dictionary"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (http/https only)
            data = resp.read(max_size + 1)
    except urllib.error.HTTPError as exc:
        raise UnknownDictionaryError(f"GET {url} failed: HTTP {exc.code}", field="http") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise UnknownDictionaryError(f"GET {url} failed: {exc}", field="http") from exc
    if len(data) > max_size:
        raise LimitError(f"dictionary at {url} exceeds {max_size} bytes", field="http")
    return Dictionary.from_bytes(data, expected_id=dictionary_id, max_size=max_size)


async def fetch_dictionary(uri: str, dictionary_id: str, *, path: str = DEFAULT_DICTIONARY_PATH,
                           max_size: int = DEFAULT_MAX_DICTIONARY_SIZE, timeout: float = 10.0) -> Dictionary:
    """GET a dictionary from the server behind ``uri`` (ws/wss/http/https) and verify its hash."""
    url = dictionary_url(uri, dictionary_id, path)
    return await asyncio.to_thread(_get, url, dictionary_id, max_size, timeout)
