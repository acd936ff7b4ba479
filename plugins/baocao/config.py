"""Runtime settings from the environment (prefix ``BAOCAO_``), with embedded defaults.

Where the defaults point:

- ``include/`` (programmes, templates, SQL): ``BAOCAO_INCLUDE_DIR`` if set; else the
  checkout's ``include/`` when the package runs from the repository (``make venv``'s editable
  install, or ``plugins/`` on ``sys.path``); else the copy installed with the wheel,
  ``<prefix>/share/baocao/include`` (found through the distribution's file list, so a
  ``--user`` or virtualenv install is found too).
- ``var/`` (SQLite warehouse, local bucket and outbox, data docs): the checkout's ``var/``;
  for an installed package, ``var/`` of the current directory. Production sets them all
  (``docker-compose.yaml``).
"""

from __future__ import annotations

import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path, PurePosixPath

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DISTRIBUTION = "baocao"
_INSTALLED_INCLUDE = ("share", "baocao", "include")  # data-files target in pyproject.toml


def _checkout_root() -> Path | None:
    """The repository this module is read from, or None for an installed package."""
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file() and (root / "include" / "programmes").is_dir():
        return root
    return None


REPO: Path | None = _checkout_root()  # None when the package is installed (a wheel)


def installed_include_dir() -> Path | None:
    """``share/baocao/include`` as installed with the distribution, if it is there."""
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None
    n = len(_INSTALLED_INCLUDE)
    for file in dist.files or ():
        parts = PurePosixPath(str(file)).parts  # relative to site-packages: ../../../share/…
        for i in range(len(parts) - n):
            if parts[i:i + n] == _INSTALLED_INCLUDE:
                path = Path(dist.locate_file(PurePosixPath(*parts[:i + n]))).resolve()
                return path if path.is_dir() else None
    return None


def find_include_dir() -> Path:
    """The folder of programmes, templates and SQL when ``BAOCAO_INCLUDE_DIR`` is not set."""
    if REPO is not None:
        return REPO / "include"
    installed = installed_include_dir()
    # nothing found: the conventional place, so that errors name a path worth checking
    return installed or Path(sys.prefix, *_INSTALLED_INCLUDE)


def var_dir() -> Path:
    """Where the local defaults keep their data: the checkout's ``var/``, else ``./var``."""
    return (REPO if REPO is not None else Path.cwd()) / "var"


class Settings(BaseSettings):
    """Where the pipeline reads and writes; each can be overridden by ``BAOCAO_<NAME>``.

    An empty variable counts as unset (the default applies).
    """

    model_config = SettingsConfigDict(env_prefix="BAOCAO_", env_ignore_empty=True)

    warehouse_url: str = Field(
        default_factory=lambda: f"sqlite:///{var_dir() / 'warehouse.sqlite'}")
    bucket_url: str = Field(default_factory=lambda: f"file://{var_dir() / 'bucket'}")
    outbox_url: str = Field(default_factory=lambda: f"file://{var_dir() / 'outbox'}")
    bucket_conn_id: str | None = None  # Airflow connection for s3:// (e.g. aws_default)
    # How clerks reach the bucket in production, printed on forms and in README.txt: the
    # MinIO console they log in to (e.g. https://baocao.langson.gov.vn:9001) and the S3 API
    # address for `mc alias set` (e.g. https://s3.baocao.langson.gov.vn). Empty: not shown.
    upload_console_url: str = ""
    upload_endpoint_url: str = ""
    # The package's data (see the module's docstring); each folder can be moved on its own.
    include_dir: Path = Field(default_factory=find_include_dir)
    programmes_dir: Path = Field(default_factory=lambda data: data["include_dir"] / "programmes")
    templates_dir: Path = Field(default_factory=lambda data: data["include_dir"] / "templates")
    sql_dir: Path = Field(default_factory=lambda data: data["include_dir"] / "sql")
    data_docs_dir: Path = Field(default_factory=lambda: var_dir() / "data_docs")
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
    return Settings()


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
