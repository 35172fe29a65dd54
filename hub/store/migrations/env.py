"""Alembic environment: runs against the engine the hub hands over (``config.attributes["engine"]``)."""

from __future__ import annotations

from alembic import context

from hub.store.schema import metadata

engine = context.config.attributes.get("engine")
if engine is None:  # invoked by the alembic CLI: fall back to sqlalchemy.url from alembic.ini
    from sqlalchemy import engine_from_config, pool

    engine = engine_from_config(
        context.config.get_section(context.config.config_ini_section) or {},
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
