"""What clerks are told about sending a report: deadline, how to upload, where the answer
comes back, whom to call. One wording for the forms' guide, README.txt and the receipts.

Places in the bucket come from ``baocao.layout``; production addresses (MinIO console, S3
endpoint) from the settings; the unit's login from ``baocao.minio_policies``; the contact
from the lead department's ``contact`` in the programme file. Nothing here names a host.
"""

from __future__ import annotations

from datetime import date

from baocao.config import settings
from baocao.layout import drop_location, receipts_location
from baocao.periods import Period
from baocao.programme import Programme, Unit

MC_ALIAS = "baocao"


def vn_date(day: date) -> str:
    """'20/6/2026', '05/01/2026': two-digit days, months 1 and 2 with a leading zero."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"{day.day:02d}/{month}/{day.year}"


def deadline_text(period: Period) -> str:
    """'chậm nhất ngày 20/6/2026': the deadline day itself is on time."""
    return f"chậm nhất ngày {vn_date(period.deadline)}"


def cutoff_text(period: Period) -> str:
    return (f"số liệu tính từ ngày {vn_date(period.cutoff_start)} đến hết ngày "
            f"{vn_date(period.cutoff_end)}")


def lead_contact(prog: Programme, day: date) -> str:
    """'Sở Nội vụ (Phòng …), điện thoại …, thư điện tử …' with empty parts left out;
    '' when no lead department is active on ``day``."""
    lead = prog.find_lead(day)
    if lead is None:
        return ""
    c = lead.contact
    text = lead.name + (f" ({c.office})" if c.office else "")
    parts = [f"điện thoại {c.phone}" if c.phone else "",
             f"thư điện tử {c.email}" if c.email else ""]
    return ", ".join([text, *[p for p in parts if p]])


def _bucket_target(programme: str, unit_code: str) -> tuple[str, str]:
    """(protocol, where the unit's drop folder is: 'bucket/prefix/inbox/X/' or a path)."""
    url = settings().bucket_url.rstrip("/")
    protocol, _, rest = url.partition("://")
    return protocol, f"{rest}/{drop_location(programme, unit_code)}"


def upload_steps(prog: Programme, unit_code: str | None = None) -> list[str]:
    """How to put a file where the intake takes it, for one unit (or any unit: placeholders).

    In production (an s3:// bucket) with the console or endpoint configured: log in to the
    MinIO console with the unit's account and upload into its folder, or the ``mc`` lines.
    """
    from baocao.minio_policies import unit_user

    code = unit_code or "<mã đơn vị>"
    folder = drop_location(prog.code, code).rstrip("/")
    user = unit_user(prog.code, unit_code) if unit_code else f"{prog.code}-<mã đơn vị>"
    cfg = settings()
    protocol, target = _bucket_target(prog.code, code)
    steps = []
    if protocol == "s3" and cfg.upload_console_url:
        steps += [f"Mở trang {cfg.upload_console_url} và đăng nhập bằng tài khoản {user} "
                  "(mật khẩu được cấp riêng cho đơn vị; không chia sẻ cho đơn vị khác).",
                  f"Mở thư mục {folder} (thư mục nộp báo cáo của đơn vị), bấm nút Upload "
                  "(Tải lên) và chọn tệp báo cáo."]
    if protocol == "s3" and cfg.upload_endpoint_url:
        lead = "Hoặc, nếu đơn vị dùng" if steps else "Dùng"
        steps.append(f"{lead} công cụ dòng lệnh mc: mc alias set {MC_ALIAS} "
                     f"{cfg.upload_endpoint_url} {user}   rồi   mc cp \"<tệp báo cáo>.xlsx\" "
                     f"{MC_ALIAS}/{target}")
    if not steps:
        steps.append(f"Đặt tệp vào thư mục nộp báo cáo của đơn vị: {target}")
    return steps


def receipt_where(prog: Programme, unit: Unit | None) -> str:
    """Where the answer comes back (and to which e-mail addresses, when known)."""
    code = unit.code if unit else "<mã đơn vị>"
    folder = receipts_location(prog.code, code).rstrip("/")
    mail = (f" và được gửi tới địa chỉ thư điện tử {', '.join(unit.emails)}"
            if unit and unit.emails else "")
    return (f"Sau ít phút, kết quả (phiếu tiếp nhận) có trong thư mục {folder}{mail}. "
            "Nếu báo cáo bị từ chối, sửa các lỗi ghi trong phiếu rồi gửi lại tệp đã sửa; "
            "lần gửi sau thay thế lần gửi trước.")
