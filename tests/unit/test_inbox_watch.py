"""The inbox watcher behind the event-driven intake, run here without a triggerer: what it
lists, when it fires, and that several drops within a few seconds make one event."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from baocao.inbox_watch import InboxTrigger, InboxWatch, event_payload, inbox_urls


@pytest.fixture
def bucket(baocao_env, tmp_path):
    folder = tmp_path / "bucket"
    baocao_env(bucket_url=f"file://{folder}", programmes="lang-son,ha-tinh")
    return folder


def _put(path, data: bytes = b"x") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_it_watches_each_active_programme_and_the_old_inbox(bucket):
    assert inbox_urls() == [("lang-son", f"file://{bucket}/lang-son/inbox"),
                            ("ha-tinh", f"file://{bucket}/ha-tinh/inbox"),
                            ("", f"file://{bucket}/inbox")]


def test_a_poll_reports_new_and_changed_files_only(bucket):
    watch = InboxWatch()
    assert watch.poll() == {}  # nothing there yet (no folder at all)
    _put(bucket / "lang-son" / "inbox" / "SNV" / "a.xlsx")
    _put(bucket / "lang-son" / "inbox" / "SNV" / "~$a.xlsx")  # Excel's lock file
    _put(bucket / "ha-tinh" / "inbox" / "SNV" / "_upload.part")  # a partial upload
    _put(bucket / "thai-nguyen" / "inbox" / "SNV" / "b.xlsx")  # not switched on
    _put(bucket / "lang-son" / "receipts" / "SNV" / "a.html")  # not an inbox
    first = watch.poll()
    assert [v[0] for v in first.values()] == ["lang-son"]
    assert watch.poll() == {}  # unchanged: nothing new
    _put(bucket / "ha-tinh" / "inbox" / "SNV" / "a.xlsx")
    _put(bucket / "inbox" / "SNV" / "old.xlsx")
    new = watch.poll()
    assert event_payload(new) == {"files": 2, "programmes": ["ha-tinh"], "old_place": True}
    _put(bucket / "lang-son" / "inbox" / "SNV" / "a.xlsx", b"sent again, other bytes")
    assert len(watch.poll()) == 1
    (bucket / "lang-son" / "inbox" / "SNV" / "a.xlsx").unlink()  # taken by the intake
    assert watch.poll() == {}
    _put(bucket / "lang-son" / "inbox" / "SNV" / "a.xlsx")  # the same name dropped again
    assert len(watch.poll()) == 1


def test_a_failing_listing_is_survived(bucket, monkeypatch):
    from baocao import inbox_watch

    real, down = inbox_watch.list_inboxes, [True]

    def flaky(urls):
        if down[0]:
            raise ConnectionError("minio:9000")
        return real(urls)

    monkeypatch.setattr(inbox_watch, "list_inboxes", flaky)
    watch = InboxWatch()
    assert watch.poll() == {} and watch.failing
    _put(bucket / "lang-son" / "inbox" / "SNV" / "a.xlsx")
    down[0] = False
    assert len(watch.poll()) == 1 and not watch.failing


def test_drops_within_a_few_seconds_make_one_event(bucket):
    trigger = InboxTrigger(poll_seconds=0.1, settle_seconds=0.6, max_wait_seconds=5)
    assert trigger.serialize() == ("baocao.inbox_watch.InboxTrigger", {
        "poll_seconds": 0.1, "settle_seconds": 0.6, "max_wait_seconds": 5})

    def drops(names, gap):
        for name in names:
            _put(bucket / "lang-son" / "inbox" / "SNV" / name)
            time.sleep(gap)

    async def events(count):
        got = []
        gen = trigger.run()
        try:
            for _ in range(count):
                got.append((await asyncio.wait_for(anext(gen), 10)).payload)
        finally:
            await gen.aclose()
        return got

    async def scenario():
        task = asyncio.create_task(events(2))
        await asyncio.sleep(0.3)  # the watcher has seen the empty inbox
        burst = threading.Thread(target=drops, args=(["1.xlsx", "2.xlsx", "3.xlsx"], 0.2))
        burst.start()
        await asyncio.sleep(2.5)  # the burst is over and answered by then
        burst.join()
        await asyncio.to_thread(drops, ["4.xlsx"], 0)
        return await task

    first, second = asyncio.run(scenario())
    assert first == {"files": 3, "programmes": ["lang-son"], "old_place": False}
    assert second == {"files": 1, "programmes": ["lang-son"], "old_place": False}


def test_the_event_loop_is_not_blocked_while_listing(bucket, monkeypatch):
    """A slow listing (an object store far away) runs in a thread: other coroutines of the
    triggerer keep running meanwhile."""
    def slow(_urls):
        time.sleep(0.5)
        return {}

    monkeypatch.setattr("baocao.inbox_watch.list_inboxes", slow)
    trigger = InboxTrigger(poll_seconds=0.05, settle_seconds=0.05, max_wait_seconds=1)

    async def scenario():
        gen = trigger.run()
        watcher = asyncio.create_task(anext(gen))
        ticks = 0
        started = time.monotonic()
        while time.monotonic() - started < 1.0:
            await asyncio.sleep(0.01)
            ticks += 1
        watcher.cancel()
        return ticks

    assert asyncio.run(scenario()) > 50
