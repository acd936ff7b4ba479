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
    # How clerks reach the bucket in production, printed on forms and in README.txt: the
    # MinIO console they log in to (e.g. https://baocao.langson.gov.vn:9001) and the S3 API
    # address for `mc alias set` (e.g. https://s3.baocao.langson.gov.vn). Empty: not shown.
    upload_console_url: str = ""
    upload_endpoint_url: str = ""
    programmes_dir: Path = REPO / "include" / "programmes"
    templates_dir: Path = REPO / "include" / "templates"
    sql_dir: Path = REPO / "include" / "sql"
    data_docs_dir: Path = REPO / "var" / "data_docs"
    default_programme: str = "lang-son"
    engineers_email: str = ""  # failure alerts (comma-separated addresses)
    mail_from: str = "baocao@localhost"
    smtp_conn_id: str = "smtp_default"  # Airflow connection of the SMTP server


@lru_cache(maxsize=1)
def settings() -> Settings:
    """Settings read once per process from ``BAOCAO_*`` environment variables."""
    values = {}
    for name in Settings.model_fields:
        env = os.environ.get(f"BAOCAO_{name.upper()}")
        if env:
            values[name] = env
    return Settings(**values)
