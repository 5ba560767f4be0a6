"""The ``permessage-aura`` WebSocket extension for code built directly on websockets (spec/session.md §9).

Adapter only: the codec and the session do the work.  See
:mod:`aura_wire.extension.permessage_aura`, whose public names (its ``__all__``) are
re-exported here (``import X as X``: an explicit re-export for type checkers).
"""

from aura_wire.extension.permessage_aura import EXTENSION_NAME as EXTENSION_NAME
from aura_wire.extension.permessage_aura import ClientDeflateFactory as ClientDeflateFactory
from aura_wire.extension.permessage_aura import ClientPerMessageAuraFactory as ClientPerMessageAuraFactory
from aura_wire.extension.permessage_aura import PerMessageAura as PerMessageAura
from aura_wire.extension.permessage_aura import ServerDeflateFactory as ServerDeflateFactory
from aura_wire.extension.permessage_aura import ServerPerMessageAuraFactory as ServerPerMessageAuraFactory
from aura_wire.extension.permessage_aura import client_extensions as client_extensions
from aura_wire.extension.permessage_aura import dictionary_endpoint as dictionary_endpoint
from aura_wire.extension.permessage_aura import server_extensions as server_extensions
from aura_wire.extension.permessage_aura import __all__ as __all__
