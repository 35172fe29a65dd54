"""Declarative field maps (TOML), one per source record shape. Data only."""
