"""Publishing the blank forms: every expected unit's form of a period, with an index.

``<programme>/templates/<period>/<unit>.xlsx`` and a ``README.txt`` that tells clerks how to
fill and send them; byte-reproducible, so a re-run rewrites nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from baocao import layout
from baocao.bucket import programme_root
from baocao.clerk_texts import (
    cutoff_text,
    deadline_text,
    lead_contact,
    receipt_where,
    upload_steps,
    vn_date,
)
from baocao.layout import drop_location, form_path
from baocao.periods import Period, open_periods
from baocao.programme import Programme, Unit, load_programme
from baocao.text import nfc
from baocao.timezone import local_date

log = logging.getLogger(__name__)


def periods_to_publish(programme: str, period: str = "",
                       logical_date: datetime | None = None) -> list[str]:
    """Periods whose blank forms a publishing run writes: the param if given; else every
    period open on the run's local date (its cut-off has started, its deadline not passed)."""
    prog = load_programme(programme)
    if period:
        return [prog.period(period).code]
    return [p.code for p in open_periods(local_date(logical_date), prog)]


def publish_forms(programme: str, period: str, root=None) -> dict[str, Any]:
    """Write every expected unit's blank form to ``templates/<period>/<unit-code>.xlsx`` in
    the bucket, with a Vietnamese ``README.txt`` listing units and drop folders.

    Forms are byte-reproducible; a file whose bytes are already there is not rewritten, so a
    re-run changes nothing. Forms of units no longer expected are kept (listed as ``stale``).
    """
    from baocao.forms import build_form

    prog = load_programme(programme)
    per = prog.period(period)
    root = root if root is not None else programme_root(prog.code)
    folder = root / layout.period_templates(per.code)
    units = prog.expected_units(per)
    counts = {"written": 0, "updated": 0, "unchanged": 0}
    files = {f"{u.code}.xlsx": build_form(prog, u, per) for u in units}
    files["README.txt"] = forms_index(prog, per, units).encode("utf-8")
    for name, data in files.items():
        path = folder / name
        old = path.read_bytes() if path.exists() else None
        if old == data:
            counts["unchanged"] += 1
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        counts["updated" if old is not None else "written"] += 1
    stale = sorted(p.name.removesuffix(".xlsx") for p in folder.iterdir()
                   if p.name.endswith(".xlsx") and p.name not in files)
    if stale:
        log.warning("%s: forms of units no longer expected kept: %s",
                    layout.period_templates(per.code), stale)
    log.info("forms for %s %s: %d units; %s", prog.code, per.code, len(units), counts)
    return {"programme": prog.code, "period": per.code, "units": len(units), **counts,
            "stale": stale, "index": layout.forms_index(per.code)}


def forms_index(prog: Programme, per: Period, units: list[Unit]) -> str:
    """The templates folder's README.txt (Vietnamese, NFC; no timestamp: reproducible):
    deadline, how to fill and send (production: MinIO console and login, or ``mc cp``), where
    the answer comes back, whom to call, and every unit with its form and drop folder."""
    from baocao.minio_policies import unit_user

    steps = ["Tải biểu mẫu của đơn vị mình: tệp <mã đơn vị>.xlsx trong thư mục này (danh "
             "sách ở cuối tệp). Trang \"Hướng dẫn\" của biểu mẫu ghi cách điền.",
             "Nhập số liệu vào các ô màu vàng; không thêm, xóa hoặc đổi tên trang tính.",
             "Lưu ở dạng Excel (.xlsx), không đặt mật khẩu, không chuyển sang PDF.",
             *upload_steps(prog), receipt_where(prog, None)]
    lines = [
        f"BIỂU MẪU BÁO CÁO {per.title.upper()}",
        prog.title,
        "",
        f"Kỳ báo cáo {per.title}: {cutoff_text(per)}.",
        f"Thời hạn gửi: {deadline_text(per)} (gửi trong ngày {vn_date(per.deadline)} là đúng "
        "hạn; gửi sau ngày này vẫn được tiếp nhận nhưng bị ghi là gửi muộn).",
        f"Phiên bản biểu mẫu: {prog.form_version}.",
        "",
        "CÁCH GỬI BÁO CÁO",
        *[f"{n}. {t}" for n, t in enumerate(steps, 1)],
    ]
    contact = lead_contact(prog, per.deadline)
    if contact:
        lines += ["", f"Liên hệ khi cần hỗ trợ: {contact}."]
    lines += ["", f"DANH SÁCH ĐƠN VỊ BÁO CÁO ({len(units)} đơn vị)"]
    for n, u in enumerate(units, 1):
        lines += [f"{n:>3}. {u.name} (mã {u.code}, tài khoản {unit_user(prog.code, u.code)})",
                  f"     biểu mẫu: {form_path(prog.code, per.code, u.code)}"
                  f"  —  gửi báo cáo vào: {drop_location(prog.code, u.code)}"]
    return nfc("\n".join(lines) + "\n")
