"""The pipeline's status vocabulary and its Vietnamese labels, in one place.

Three things have a status:

- a **unit** for a period (``SubmissionStatus``): on time, late, missing, returned, rejected;
  the status page, the CLI, the reminders and the reports' annexes all show these labels;
- a **file** the intake answered (``Outcome``): accepted, rejected, already received
  (duplicate), returned; receipts, e-mails and the status page's last-receipt column;
- a **task** of the programme's plan, as a unit reported it (``TaskStatus``).

The values are the strings stored in the warehouse; members compare equal to them.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from baocao.timezone import to_local


class SubmissionStatus(StrEnum):
    """Where one expected unit stands for a period."""

    ON_TIME = "on_time"
    LATE = "late"
    MISSING = "missing"
    RETURNED = "returned"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        """The label every page and document uses ('Nộp muộn')."""
        return _UNIT_LABELS[self]

    def label_on(self, received_at: datetime | None) -> str:
        """The label with the day a late report arrived ('Nộp muộn (ngày 23/06/2026)')."""
        if self is SubmissionStatus.LATE and received_at is not None:
            return f"{self.label} (ngày {to_local(received_at):%d/%m/%Y})"
        return self.label


# Units needing someone's attention come first, in this order; then those on time.
NEEDS_ATTENTION = (SubmissionStatus.REJECTED, SubmissionStatus.RETURNED,
                   SubmissionStatus.MISSING, SubmissionStatus.LATE)

_UNIT_LABELS = {
    SubmissionStatus.ON_TIME: "Đúng hạn",
    SubmissionStatus.LATE: "Nộp muộn",
    SubmissionStatus.MISSING: "Chưa nộp",
    SubmissionStatus.RETURNED: "Bị trả lại",
    SubmissionStatus.REJECTED: "Bị từ chối",
}


class Outcome(StrEnum):
    """What the intake answered to one file."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    RETURNED = "returned"

    @property
    def label(self) -> str:
        """The outcome inside a sentence ('bị từ chối')."""
        return _OUTCOME_LABELS[self]

    @property
    def heading(self) -> str:
        """The receipt's banner: the outcome in capitals and what it means for the unit."""
        return _OUTCOME_HEADINGS[self]


_OUTCOME_LABELS = {
    Outcome.ACCEPTED: "đã tiếp nhận",
    Outcome.REJECTED: "bị từ chối",
    Outcome.DUPLICATE: "đã nhận trước đó",
    Outcome.RETURNED: "bị trả lại",
}
_OUTCOME_HEADINGS = {
    Outcome.ACCEPTED: "ĐÃ TIẾP NHẬN — báo cáo hợp lệ và đã được ghi nhận",
    Outcome.REJECTED: "BỊ TỪ CHỐI — báo cáo chưa được ghi nhận, đề nghị sửa lỗi và gửi lại",
    Outcome.DUPLICATE: "ĐÃ NHẬN TRƯỚC ĐÓ — tệp này trùng với tệp đơn vị đã gửi, "
                       "không ghi nhận lại",
    Outcome.RETURNED: "BỊ TRẢ LẠI ĐỂ CHỈNH SỬA — báo cáo không còn được tính cho đến khi "
                      "gửi lại",
}


def outcome_label(value: str) -> str:
    """The in-sentence label of a stored outcome; an unknown value is shown as it is."""
    try:
        return Outcome(value).label
    except ValueError:
        return value


class TaskStatus(StrEnum):
    """How far a unit says it got with one task of the plan ("" when it did not say)."""

    DONE = "done"
    IN_PROGRESS = "in_progress"
    NOT_STARTED = "not_started"
    NOT_REPORTED = ""

    @property
    def label(self) -> str:
        """The label of the reports' task tables ('Đang thực hiện')."""
        return _TASK_LABELS[self]


_TASK_LABELS = {
    TaskStatus.DONE: "Đã hoàn thành",
    TaskStatus.IN_PROGRESS: "Đang thực hiện",
    TaskStatus.NOT_STARTED: "Chưa thực hiện",
    TaskStatus.NOT_REPORTED: "Không ghi tình trạng",
}


def task_label(value: str | None) -> str:
    """The label of a stored task status; an unknown value is shown as it is."""
    try:
        return TaskStatus(value or "").label
    except ValueError:
        return value or ""


def unit_labels() -> dict[str, str]:
    """Every unit status's label by stored value."""
    return {s.value: s.label for s in SubmissionStatus}
