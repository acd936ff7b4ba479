"""What a unit's status means to people: on time if its accepted report arrived by the
deadline, even when a correction comes later; versions count accepted files; files refused
before are counted; the labels are those of the status page."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from baocao.demo import fill_form
from baocao.parsing import parse_submission
from baocao.statuses import unit_labels
from baocao.warehouse.db import get_engine, migrate
from baocao.warehouse.merge import FileInfo, record_submission, sync_programme
from baocao.warehouse.readmodels import unit_statuses

STATUS_LABELS = unit_labels()

PERIOD = "2026-H1"


@pytest.fixture
def wh(tmp_path, programme):
    url = f"sqlite:///{tmp_path / 'wh.sqlite'}"
    migrate(url)
    engine = get_engine(url)
    sync_programme(engine, programme)
    yield engine
    engine.dispose()


def _send(engine, prog, unit, when: datetime, accepted: bool = True, late: bool = False,
          overstay: int | None = None) -> None:
    period = prog.period(PERIOD)
    overrides = None
    if overstay is not None:
        from baocao.demo import first_cell

        overrides = {("workers", first_cell(prog, unit, "W_OVERSTAY", "", "")): overstay}
    data = fill_form(prog, unit, period, overrides=overrides)
    parsed = parse_submission(data, prog, unit.code)
    record_submission(engine, prog, parsed, FileInfo(
        f"{when:%d%H%M}.xlsx", f"inbox/{unit.code}/x.xlsx", hashlib.sha256(data).hexdigest(),
        len(data), when), accepted=accepted, late=late, validation={})


def test_on_time_report_corrected_after_the_deadline_stays_on_time(wh, programme):
    period = programme.period(PERIOD)
    deadline = datetime.combine(period.deadline, datetime.min.time(), UTC)
    a, b, c = [u for u in programme.expected_units(period) if u.kind == "commune"][:3]
    _send(wh, programme, a, deadline - timedelta(days=4), accepted=False, overstay=1)
    _send(wh, programme, a, deadline - timedelta(days=2), overstay=2)
    _send(wh, programme, a, deadline + timedelta(days=3), late=True, overstay=3)
    _send(wh, programme, b, deadline + timedelta(days=2), late=True)
    _send(wh, programme, c, deadline - timedelta(days=1), accepted=False)
    got = {s.unit.code: s for s in unit_statuses(wh, programme, period)}
    first = got[a.code]
    assert first.status == "on_time" and first.label == "Đúng hạn"
    assert first.version == 2  # two accepted versions; the refused file is not a version
    assert first.refused_before == 1
    assert first.received_at.date() == (deadline - timedelta(days=2)).date()
    assert first.note == (f"bổ sung, thay thế ngày {deadline + timedelta(days=3):%d/%m/%Y} "
                          "(sau hạn); 1 tệp bị từ chối trước đó")
    assert got[b.code].status == "late"
    assert got[b.code].label == f"Nộp muộn (ngày {deadline + timedelta(days=2):%d/%m/%Y})"
    assert got[c.code].label == "Bị từ chối" and got[c.code].note == "1 tệp bị từ chối"
    others = [s for s in got.values() if s.unit.code not in (a.code, b.code, c.code)]
    assert {s.label for s in others} == {"Chưa nộp"}
    assert set(STATUS_LABELS.values()) == {"Đúng hạn", "Nộp muộn", "Chưa nộp", "Bị trả lại",
                                           "Bị từ chối"}
