"""Returning an accepted report to its unit for correction (``baocao return``).

An official who finds a report wrong returns it: it stops counting in the reports, the unit
gets a receipt saying why (and a mail when the programme has its address), and the unit's
history keeps both the report and the return. The unit answers by sending a corrected file.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine

from baocao import layout
from baocao.bucket import programme_root
from baocao.programme import Programme
from baocao.receipts import ReceiptData, render_receipt, write_receipt
from baocao.statuses import Outcome
from baocao.timezone import aware, local_now

log = logging.getLogger(__name__)


def return_submission(engine: Engine, prog: Programme, submission_id: int,
                      reason: str) -> dict[str, Any]:
    """Return the accepted current submission ``submission_id`` with ``reason`` (required,
    sent to the unit): mark it returned, write and record its receipt, mail it."""
    from baocao.mailer import send_once
    from baocao.warehouse.merge import return_submission as mark_returned
    from baocao.warehouse.merge import set_receipt

    reason = " ".join(reason.split())
    if not reason:
        raise ValueError("a reason is required (it is sent to the unit)")
    sub = mark_returned(engine, submission_id, reason, prog.code)
    per = prog.period(sub.period)
    stem = layout.safe_name(sub.file_name.rsplit(".", 1)[0])
    rel = layout.receipt_file(layout.safe_name(sub.unit_code), stem, sub.checksum, "tra-lai")
    data = ReceiptData(status=Outcome.RETURNED, unit_code=sub.unit_code,
                       unit_name=prog.unit_name(sub.unit_code), file_name=sub.file_name,
                       checksum=sub.checksum, received_at=aware(sub.received_at),
                       processed_at=local_now(), period_title=per.title,
                       deadline=f"{per.deadline:%d/%m/%Y}", version=sub.version, reason=reason)
    write_receipt(programme_root(prog.code), rel, prog, data)
    set_receipt(engine, submission_id, rel)
    mailed = False
    emails = [e for u in prog.units_by_code(sub.unit_code) for e in u.emails]
    if emails:
        try:
            mailed = send_once(engine, prog.code, per.code, "return", str(submission_id),
                               emails, f"Báo cáo {per.title} bị trả lại để chỉnh sửa",
                               render_receipt(prog, data))
        except Exception:  # noqa: BLE001 - the receipt is in the bucket; report, don't undo
            log.exception("submission %s returned, but the mail to %s failed", submission_id,
                          emails)
    log.info("submission %s of %s %s returned: %s", submission_id, sub.unit_code, sub.period,
             reason)
    return {"submission": submission_id, "unit": sub.unit_code, "period": sub.period,
            "receipt": rel, "mailed": mailed}
