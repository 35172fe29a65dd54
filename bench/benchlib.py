"""What the bench scripts share."""

from __future__ import annotations

import shutil
from pathlib import Path


def remove_store(folder: Path, name: str = "hub.db") -> None:
    """Delete an SQLite store with its WAL files and its lock folder (``<name>-locks``)."""
    for path in folder.glob(f"{name}*"):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
