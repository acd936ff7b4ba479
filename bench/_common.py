"""Shared helpers of the benchmarks: temporary warehouse URLs and a result table."""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
PG = os.environ.get("BAOCAO_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def sqlite_url() -> str:
    return f"sqlite:///{tempfile.mkdtemp(prefix='baocao-bench-')}/wh.sqlite"


def postgres_url() -> tuple[str, str]:
    """A fresh schema in the local PostgreSQL (dropped with ``drop_schema``)."""
    import sqlalchemy as sa

    schema = f"baocao_bench_{uuid.uuid4().hex[:8]}"
    with sa.create_engine(PG).begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    return f"{PG}?options=-csearch_path%3D{schema}", schema


def drop_schema(schema: str) -> None:
    import sqlalchemy as sa

    with sa.create_engine(PG).begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


def table(rows: list[tuple[str, str]]) -> None:
    print("| measure | value |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")
