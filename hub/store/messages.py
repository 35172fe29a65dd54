"""The message ids behind the keys of stored reasons (``allocation.reasons``, ``message_key``).

Cash application stores each reason as its message's key and values (:func:`hub.i18n.messages_json`):
a few dozen ids, each up to 150 characters, were half of what a run stored. The ids live once in
``message_key``, written in the transaction that writes the reasons, and are read back to say them.
"""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa

from hub.i18n import keyed_ids
from hub.store import schema
from hub.store.bulk import dialect_insert


class MessageKeyClash(RuntimeError):
    """Two message ids with one key: the reasons stored under it could not be read back."""


def save_keys(conn: sa.Connection, ids: Mapping[str, str] | None = None) -> int:
    """Store the id of every key this process has written (``ids``: :func:`hub.i18n.keyed_ids`) that the
    store does not hold yet, in ``conn``'s transaction; how many were new. Two runs may store the same
    key at once: a key stored meanwhile is skipped."""
    ids = keyed_ids() if ids is None else ids
    held = load_keys(conn)
    for key, msgid in ids.items():
        if key in held and held[key] != msgid:
            raise MessageKeyClash(f"message key {key} names both {held[key]!r} and {msgid!r}")
    new = [{"key": key, "msgid": msgid} for key, msgid in ids.items() if key not in held]
    if new:
        insert = dialect_insert(conn.dialect, schema.message_key)
        conn.execute(insert.on_conflict_do_nothing(index_elements=["key"]), new)
    return len(new)


def load_keys(conn: sa.Connection) -> dict[str, str]:
    """The message id of every key the store holds."""
    table = schema.message_key
    return dict(conn.execute(sa.select(table.c.key, table.c.msgid)).all())
