"""Alembic environment: runs on the connection handed in by ``baocao.warehouse.db``."""

from alembic import context
from sqlalchemy import create_engine

from baocao.warehouse.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url"))
        with engine.begin() as conn:
            _run(conn)
    else:
        _run(connection)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        # one transaction per revision: a kill leaves the previous revision whole (on
        # SQLite the caller's connection makes DDL transactional, see warehouse.db)
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
