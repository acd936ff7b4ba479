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
    """When an object arrived: its modification time, as the local filesystem and S3 give it
    under different names; now when the store gives none."""
    st = path.stat()
    get = st.get if hasattr(st, "get") else lambda k, d=None: getattr(st, k, d)
    value = get("mtime") or get("LastModified") or get("last_modified") or get("created")
    if isinstance(value, datetime):
        return aware(value)
    if value is None:
        return datetime.now(UTC)
    return datetime.fromtimestamp(float(value), UTC)


def relative(path, parent) -> str:
    """``path``'s key below ``parent`` (both ObjectStoragePaths), without a leading slash."""
    return str(path.path)[len(str(parent.path)):].lstrip("/")


def move(src, dst) -> None:
    """Move within the bucket without a window where the object exists nowhere: a streamed
    copy (``ObjectStoragePath.copy``) first, then the source is deleted. A copy left by an
    interrupted earlier move is overwritten."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    src.copy(dst)
    src.unlink()
