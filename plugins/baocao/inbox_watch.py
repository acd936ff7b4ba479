"""Notice new files in the inboxes within seconds: the trigger behind the intake's asset.

``InboxTrigger`` runs in Airflow's triggerer as the ``AssetWatcher`` of the ``baocao_inbox``
asset (``baocao.dag_defaults``); each event it yields updates the asset, and the intake DAG,
scheduled on that asset (and on a 5-minute cron as a safety net), starts a run. It lists
every active programme's ``<programme>/inbox/`` (and the shared bucket's old ``inbox/``)
every few seconds through the same ObjectStoragePath as the intake, so ``file://`` and
``s3://`` behave alike. A drop is a key that was not in the previous listing, or changed
size or time. After a first new file it waits until the listing has been quiet for
``settle_seconds`` (at most ``max_wait_seconds``), so several files dropped within a few
seconds make one event, hence one run. Listing happens in a worker thread: the triggerer's
event loop is never blocked. A listing that fails (bucket down) is logged once and retried
at the next poll; the cron still runs the intake, which fails loudly and alerts.

The trigger's arguments are constants of the DAG file; what to list is read from the
settings (``BAOCAO_BUCKET_URL``, ``BAOCAO_PROGRAMMES``…) in the triggerer at run time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

log = logging.getLogger(__name__)
OLD_PLACE = ""  # label of the shared bucket's old inbox/ in a listing
Listing = dict[str, tuple[str, Any, str]]  # key -> (label, size, time and ETag)


def inbox_urls() -> list[tuple[str, str]]:
    """(label, URL) of every inbox to watch: each active programme's, then the old one."""
    from baocao import layout
    from baocao.config import active_programmes

    out = []
    for code in active_programmes():
        try:
            out.append((code, f"{layout.programme_url(code)}/{layout.INBOX}"))
        except ValueError as exc:  # a code that cannot name a folder: its tasks say so
            log.warning("not watching programme %s: %s", code, exc)
    shared = layout.shared_bucket_url()
    if shared is not None:
        out.append((OLD_PLACE, f"{shared}/{layout.INBOX}"))
    return out


def list_inboxes(urls: list[tuple[str, str]]) -> Listing:
    """Every waiting file under ``urls`` (lock, hidden and partial files skipped)."""
    from baocao.bucket import bucket_root
    from baocao.layout import IGNORED_PREFIXES

    out: Listing = {}
    for label, url in urls:
        root = bucket_root(url)
        fs, path = root.fs, root.path
        fs.invalidate_cache(path)  # object stores cache listings: always ask again
        try:
            found = fs.find(path, detail=True)
        except FileNotFoundError:
            continue
        for key, info in found.items():
            if info.get("type", "file") != "file":
                continue
            if key.rsplit("/", 1)[-1].startswith(IGNORED_PREFIXES):
                continue
            # a file sent again under the same name within the store's one-second
            # LastModified still changes its ETag (S3) or modification time (local)
            stamp = f"{info.get('mtime') or info.get('LastModified')} {info.get('ETag', '')}"
            out[key] = (label, info.get("size"), stamp)
    return out


class InboxWatch:
    """The watcher's memory between polls (plain code, testable without a triggerer)."""

    def __init__(self) -> None:
        self.previous: Listing = {}
        self.failing = False

    def poll(self) -> Listing:
        """The files new or changed since the previous poll ({} when the listing fails)."""
        try:
            current = list_inboxes(inbox_urls())
        except Exception as exc:  # noqa: BLE001 - keep watching; the cron run alerts
            if not self.failing:
                log.warning("inbox listing failed, retrying at each poll: %s", exc)
            self.failing = True
            return {}
        if self.failing:
            log.warning("inbox listing works again")
            self.failing = False
        new = {k: v for k, v in current.items() if self.previous.get(k) != v}
        self.previous = current
        return new


def event_payload(files: Listing) -> dict[str, Any]:
    """What an event tells the intake: which programmes got files, and whether some were
    dropped in the old place."""
    labels = {label for label, _size, _stamp in files.values()}
    return {"files": len(files), "programmes": sorted(labels - {OLD_PLACE}),
            "old_place": OLD_PLACE in labels}


class InboxTrigger(BaseEventTrigger):
    """Yields one event per burst of drops into any watched inbox (see the module's doc)."""

    def __init__(self, poll_seconds: float = 2.0, settle_seconds: float = 2.0,
                 max_wait_seconds: float = 20.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.poll_seconds = poll_seconds
        self.settle_seconds = settle_seconds
        self.max_wait_seconds = max_wait_seconds

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}",
                {"poll_seconds": self.poll_seconds, "settle_seconds": self.settle_seconds,
                 "max_wait_seconds": self.max_wait_seconds})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        watch = InboxWatch()
        while True:
            new = await asyncio.to_thread(watch.poll)
            if new:
                batch = dict(new)
                started = time.monotonic()
                while time.monotonic() - started < self.max_wait_seconds:
                    await asyncio.sleep(self.settle_seconds)
                    more = await asyncio.to_thread(watch.poll)
                    if not more:
                        break
                    batch.update(more)
                payload = event_payload(batch)
                self.log.info("new files in the inbox: %s", payload)
                yield TriggerEvent(payload)
            await asyncio.sleep(self.poll_seconds)
