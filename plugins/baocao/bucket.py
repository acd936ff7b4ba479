"""The bucket and the outbox as storage: roots, arrival times, moves.

``baocao.layout`` says *where* things go (paths as strings); this module opens those places
through Airflow's ``ObjectStoragePath`` so that a local folder (``file://``, the embedded
default) and S3/MinIO (``s3://``, production) behave alike. Roots are built at call time,
never at import.
"""

from __future__ import annotations

from datetime import UTC, datetime

from baocao import layout
from baocao.timezone import aware


def bucket_root(url: str | None = None, conn_id: str | None = None):
    """The bucket as an ObjectStoragePath (``BAOCAO_BUCKET_URL`` unless ``url`` is given)."""
    from airflow.sdk import ObjectStoragePath

    from baocao.config import settings

    cfg = settings()
    return ObjectStoragePath(url or cfg.bucket_url, conn_id=conn_id or cfg.bucket_conn_id)


def programme_root(programme: str, bucket_url: str | None = None):
    """A programme's root in the bucket (``<bucket>/<programme>/``, see ``baocao.layout``):
    every path the intake writes and the warehouse records is relative to it."""
    return bucket_root(layout.programme_url(programme, bucket_url))


def outbox_root(url: str | None = None, conn_id: str | None = None):
    """The outbox as an ObjectStoragePath (``file://`` by default, ``s3://`` in production)."""
    from airflow.sdk import ObjectStoragePath

    from baocao.config import settings

    cfg = settings()
    return ObjectStoragePath(url or cfg.outbox_url, conn_id=conn_id or cfg.bucket_conn_id)


def arrival_time(path) -> datetime:
    """When an object arrived: its modification time (``info_time`` of its details)."""
    return info_time(path.stat())


def info_time(info) -> datetime:
    """The last-modified time in a store's file details, which the local filesystem and S3
    give under different names; now when the store gives none."""
    get = info.get if hasattr(info, "get") else lambda k, d=None: getattr(info, k, d)
    value = get("mtime") or get("LastModified") or get("last_modified") or get("created")
    if isinstance(value, datetime):
        return aware(value)
    if value is None:
        return datetime.now(UTC)
    return datetime.fromtimestamp(float(value), UTC)


def relative(path, parent) -> str:
    """``path``'s key below ``parent`` (both ObjectStoragePaths), without a leading slash."""
    return str(path.path)[len(str(parent.path)):].lstrip("/")


def key(root, rel: str) -> str:
    """The store's key of ``rel`` under ``root`` (what its file system takes)."""
    return f"{root.path.rstrip('/')}/{rel}"


def move(src, dst) -> None:
    """Move within the bucket without a window where the object exists nowhere: a copy by
    the store itself (S3 CopyObject; nothing passes through this process), then the source
    is deleted. A copy left by an interrupted earlier move is overwritten."""
    _move(src.fs, src.path, dst.path)


def move_key(root, rel: str, to: str) -> None:
    """``move`` of the keys ``rel`` to ``to`` under ``root`` (no path objects made: the
    intake moves thousands of files a run)."""
    _move(root.fs, key(root, rel), key(root, to))


def _move(fs, source: str, target: str) -> None:
    fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
    fs.copy(source, target)
    fs.rm_file(source)
