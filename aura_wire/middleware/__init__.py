"""ASGI adapter of the AURA session (spec/session.md §3): :class:`AuraMiddleware`.

I/O adapter only: it moves ASGI messages between the server, the sans-I/O
:class:`~aura_wire.session.Session` and the application.
"""

from aura_wire.middleware.asgi import AuraMiddleware
from aura_wire.middleware.connection import AuraConnection, ConnectionGone, connection_of
from aura_wire.middleware.endpoint import DEFAULT_DICTIONARY_PATH

__all__ = ["AuraConnection", "AuraMiddleware", "ConnectionGone", "DEFAULT_DICTIONARY_PATH", "connection_of"]
