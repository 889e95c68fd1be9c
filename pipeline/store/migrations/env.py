"""Alembic environment: runs on the connection the store hands over (see pipeline.store.engine)."""

from __future__ import annotations

from alembic import context

from pipeline.store.engine import make_engine
from pipeline.store.tables import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # the alembic command line: a URL from -x url=...
        url = context.get_x_argument(as_dictionary=True).get("url", "sqlite:///callqa.db")
        with make_engine(url).begin() as connection:
            _run(connection)
        return
    _run(connection)


def _run(connection: object) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
