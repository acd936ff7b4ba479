"""The bucket layout: where units drop files, where answers and blank forms go.

One module that every other asks, so the layout can change in one place. Paths here are
relative to a programme's bucket root (what ``intake.bucket_root`` returns); the
``*_location`` functions give the place as a clerk must type or find it.
"""

from __future__ import annotations

INBOX = "inbox"
RECEIPTS = "receipts"
TEMPLATES = "templates"
ARCHIVE = "archive"


def unit_inbox(unit_code: str) -> str:
    """Where a unit drops its filled forms: ``inbox/<unit>/``."""
    return f"{INBOX}/{unit_code}/"


def unit_receipts(unit_code: str) -> str:
    """Where a unit finds the answers to its files: ``receipts/<unit>/``."""
    return f"{RECEIPTS}/{unit_code}/"


def period_templates(period_code: str) -> str:
    """The folder of a period's blank forms and their ``README.txt``."""
    return f"{TEMPLATES}/{period_code}/"


def form_path(period_code: str, unit_code: str) -> str:
    """A unit's blank form for a period: ``templates/<period>/<unit>.xlsx``."""
    return f"{period_templates(period_code)}{unit_code}.xlsx"


def drop_location(programme: str, unit_code: str) -> str:
    """The folder a clerk of ``unit_code`` puts files in, as shown in forms and receipts."""
    del programme  # one programme per bucket today; the prefix goes here when that changes
    return unit_inbox(unit_code)


def receipts_location(programme: str, unit_code: str) -> str:
    """The folder a clerk reads the answers from, as shown in forms and receipts."""
    del programme
    return unit_receipts(unit_code)
