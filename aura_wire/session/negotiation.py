"""Subprotocol negotiation for the AURA subprotocol route (spec/session.md §3).

The client offers ``aura.v1`` (no application subprotocol) or
``aura.v1.<app>`` for each application subprotocol ``<app>``, usually
followed by the plain ``<app>`` values as a fallback for servers without
AURA.  The server side strips the prefix so the application sees (and
selects among) plain application subprotocols; the selection is then mapped
back.  AURA is on exactly when the selected subprotocol is ``aura.v1`` or
starts with ``aura.v1.``.

Pure functions on strings; no I/O here.
"""

from __future__ import annotations

from typing import Final, NamedTuple, Sequence

__all__ = [
    "AURA_SUBPROTOCOL",
    "DICTIONARY_PATH",
    "Hints",
    "CODINGS",
    "MAX_HAVE",
    "hint_tokens",
    "parse_hints",
    "client_offer",
    "split_offer",
    "server_select",
    "parse_selected",
]

AURA_SUBPROTOCOL: Final = "aura.v1"
_PREFIX: Final = AURA_SUBPROTOCOL + "."
#: Fixed path prefix of the HTTP dictionary endpoint: ``GET /_aura/dict/<id>`` (spec §6.5).
DICTIONARY_PATH: Final = "/_aura/dict/"


#: Hint tokens a client appends to its offer (spec §3.4); never selected, stripped before the app sees them.
_HINT_PREFIX: Final = "aura."
_HAVE: Final = "aura.have."
_DECODES: Final = "aura.decodes."
_CODING: Final = "aura.coding."
#: In-band transfer codings (spec §4.3.1), by name, with their HELLO ``transfer_coding`` value (§4.1.2).
CODINGS: Final = {"br": 1, "gzip": 2}
#: At most this many ``aura.have`` hints count (spec §3.4).
MAX_HAVE: Final = 4
_HEX: Final = frozenset("0123456789abcdef")


class Hints(NamedTuple):
    """What a client says in its offer (spec §3.4): held dictionaries, decoded methods, transfer codings.

    ``decodes`` is the method bit mask (bit n: method n of spec/wire-format.md §3), None when
    the client did not restrict it.
    """

    have: tuple[str, ...] = ()
    decodes: int | None = None
    codings: tuple[str, ...] = ()


def hint_tokens(hints: Hints) -> list[str]:
    """The hint tokens for ``hints``, in the order spec §3.4 gives (append them after the offer)."""
    out = [_HAVE + did for did in hints.have[:MAX_HAVE]]
    if hints.decodes is not None:
        out.append(_DECODES + format(hints.decodes, "x"))
    out += [_CODING + c for c in hints.codings]
    return out


def _is_hint(p: str) -> bool:
    return p.startswith(_HINT_PREFIX) and p != AURA_SUBPROTOCOL and not p.startswith(_PREFIX)


def parse_hints(offered: Sequence[str]) -> Hints | None:
    """Server side: the client's hints (spec §3.4); None when ``aura.decodes`` is unusable.

    Unparsable, repeated or surplus ``aura.have``/``aura.coding`` hints are ignored;
    a malformed or repeated ``aura.decodes``, or one without RAW, returns None: the
    server must then not select AURA.
    """
    have: list[str] = []
    codings: list[str] = []
    decodes: int | None = None
    seen_decodes = False
    for p in offered:
        if p.startswith(_HAVE):
            did = p[len(_HAVE):]
            if len(did) == 64 and set(did) <= _HEX and did not in have and len(have) < MAX_HAVE:
                have.append(did)
        elif p.startswith(_DECODES):
            mask = p[len(_DECODES):]
            if seen_decodes or not 1 <= len(mask) <= 4 or not set(mask) <= _HEX or (len(mask) > 1 and mask[0] == "0"):
                return None
            seen_decodes = True
            decodes = int(mask, 16)
            if not decodes & 1:
                return None
        elif p.startswith(_CODING):
            name = p[len(_CODING):]
            if name in CODINGS and name not in codings:
                codings.append(name)
    return Hints(tuple(have), decodes, tuple(codings))


def client_offer(app_subprotocols: Sequence[str] = (), *, fallback: bool = True) -> list[str]:
    """Subprotocols a client offers: ``aura.v1.<app>`` for each app protocol, or ``aura.v1``.

    With ``fallback`` the plain application subprotocols follow, so a server
    without AURA can still pick one and the connection works unchanged.
    """
    if not app_subprotocols:
        return [AURA_SUBPROTOCOL]
    offer = [_PREFIX + p for p in app_subprotocols]
    if fallback:
        offer += [p for p in app_subprotocols if p not in offer]
    return offer


def split_offer(offered: Sequence[str]) -> tuple[bool, list[str]]:
    """Server side: ``(aura offered?, subprotocols the application sees)``.

    ``aura.v1`` disappears, ``aura.v1.<app>`` becomes ``<app>``, hint tokens
    (``aura.*``, spec §3.4) disappear, others stay; duplicates are removed, order kept.
    """
    aura = False
    seen: list[str] = []
    for p in offered:
        if _is_hint(p):
            continue  # hints (spec §3.4) never reach the application
        if p == AURA_SUBPROTOCOL:
            aura = True
            continue
        if p.startswith(_PREFIX) and len(p) > len(_PREFIX):
            aura = True
            p = p[len(_PREFIX):]
        if p not in seen:
            seen.append(p)
    return aura, seen


def server_select(offered: Sequence[str], app_choice: str | None) -> tuple[str | None, bool]:
    """Map the application's choice back to the wire: ``(subprotocol to send, AURA on?)``.

    AURA is on when the client offered ``aura.v1.<choice>`` (or ``aura.v1`` and
    the application chose none).  Otherwise the application's choice goes out
    unchanged and the connection is plain.
    """
    if app_choice is None:
        if AURA_SUBPROTOCOL in offered:
            return AURA_SUBPROTOCOL, True
        return None, False
    if _PREFIX + app_choice in offered:
        return _PREFIX + app_choice, True
    return app_choice, False


def parse_selected(selected: str | None) -> tuple[bool, str | None]:
    """Client side: ``(AURA on?, application subprotocol)`` from the server's selection."""
    if selected is None:
        return False, None
    if selected == AURA_SUBPROTOCOL:
        return True, None
    if selected.startswith(_PREFIX) and len(selected) > len(_PREFIX):
        return True, selected[len(_PREFIX):]
    return False, selected
