"""Files dropped where the bucket had them before it was split by programme.

Before a deployment served several programmes, units dropped their files in
``inbox/<unit>/`` at the bucket's root. Unit codes repeat across programmes ("SNV" is in
every province), so such a file cannot be taken for any one programme: it is not processed.
It is moved to ``archive/misplaced/<unit>/`` under the shared root (nothing is deleted) and
its sender gets a receipt in the old ``receipts/<unit>/`` saying where to put it now: the
folder ``<programme>/inbox/<unit>/`` of each active programme that has the unit. Files at the
root itself or directly in ``inbox/`` belong to no unit and go to ``archive/unroutable/`` as
before. Programme folders, and folders of programmes switched off, are never touched.
"""

from __future__ import annotations

import logging
from typing import Any

from baocao import layout
from baocao.bucket import arrival_time, bucket_root, move, relative
from baocao.programme import Programme, ProgrammeError, load_programme
from baocao.statuses import Outcome
from baocao.text import nfc
from baocao.timezone import local_now, to_local

log = logging.getLogger(__name__)


def _programmes(codes: list[str]) -> list[Programme]:
    out = []
    for code in codes:
        try:
            out.append(load_programme(code))
        except (ProgrammeError, ValueError) as exc:  # its own tasks report it
            log.warning("programme %s left out of the misplaced-file answers: %s", code, exc)
    return out


def where_to_drop(progs: list[Programme], unit_code: str) -> str:
    """The Vietnamese sentence naming the folder(s) a file of ``unit_code`` belongs in."""
    having = [p for p in progs if p.units_by_code(unit_code)] or progs
    unit = unit_code if any(p.units_by_code(unit_code) for p in having) else "<mã đơn vị>"
    places = [f"{layout.drop_location(p.code, unit)} (chương trình {p.code}, {p.province})"
              for p in having]
    text = (f"Thư mục inbox/{unit_code}/ không còn được dùng: kho tiếp nhận nay chia theo "
            "chương trình báo cáo. Tệp này chưa được xử lý; tệp đã được chuyển vào lưu trữ, "
            "không bị xóa. ")
    if len(places) == 1:
        text += (f"Đề nghị gửi lại tệp vào thư mục {places[0]}; phiếu tiếp nhận sẽ được trả "
                 f"vào thư mục {layout.receipts_location(having[0].code, unit)}.")
    else:
        text += ("Đề nghị gửi lại tệp vào thư mục của chương trình mà báo cáo thuộc về: "
                 + "; hoặc ".join(places) + ". Phiếu tiếp nhận được trả vào thư mục "
                 "receipts/ cùng cấp với thư mục inbox/ đó.")
    return nfc(text)


def sweep_misplaced(programmes: list[str], bucket_url: str | None = None
                    ) -> list[dict[str, Any]]:
    """Answer and archive every file in the shared root's old places; what was done."""
    from baocao.intake import read_capped, sweep_unroutable
    from baocao.receipts import ReceiptData, write_receipt

    shared = layout.shared_bucket_url(bucket_url)
    if shared is None:
        return []
    root = bucket_root(shared)
    if not root.exists():
        return []
    out: list[dict[str, Any]] = [{"path": o.path, "status": o.status, "archive": o.archive}
                                 for o in sweep_unroutable(root)]
    inbox = root / layout.INBOX
    if not inbox.exists():
        return out
    progs = _programmes(programmes)
    if not progs:
        log.error("files in the old inbox/ cannot be answered: no active programme loads")
        return out
    for unit_dir in sorted(inbox.iterdir(), key=lambda p: p.name):
        if not unit_dir.is_dir():
            continue
        unit_code = unit_dir.name
        having = [p for p in progs if p.units_by_code(unit_code)]
        prog = (having or progs)[0]
        for f in sorted(unit_dir.rglob("*"), key=str):
            if not f.is_file() or f.name.startswith(layout.IGNORED_PREFIXES):
                continue
            rel = f"{layout.unit_inbox(unit_code)}{relative(f, unit_dir)}"
            name = nfc(f.name)
            try:
                _data, checksum, _size = read_capped(f)
                received = arrival_time(f)
                stamp = to_local(received).strftime("%Y%m%dT%H%M%S")
                unit = layout.safe_name(unit_code)
                stem = layout.safe_name(name.rsplit(".", 1)[0])
                receipt = layout.receipt_file(unit, stem, checksum, "sai-thu-muc")
                write_receipt(root, receipt, prog, ReceiptData(
                    status=Outcome.REJECTED, unit_code=unit_code,
                    unit_name=prog.unit_name(unit_code), file_name=name,
                    checksum=checksum, received_at=received, processed_at=local_now(),
                    reason=where_to_drop(progs, unit_code)))
                archive = layout.archive_misplaced(unit, stamp, layout.safe_name(name))
                move(f, root / archive)
            except Exception:  # noqa: BLE001 - stays where it is; tried again next run
                log.exception("%s: in the old inbox and could not be answered", rel)
                continue
            log.warning("%s: dropped in the old inbox/; answered with %s, moved to %s", rel,
                        receipt, archive)
            out.append({"path": rel, "status": "misplaced", "receipt": receipt,
                        "archive": archive,
                        "programmes": [p.code for p in having]})
    return out


def migrate_old_layout(programme: str, bucket_url: str | None = None,
                       dry_run: bool = False) -> dict[str, list[str]]:
    """Move what the bucket held before it was split by programme (``inbox/``,
    ``receipts/``, ``templates/``, ``archive/`` at the shared root) under ``programme``'s
    folder, for a deployment that served only that programme until now.

    The warehouse records paths relative to a programme's root, so they stay valid. A
    local (``file://``) bucket keeps each file's modification time, the arrival time of a
    file still waiting in the inbox; on S3 a moved object gets a new ``LastModified``.
    A file already at its destination with the same bytes is only removed from the old
    place; one with different bytes is left where it is and listed as a conflict.
    """
    import os
    import shutil

    shared = layout.shared_bucket_url(bucket_url)
    if shared is None:
        raise ValueError("each programme has a bucket of its own: there is no old layout "
                         "to move")
    src_root = bucket_root(shared)
    dst_root = bucket_root(layout.programme_url(programme, bucket_url))
    done: dict[str, list[str]] = {"moved": [], "same": [], "conflicts": []}
    for top in sorted(layout.RESERVED):
        folder = src_root / top
        if not folder.exists():
            continue
        for f in sorted((p for p in folder.rglob("*") if p.is_file()), key=str):
            rel = f"{top}/{relative(f, folder)}"
            dst = dst_root / rel
            if dst.exists():
                same = dst.read_bytes() == f.read_bytes()
                done["same" if same else "conflicts"].append(rel)
                if same and not dry_run:
                    f.unlink()
                continue
            done["moved"].append(rel)
            if dry_run:
                continue
            if src_root.protocol == "file":
                os.makedirs(os.path.dirname(dst.path), exist_ok=True)
                shutil.move(f.path, dst.path)  # a rename: the modification time stays
            else:
                move(f, dst)
    log.info("old layout moved under %s: %d moved, %d already there, %d conflicts",
             programme, len(done["moved"]), len(done["same"]), len(done["conflicts"]))
    return done

