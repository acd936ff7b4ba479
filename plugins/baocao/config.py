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
    default_programme: str = "lang-son"  # the CLI's and the status page's default
    # The programmes this deployment serves: "all" (every programme file in programmes_dir)
    # or a comma-separated list of codes; programmes_off switches single ones off.
    programmes: str = "all"
    programmes_off: str = ""
    engineers_email: str = ""  # failure alerts (comma-separated addresses)
    mail_from: str = "baocao@localhost"
    smtp_conn_id: str = "smtp_default"  # Airflow connection of the SMTP server
    intake_workers: int = 0  # processes reading received files; 0: the cores, at most 4
    intake_worker_memory_mb: int = 1024  # memory a reader may use above its start
    intake_worker_seconds: int = 60  # CPU seconds a reader may spend on one file
    # above this many files in a programme's inbox, the intake is split into shares of unit
    # folders, one mapped task each (several Celery workers share it); 0: never split
    intake_share_files: int = 20000


@lru_cache(maxsize=1)
def settings() -> Settings:
    """Settings read once per process from ``BAOCAO_*`` environment variables."""
    values = {}
    for name in Settings.model_fields:
        env = os.environ.get(f"BAOCAO_{name.upper()}")
        if env:
            values[name] = env
    return Settings(**values)


def _codes(text: str) -> list[str]:
    return [c.strip() for c in text.replace(";", ",").split(",") if c.strip()]


def active_programmes() -> list[str]:
    """The codes of the programmes this deployment serves, read at call time.

    ``BAOCAO_PROGRAMMES=all`` takes every programme file of the programmes folder (not
    ``common.yaml``); a list names them (a listed code without a file is kept, so its tasks
    fail loudly instead of the programme silently not being served). ``BAOCAO_PROGRAMMES_OFF``
    switches programmes off in either case. Files are listed, not loaded: a broken file
    fails its own tasks, never the others'.
    """
    from baocao.programme import list_programme_files

    cfg = settings()
    off = set(_codes(cfg.programmes_off))
    wanted = _codes(cfg.programmes)
    if not wanted or [c.lower() for c in wanted] == ["all"]:
        wanted = [p.stem for p in list_programme_files(cfg.programmes_dir)]
    return [c for c in dict.fromkeys(wanted) if c not in off]
