"""``python -m hub.cli``: the ``hub`` command."""

from hub.cli import entry

entry()
