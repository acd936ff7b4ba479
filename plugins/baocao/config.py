"""Runtime settings from the environment (prefix ``BAOCAO_``), with embedded defaults."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel

REPO = Path(__file__).resolve().parents[2]


class Settings(BaseModel):
    """Where the pipeline reads and writes; each can be overridden by ``BAOCAO_<NAME>``."""

    warehouse_url: str = f"sqlite:///{REPO / 'var' / 'warehouse.sqlite'}"
    bucket_url: str = f"file://{REPO / 'var' / 'bucket'}"
    outbox_url: str = f"file://{REPO / 'var' / 'outbox'}"
    bucket_conn_id: str | None = None  # Airflow connection for s3:// (e.g. aws_default)
    programmes_dir: Path = REPO / "include" / "programmes"
    templates_dir: Path = REPO / "include" / "templates"
    sql_dir: Path = REPO / "include" / "sql"
    data_docs_dir: Path = REPO / "var" / "data_docs"
    default_programme: str = "lang-son"
    engineers_email: str = ""  # failure alerts (comma-separated addresses)
    mail_from: str = "baocao@localhost"
    smtp_conn_id: str = "smtp_default"  # Airflow connection of the SMTP server
    intake_workers: int = 0  # processes reading received files; 0: the cores, at most 4
    intake_worker_memory_mb: int = 1024  # memory a reader may use above its start
    intake_worker_seconds: int = 60  # CPU seconds a reader may spend on one file


@lru_cache(maxsize=1)
def settings() -> Settings:
    """Settings read once per process from ``BAOCAO_*`` environment variables."""
    values = {}
    for name in Settings.model_fields:
        env = os.environ.get(f"BAOCAO_{name.upper()}")
        if env:
            values[name] = env
    return Settings(**values)
