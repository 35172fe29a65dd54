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
[fx]
base = "EUR"
# Euros one unit is worth, as a company's [fx] section carries them (ECB euro reference rates of
# late 2025, rounded): the bank fee ceiling of 100.00 is in euros and converted by these.
[fx.rates]
USD = "0.862"
GBP = "1.149"
CHF = "1.075"
SEK = "0.0913"
NOK = "0.0855"
DKK = "0.1340"
PLN = "0.236"
CZK = "0.0411"
CNY = "0.1215"
JPY = "0.0056"
"""


def hub(*args: str, cwd: Path) -> str:
    """Run one ``hub`` command in a fresh process (as a user would) and return its output."""
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout
