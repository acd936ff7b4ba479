"""Command line: ``baocao`` (also ``python -m baocao``) for operators and departments."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from baocao.config import settings
from baocao.programme import ProgrammeError, load_programme, load_programme_file

COLLECTING = "period code such as 2026-Y (default: the period being collected today)"


def _programme_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--programme", default=None,
                   help="programme code (default: BAOCAO_DEFAULT_PROGRAMME, lang-son)")


def _prog(args):
    return load_programme(args.programme or settings().default_programme)


def _period(prog, code: str | None):
    """The period ``code``, or the one being collected today (Vietnam date)."""
    from baocao.periods import collecting_period
    from baocao.timezone import local_today

    return prog.period(code) if code else collecting_period(local_today(), prog)


def cmd_periods(args) -> int:
    """The periods being collected on a day, per active programme (or ``--programme``)."""
    from datetime import date

    from baocao.config import active_programmes
    from baocao.periods import collecting_period, open_periods
    from baocao.timezone import local_today

    day = date.fromisoformat(args.day) if args.day else local_today()
    codes = [args.programme] if args.programme else active_programmes()
    status = 0
    for code in codes:
        try:
            prog = load_programme(code)
        except ProgrammeError as exc:
            print(f"{code}: {exc}", file=sys.stderr)
            status = 1
            continue
        found = open_periods(day, prog)
        nearest = collecting_period(day, prog)
        if not found:
            print(f"{prog.code}	-	nothing open on {day:%d/%m/%Y}; next: {nearest.code} "
                  f"(cut-off from {nearest.cutoff_start:%d/%m/%Y})")
        for per in found:
            mark = "  <- collecting" if per.code == nearest.code else ""
            print(f"{prog.code}	{per.code}	{per.title}: data {per.cutoff_start:%d/%m/%Y}"
                  f"-{per.cutoff_end:%d/%m/%Y}, deadline {per.deadline:%d/%m/%Y}, files "
                  f"taken until {per.closes:%d/%m/%Y}{mark}")
    return status


def cmd_units(args) -> int:
    prog = _prog(args)
    period = _period(prog, args.period)
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
    period = _period(prog, args.period)
    unit = prog.unit(args.unit, period.deadline)
    Path(args.out).write_bytes(build_form(prog, unit, period))
    print(args.out)
    return 0


def cmd_check(args) -> int:
    """Self-check of a filled form: what the receipt would say, without submitting it.
    Prints only its answer: library logs and warnings are silenced while it runs."""
    import warnings

    from baocao.selfcheck import answer_lines, check_file

    prog = _prog(args)
    logging.disable(logging.CRITICAL)  # GX and pandas log at INFO/WARNING while validating
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result, _parsed = check_file(prog, Path(args.file).read_bytes(), args.unit,
                                         Path(args.file).name)
    finally:
        logging.disable(logging.NOTSET)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        print("\n".join(answer_lines(prog, result)))
    return 0 if result["status"] == "accepted" else 1


def cmd_migrate(args) -> int:
    """Warehouse migrations, and the units of ``--programme`` or of every active one."""
    from baocao.pipeline import active_programmes, prepare_warehouse

    if args.stamp:  # the fix a half-migrated warehouse's message names
        from baocao.warehouse.db import stamp

        stamp(settings().warehouse_url, args.stamp)
        print(f"warehouse revision recorded as {args.stamp}")
        return 0
    for code in [args.programme] if args.programme else active_programmes():
        print(json.dumps(prepare_warehouse(code)))
    return 0


def cmd_move_old_layout(args) -> int:
    """Move the bucket's pre-programme folders under one programme's folder."""
    from baocao.misplaced import migrate_old_layout

    code = args.programme or settings().default_programme
    out = migrate_old_layout(code, dry_run=args.dry_run)
    for rel in out["conflicts"]:
        print(f"conflict (left in place): {rel}", file=sys.stderr)
    if not args.quiet or any(out.values()):
        print(json.dumps({k: len(v) for k, v in out.items()} | {"programme": code,
                                                                 "dry_run": args.dry_run}))
    return 1 if out["conflicts"] else 0


def cmd_demo(args) -> int:
    from baocao.demo import seed_demo

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
    period = _period(load_programme(code), args.period).code
    if args.out:
        out = render_to_folder(code, period, args.out, args.date)
    else:
        out = render_reports(code, period, args.date, kind="final" if args.final else "draft")
    print(json.dumps(out, ensure_ascii=False, indent=1))
    return 0


def cmd_forms(args) -> int:
    """Publish the blank forms of ``--period`` or of every period open today to
    ``<programme>/templates/<period>/`` (as the forms DAG does)."""
    from baocao.pipeline import publish_open_forms

    for out in publish_open_forms(args.programme or settings().default_programme,
                                  args.period or ""):
        print(json.dumps({k: len(v) if isinstance(v, list) else v for k, v in out.items()},
                         ensure_ascii=False))
    return 0


def cmd_return(args) -> int:
    """Return an accepted submission to its unit for correction, with a reason."""
    from baocao.pipeline import engine
    from baocao.returns import return_submission

    out = return_submission(engine(), _prog(args), args.submission, args.reason)
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
    from baocao.vn_numbers import format_vn_percent
    from baocao.warehouse.readmodels import completeness, unit_statuses

    prog = _prog(args)
    period = _period(prog, args.period)
    print(f"{prog.code} {period.code} ({period.title}), deadline {period.deadline:%d/%m/%Y}")
    statuses = unit_statuses(engine(), prog, period)
    for s in statuses:
        when = f"{s.received_at:%d/%m/%Y %H:%M}" if s.received_at else ""
        sid = f"#{s.submission_id}" if s.submission_id else "-"
        print(f"{s.unit.code:10} {s.label:28} {when:16} v{s.version or '-'} {sid:>7}  "
              f"{s.unit.name}")
    c = completeness(statuses)
    print(f"Phải báo cáo {c['expected']}, đã báo cáo {c['received']} "
          f"(đúng hạn {c['on_time']}, muộn {c['late']}), chưa báo cáo {c['missing']}; "
          f"đầy đủ {format_vn_percent(c['completeness'])}, "
          f"đúng hạn {format_vn_percent(c['timeliness'])}")
    return 0


def cmd_outputs(args) -> int:
    """Print the receipts (with their outcome) and the period's reports (``make run``)."""
    from baocao.outputs import output_lines, period_outputs
    from baocao.pipeline import engine

    prog = _prog(args)
    period = _period(prog, args.period).code
    print("\n".join(output_lines(period_outputs(engine(), prog, period), period)))
    return 0


def cmd_preview(args) -> int:
    """Render the period's draft report, annexes and one blank form to PDF and PNG pages."""
    from baocao.preview import render_preview

    code = args.programme or settings().default_programme
    out = render_preview(code, _period(load_programme(code), args.period).code, Path(args.out))
    for key, doc in out.items():
        print(f"{key}: {doc['pages']} page(s) — {doc['pdf']}")
    print(f"PNG pages: {Path(args.out) / 'pages'}")
    return 0


def cmd_minio_policies(args) -> int:
    """Write per-unit MinIO policies and the ``mc`` script that creates the units' users."""
    from baocao import layout
    from baocao.minio_policies import SCRIPT_NAME, write_policies

    prog = _prog(args)
    bucket = args.bucket or (layout.bucket_name(prog.code)
                             if _s3_bucket(settings().bucket_url) else None)
    if not bucket:
        raise ValueError("--bucket is required when BAOCAO_BUCKET_URL is not an s3:// URL")
    written = write_policies(prog, bucket, args.out, args.period)
    print(f"{len(written) - 1} unit policies and {SCRIPT_NAME} written to {args.out}")
    return 0


def _s3_bucket(url: str) -> str | None:
    return url.removeprefix("s3://").split("/", 1)[0] if url.startswith("s3://") else None


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="baocao", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("periods", help="the periods being collected today (or on --day), "
                       "per active programme")
    _programme_arg(p)
    p.add_argument("--day", default=None, help="YYYY-MM-DD (default: today, Vietnam time)")
    p.set_defaults(func=cmd_periods)

    p = sub.add_parser("units", help="list the units expected to report for a period")
    _programme_arg(p)
    p.add_argument("--period", default=None, help=COLLECTING)
    p.set_defaults(func=cmd_units)

    p = sub.add_parser("programme", help="programme files")
    psub = p.add_subparsers(dest="action", required=True)
    pc = psub.add_parser("check", help="validate programme files")
    pc.add_argument("files", nargs="+")
    pc.set_defaults(func=cmd_programme_check)

    p = sub.add_parser("template", help="build a unit's blank form for a period")
    _programme_arg(p)
    p.add_argument("--unit", required=True)
    p.add_argument("--period", default=None, help=COLLECTING)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_template)

    p = sub.add_parser("check", help="self-check a filled form before sending it")
    _programme_arg(p)
    p.add_argument("--unit", default=None,
                   help="unit code (default: the unit written in the form; a form of another "
                        "unit is an error)")
    p.add_argument("--json", action="store_true",
                   help="print a machine-readable result (status, problems, totals)")
    p.add_argument("file")
    p.set_defaults(func=cmd_check)

    for name, func, helptext in (
            ("migrate", cmd_migrate, "apply warehouse migrations; mirror the units of the "
             "programme (default: every active programme)"),
            ("intake", cmd_intake, "process the inbox once")):
        p = sub.add_parser(name, help=helptext)
        _programme_arg(p)
        p.set_defaults(func=func)
    sub.choices["migrate"].add_argument(
        "--stamp", metavar="REVISION", default=None,
        help="record REVISION as applied without running it (the fix a half-migrated "
             "warehouse's error message names)")

    p = sub.add_parser("move-old-layout", help="move the bucket's folders of before the "
                       "split by programme (inbox/, receipts/, templates/, archive/) under "
                       "the programme's folder")
    _programme_arg(p)
    p.add_argument("--dry-run", action="store_true", help="only list what would move")
    p.add_argument("--quiet", action="store_true", help="print nothing when nothing is there")
    p.set_defaults(func=cmd_move_old_layout)

    p = sub.add_parser("demo", help="drop a demo period's filled forms into the inbox")
    _programme_arg(p)
    p.add_argument("--period", required=True)
    p.set_defaults(func=cmd_demo)

    for name, func, helptext, default_help in (
            ("forms", cmd_forms, "publish blank forms to <programme>/templates/<period>/",
             "default: every period open today"),
            ("status", cmd_status, "who has reported for a period", COLLECTING),
            ("outputs", cmd_outputs, "print the paths of receipts and reports", COLLECTING)):
        p = sub.add_parser(name, help=helptext)
        _programme_arg(p)
        p.add_argument("--period", default=None, help=default_help)
        p.set_defaults(func=func)

    p = sub.add_parser("report", help="render a period's .docx and .xlsx from the warehouse")
    _programme_arg(p)
    p.add_argument("--period", default=None, help=COLLECTING)
    p.add_argument("--out", default=None,
                   help="write plain files into this folder instead of the outbox")
    p.add_argument("--final", action="store_true",
                   help="keep it in the outbox as a final version (default: a draft)")
    p.add_argument("--date", default=None, help="report date YYYY-MM-DD (default: a draft "
                   "is dated by its data, a final by the period's deadline)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("preview", help="render the draft report, annexes and a blank form to "
                       "PDF and PNG pages (LibreOffice), to look at them as recipients do")
    _programme_arg(p)
    p.add_argument("--period", default=None, help=COLLECTING)
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
