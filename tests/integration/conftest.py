"""Fixtures of the integration lane: warehouses on SQLite and the local PostgreSQL, and
Airflow's metadata database for ``dag.test()``.

PostgreSQL is required here: when it is not reachable the tests that use it fail (they are
never skipped); ``make test-unit`` needs no service.
"""

from __future__ import annotations

import uuid

import pytest
from support import PG_BASE, pg_schema, postgres_problem


@pytest.fixture(scope="session")
def pg_schema_url():
    """A fresh schema in the local PostgreSQL for this test run; dropped afterwards.
    A missing PostgreSQL fails the tests that use it."""
    import sqlalchemy as sa

    problem = postgres_problem()
    if problem:
        pytest.fail(f"PostgreSQL is required by this test and is not reachable at {PG_BASE} "
                    f"(start it, or set BAOCAO_TEST_POSTGRES): {problem}")
    schema = f"baocao_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_BASE)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    yield f"{PG_BASE}?options=-csearch_path%3D{schema}", schema
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def warehouse_url(request, tmp_path):
    """A migrated, empty warehouse on each database (fresh per test)."""
    from baocao.warehouse.db import get_engine, migrate

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'wh.sqlite'}"
        migrate(url)
        yield url
        get_engine(url).dispose()
        return
    _base_url, base_schema = request.getfixturevalue("pg_schema_url")
    with pg_schema(PG_BASE, f"{base_schema}_{uuid.uuid4().hex[:6]}") as url:
        yield url


@pytest.fixture
def wh(warehouse_url, programme):
    """An engine on a migrated warehouse (each database) that knows the programme's units."""
    from baocao.warehouse.db import get_engine
    from baocao.warehouse.merge import sync_programme

    engine = get_engine(warehouse_url)
    sync_programme(engine, programme)
    return engine


@pytest.fixture(scope="session")
def airflow_db():
    """A migrated Airflow metadata DB (SQLite) for dag.test()."""
    from airflow.utils import db

    db.resetdb()
    return True
