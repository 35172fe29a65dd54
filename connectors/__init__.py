"""Connectors shipped with the hub; each registers through the ``hub`` entry-point group."""
