"""Command line: ``baocao`` (also ``python -m baocao``) for operators and departments."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from baocao.config import settings
from baocao.programme import ProgrammeError, load_programme, load_programme_file


def _programme_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--programme", default=None, help="programme code (default: lang-son)")


def _prog(args):
    return load_programme(args.programme or settings().default_programme)


def cmd_units(args) -> int:
    prog = _prog(args)
    period = prog.period(args.period)
    for u in prog.expected_units(period):
        print(f"{u.code}\t{u.name}")
    return 0


def cmd_programme_check(args) -> int:
    status = 0
    for f in args.files:
        try:
            prog = load_programme_file(f)
        except ProgrammeError as exc:
            print(exc, file=sys.stderr)
            status = 1
            continue
        print(f"{f}: OK — {prog.code}, {len(prog.units)} units, {len(prog.rules)} rules")
    return status


def cmd_template(args) -> int:
    from baocao.forms import build_form

    prog = _prog(args)
    period = prog.period(args.period)
    unit = prog.unit(args.unit, period.deadline)
    Path(args.out).write_bytes(build_form(prog, unit, period))
    print(args.out)
    return 0


def check_file(prog, data: bytes, unit_code: str, file_name: str = "",
               now=None) -> tuple[dict, Any]:
    """What the intake would answer for ``data`` dropped in ``inbox/<unit_code>/`` at
    ``now`` (default: now), without recording anything: a JSON-able dict and the parse."""
    from datetime import UTC, datetime

    from baocao.isolation import parse_isolated
    from baocao.parsing import period_timing_problems
    from baocao.receipts import recorded_totals
    from baocao.validation import Validator
    from baocao.vn_numbers import parse_vn_number

    parsed = parse_isolated(prog, data, unit_code)  # a file that crashes the reader is answered
    parsed.problems.extend(period_timing_problems(prog, parsed, now or datetime.now(UTC)))
    summary = {"rules_run": 0, "rules_failed": 0}
    if parsed.readable:
        unit = prog.unit(unit_code, prog.period(parsed.period).deadline)
        done = Validator(prog).validate(parsed, prog.unit_sheets(unit))
        summary = {"rules_run": done.rules_run, "rules_failed": done.rules_failed}
    ok = not parsed.errors
    return {
        "file": file_name, "programme": prog.code, "unit": unit_code,
        "period": parsed.period or None, "form_version": parsed.form_version or None,
        "status": "accepted" if ok else "rejected", "readable": parsed.readable,
        "errors": len(parsed.errors), "warnings": len(parsed.problems) - len(parsed.errors),
        **summary,
        "problems": [{k: p.as_dict()[k] for k in ("severity", "rule", "sheet", "cell", "value",
                                                   "expected", "message")}
                     for p in parsed.problems],
        "totals": [{"indicator": name, "value": float(parse_vn_number(text)), "text": text}
                   for name, text in (recorded_totals(prog, parsed) if ok else [])],
    }, parsed


def cmd_check(args) -> int:
    """Self-check of a filled form: what the receipt would say, without submitting it."""
    prog = _prog(args)
    result, parsed = check_file(prog, Path(args.file).read_bytes(), args.unit,
                                Path(args.file).name)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
        return 0 if result["status"] == "accepted" else 1
    for p in parsed.problems:
        where = f"{p.sheet}!{p.cell}" if p.cell else p.sheet
        print(f"[{'LỖI' if p.severity == 'error' else 'LƯU Ý'}] {where} "
              f"(giá trị: {p.value or '-'}): {p.message}")
    ok = not parsed.errors
    print("Hợp lệ: tệp sẽ được tiếp nhận." if ok else
          f"Không hợp lệ: {len(parsed.errors)} lỗi cần sửa.")
    return 0 if ok else 1


def cmd_migrate(args) -> int:
    from baocao.pipeline import prepare_warehouse

    if args.stamp:  # the fix a half-migrated warehouse's message names
        from baocao.warehouse.db import stamp

        stamp(settings().warehouse_url, args.stamp)
        print(f"warehouse revision recorded as {args.stamp}")
        return 0
    print(json.dumps(prepare_warehouse(args.programme or settings().default_programme)))
    return 0


def cmd_demo(args) -> int:
    from baocao.pipeline import seed_demo

    print(json.dumps(seed_demo(args.programme or settings().default_programme, args.period),
                     ensure_ascii=False))
    return 0


def cmd_intake(args) -> int:
    from baocao.pipeline import intake_inbox

    out = intake_inbox(args.programme or settings().default_programme)
    print(json.dumps(out["counts"], ensure_ascii=False))
    return 0


def cmd_report(args) -> int:
    """Render from the warehouse: into ``--out DIR`` as plain files, else into the outbox as
    a draft or final version (``--final``)."""
    from baocao.pipeline import render_reports, render_to_folder

    code = args.programme or settings().default_programme
    if args.out:
        out = render_to_folder(code, args.period, args.out, args.date)
    else:
        out = render_reports(code, args.period, args.date,
                             kind="final" if args.final else "draft")
    print(json.dumps(out, ensure_ascii=False, indent=1))
    return 0


def cmd_forms(args) -> int:
    """Publish the period's blank forms to ``templates/<period>/`` (as the forms DAG does)."""
    from baocao.pipeline import publish_forms

    out = publish_forms(args.programme or settings().default_programme, args.period)
    print(json.dumps({k: len(v) if isinstance(v, list) else v for k, v in out.items()},
                     ensure_ascii=False))
    return 0


def cmd_return(args) -> int:
    """Return an accepted submission to its unit for correction, with a reason."""
    from baocao.pipeline import return_submission

    out = return_submission(args.programme or settings().default_programme,
                            args.submission, args.reason)
    print(f"Đã trả lại báo cáo số {out['submission']} của {out['unit']} ({out['period']}); "
          f"phiếu: {out['receipt']}" + ("; đã gửi thư cho đơn vị" if out["mailed"] else ""))
    return 0


def cmd_remind(args) -> int:
    """Send the reminders due on a day (default today), as the reminders DAG does."""
    from baocao.pipeline import send_reminders

    out = send_reminders(args.programme or settings().default_programme, args.day)
    print(json.dumps(out, ensure_ascii=False, indent=1))
    return 0


def cmd_status(args) -> int:
    from baocao.pipeline import engine
    from baocao.warehouse.readmodels import completeness, unit_statuses

    prog = _prog(args)
    period = prog.period(args.period)
    statuses = unit_statuses(engine(), prog, period)
    for s in statuses:
        when = f"{s.received_at:%d/%m/%Y %H:%M}" if s.received_at else ""
        sid = f"#{s.submission_id}" if s.submission_id else "-"
        print(f"{s.unit.code:10} {s.label:28} {when:16} v{s.version or '-'} {sid:>7}  "
              f"{s.unit.name}")
    c = completeness(statuses)
    print(f"Phải báo cáo {c['expected']}, đã báo cáo {c['received']} "
          f"(đúng hạn {c['on_time']}, muộn {c['late']}), chưa báo cáo {c['missing']}; "
          f"đầy đủ {c['completeness']}%, đúng hạn {c['timeliness']}%")
    return 0


def cmd_outputs(args) -> int:
    """Print the receipts (with their outcome) and the period's reports (``make run``)."""
    from baocao.delivery import outbox_root
    from baocao.intake import bucket_root
    from baocao.pipeline import engine
    from baocao.warehouse.readmodels import query

    prog = _prog(args)
    root = bucket_root()
    rows = query(engine(), "submission_status", programme=prog.code, period=args.period)
    label = {"accepted": "đã tiếp nhận", "rejected": "BỊ TỪ CHỐI", "returned": "bị trả lại"}
    recorded = {r["receipt_path"] for r in rows}
    codes = {u.code for u in prog.units}
    others = sorted(rel for rel in (str(p.path)[len(str(root.path)) + 1:]
                                    for p in (root / "receipts").rglob("*.html"))
                    if rel not in recorded and rel.split("/")[1] in codes) \
        if (root / "receipts").exists() else []
    print(f"Receipts ({len(rows)} files recorded for {args.period}, "
          f"{len(others)} other answers such as 'already received'):")
    order = {"rejected": 0, "returned": 1, "accepted": 2}
    for r in sorted(rows, key=lambda r: (order.get(r["status"], 3), not r["late"],
                                         r["unit_code"])):
        note = label.get(r["status"], r["status"]) + (", MUỘN" if r["late"] else "") + \
            (f", v{r['version']}" if r["version"] else "")
        print(f"  [{note}] {root / r['receipt_path']}")
    for rel in others:
        print(f"  [khác] {root / rel}")
    print("Reports:")
    folder = outbox_root() / "reports" / prog.code / args.period
    for p in sorted(folder.rglob("*.*"), key=str) if folder.exists() else []:
        print(f"  {p}")
    return 0


def cmd_preview(args) -> int:
    """Render the period's draft report, annexes and one blank form to PDF and PNG pages."""
    from baocao.preview import render_preview

    out = render_preview(args.programme or settings().default_programme, args.period,
                         Path(args.out))
    for key, doc in out.items():
        print(f"{key}: {doc['pages']} page(s) — {doc['pdf']}")
    print(f"PNG pages: {Path(args.out) / 'pages'}")
    return 0


def cmd_minio_policies(args) -> int:
    """Write per-unit MinIO policies and the ``mc`` script that creates the units' users."""
    from baocao.minio_policies import SCRIPT_NAME, write_policies

    bucket = args.bucket or _s3_bucket(settings().bucket_url)
    if not bucket:
        raise ValueError("--bucket is required when BAOCAO_BUCKET_URL is not an s3:// URL")
    written = write_policies(_prog(args), bucket, args.out, args.period)
    print(f"{len(written) - 1} unit policies and {SCRIPT_NAME} written to {args.out}")
    return 0


def _s3_bucket(url: str) -> str | None:
    return url.removeprefix("s3://").split("/", 1)[0] if url.startswith("s3://") else None


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="baocao", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("units", help="list the units expected to report for a period")
    _programme_arg(p)
    p.add_argument("--period", required=True)
    p.set_defaults(func=cmd_units)

    p = sub.add_parser("programme", help="programme files")
    psub = p.add_subparsers(dest="action", required=True)
    pc = psub.add_parser("check", help="validate programme files")
    pc.add_argument("files", nargs="+")
    pc.set_defaults(func=cmd_programme_check)

    p = sub.add_parser("template", help="build a unit's blank form for a period")
    _programme_arg(p)
    p.add_argument("--unit", required=True)
    p.add_argument("--period", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_template)

    p = sub.add_parser("check", help="self-check a filled form before sending it")
    _programme_arg(p)
    p.add_argument("--unit", required=True)
    p.add_argument("--json", action="store_true",
                   help="print a machine-readable result (status, problems, totals)")
    p.add_argument("file")
    p.set_defaults(func=cmd_check)

    for name, func, helptext in (("migrate", cmd_migrate, "apply warehouse migrations"),
                                 ("intake", cmd_intake, "process the inbox once")):
        p = sub.add_parser(name, help=helptext)
        _programme_arg(p)
        p.set_defaults(func=func)
    sub.choices["migrate"].add_argument(
        "--stamp", metavar="REVISION", default=None,
        help="record REVISION as applied without running it (the fix a half-migrated "
             "warehouse's error message names)")

    for name, func, helptext in (
            ("demo", cmd_demo, "drop a demo period's filled forms into the inbox"),
            ("forms", cmd_forms, "publish the period's blank forms to templates/<period>/"),
            ("status", cmd_status, "who has reported for a period"),
            ("outputs", cmd_outputs, "print the paths of receipts and reports")):
        p = sub.add_parser(name, help=helptext)
        _programme_arg(p)
        p.add_argument("--period", required=True)
        p.set_defaults(func=func)

    p = sub.add_parser("report", help="render a period's .docx and .xlsx from the warehouse")
    _programme_arg(p)
    p.add_argument("--period", required=True)
    p.add_argument("--out", default=None,
                   help="write plain files into this folder instead of the outbox")
    p.add_argument("--final", action="store_true",
                   help="keep it in the outbox as a final version (default: a draft)")
    p.add_argument("--date", default=None, help="report date YYYY-MM-DD (default: today; "
                   "a final defaults to the period's deadline)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("preview", help="render the draft report, annexes and a blank form to "
                       "PDF and PNG pages (LibreOffice), to look at them as recipients do")
    _programme_arg(p)
    p.add_argument("--period", required=True)
    p.add_argument("--out", default="var/preview", help="folder (default: var/preview)")
    p.set_defaults(func=cmd_preview)

    p = sub.add_parser("return", help="return an accepted submission for correction")
    _programme_arg(p)
    p.add_argument("--submission", type=int, required=True, help="submission id")
    p.add_argument("--reason", required=True, help="why (sent to the unit, in Vietnamese)")
    p.set_defaults(func=cmd_return)

    p = sub.add_parser("remind", help="send the reminders due on a day (as the DAG does)")
    _programme_arg(p)
    p.add_argument("--day", default=None, help="YYYY-MM-DD (default: today, Hà Nội time)")
    p.set_defaults(func=cmd_remind)

    p = sub.add_parser("minio-policies",
                       help="per-unit MinIO policies and the mc script creating their users")
    _programme_arg(p)
    p.add_argument("--bucket", default=None,
                   help="intake bucket (default: the bucket of BAOCAO_BUCKET_URL)")
    p.add_argument("--out", required=True, help="folder for <unit>.json and the script")
    p.add_argument("--period", default=None,
                   help="only the units expected for this period (default: every unit)")
    p.set_defaults(func=cmd_minio_policies)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ProgrammeError, ValueError, KeyError, LookupError) as exc:
        print(f"baocao: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
