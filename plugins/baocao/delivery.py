"""The outbox: where rendered reports are stored for recipients (and, later, e-mailed)."""

from __future__ import annotations


def outbox_root(url: str | None = None, conn_id: str | None = None):
    """The outbox as an ObjectStoragePath (``file://`` by default, ``s3://`` in production)."""
    from airflow.sdk import ObjectStoragePath

    from baocao.config import settings

    cfg = settings()
    return ObjectStoragePath(url or cfg.outbox_url, conn_id=conn_id or cfg.bucket_conn_id)


def store(root, rel: str, data: bytes) -> str:
    """Write ``data`` at ``rel`` under the outbox (replacing an earlier draft); its URL."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return str(path)
