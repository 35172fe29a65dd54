"""Small bundled workload for ``hub demo``."""
