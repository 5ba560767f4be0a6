"""``python -m aura_wire`` runs the ``aura-wire`` command."""

import sys

from aura_wire.tools.cli import main

sys.exit(main())
