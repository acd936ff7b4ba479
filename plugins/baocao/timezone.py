"""Vietnam time, the one clock of the pipeline: deadlines, "today" and every time shown.

Every date the pipeline reasons about (is a file late, which period is open, what a report is
dated) is a date in Asia/Ho_Chi_Minh, whatever the server's clock zone is.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def local_now() -> datetime:
    """The current moment in Vietnam time (aware)."""
    return datetime.now(VN_TZ)


def local_today() -> date:
    """Today's date in Vietnam."""
    return local_now().date()


def aware(value: datetime | str) -> datetime:
    """``value`` with a zone; a naive value is taken as UTC (how the warehouse stores it).

    An ISO string (as SQLite returns timestamps from raw SQL) is parsed first.
    """
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def to_local(value: datetime | str) -> datetime:
    """``value`` in Vietnam time (naive values are taken as UTC)."""
    return aware(value).astimezone(VN_TZ)


def local_date(value: datetime | None) -> date:
    """The Vietnam date of a moment; today when ``value`` is None."""
    return to_local(value).date() if value is not None else local_today()
