"""The ``permessage-aura`` WebSocket extension for code built directly on websockets (spec/session.md §9).

Adapter only: the codec and the session do the work.  See
:mod:`aura_wire.extension.permessage_aura`.
"""

from aura_wire.extension.permessage_aura import (
    EXTENSION_NAME,
    ClientDeflateFactory,
    ClientPerMessageAuraFactory,
    PerMessageAura,
    ServerDeflateFactory,
    ServerPerMessageAuraFactory,
    client_extensions,
    dictionary_endpoint,
    server_extensions,
)

__all__ = [
    "EXTENSION_NAME",
    "PerMessageAura",
    "ServerPerMessageAuraFactory",
    "ClientPerMessageAuraFactory",
    "ServerDeflateFactory",
    "ClientDeflateFactory",
    "server_extensions",
    "client_extensions",
    "dictionary_endpoint",
]
