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


#: A hub over the four files every generator writes (customers.csv, invoices.csv, statement.xml).
HUB_CONFIG = """\
[database]
url = "sqlite:///hub.db"
[connectors.erp]
type = "csv"
customers = "customers.csv"
invoices = "invoices.csv"
[connectors.bank]
type = "bank-files"
path = "statement.xml"
"""


def hub(*args: str, cwd: Path) -> str:
    """Run one ``hub`` command in a fresh process (as a user would) and return its output."""
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout
