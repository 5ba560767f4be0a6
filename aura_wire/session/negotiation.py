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

from typing import Final, Sequence

__all__ = [
    "AURA_SUBPROTOCOL",
    "DICTIONARY_PATH",
    "client_offer",
    "split_offer",
    "server_select",
    "parse_selected",
]

AURA_SUBPROTOCOL: Final = "aura.v1"
_PREFIX: Final = AURA_SUBPROTOCOL + "."
#: Fixed path prefix of the HTTP dictionary endpoint: ``GET /_aura/dict/<id>`` (spec §6.5).
DICTIONARY_PATH: Final = "/_aura/dict/"


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

    ``aura.v1`` disappears, ``aura.v1.<app>`` becomes ``<app>``, others stay;
    duplicates are removed, order kept.
    """
    aura = False
    seen: list[str] = []
    for p in offered:
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
