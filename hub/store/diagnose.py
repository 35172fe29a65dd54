"""Database errors as one line a person can act on (the driver's text is kept, its traceback is not)."""

from __future__ import annotations

import sqlalchemy as sa


def describe_db_error(exc: sa.exc.SQLAlchemyError, url: str | None = None) -> str:
    """One line for a database error a command could not recover from."""
    orig = getattr(exc, "orig", None)
    lines = str(orig if orig is not None else exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    lowered = text.lower()
    where = f" {url}" if url else ""
    if "database is locked" in lowered or "database is busy" in lowered:
        return (
            f"the database{where} is busy: another hub command has been writing to it for longer than the "
            "busy timeout ([database] busy_timeout_seconds); try again when it has finished"
        )
    if "file is not a database" in lowered or "disk image is malformed" in lowered:
        return f"the database file{where} is not an SQLite database or is damaged ({text})"
    if "connection failed" in lowered or "could not connect" in lowered or "connection refused" in lowered:
        return f"cannot connect to the database{where}: {text}"
    if "unable to open database file" in lowered:
        return f"cannot open the database file{where}: check that its folder exists and is writable ({text})"
    return f"database error: {text}"
