"""Command line: ``baocao`` (also ``python -m baocao``) for operators and departments."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

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


def cmd_check(args) -> int:
    """Self-check of a filled form: what the receipt would say, without submitting it."""
    from baocao.parsing import parse_submission
    from baocao.validation import Validator

    prog = _prog(args)
    parsed = parse_submission(Path(args.file).read_bytes(), prog, args.unit)
    if parsed.readable:
        unit = prog.unit(args.unit, prog.period(parsed.period).deadline)
        Validator(prog).validate(parsed, prog.unit_sheets(unit))
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
    from baocao.pipeline import render_reports

    out = render_reports(args.programme or settings().default_programme, args.period)
    print(json.dumps(out, ensure_ascii=False))
    return 0


def cmd_status(args) -> int:
    from baocao.pipeline import engine
    from baocao.warehouse.readmodels import completeness, unit_statuses

    prog = _prog(args)
    period = prog.period(args.period)
    statuses = unit_statuses(engine(), prog, period)
    for s in statuses:
        when = f"{s.received_at:%d/%m/%Y %H:%M}" if s.received_at else ""
        print(f"{s.unit.code:10} {s.label:28} {when:16} v{s.version or '-'}  {s.unit.name}")
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
    others = sorted(str(p.path)[len(str(root.path)) + 1:]
                    for p in (root / "receipts").rglob("*.html")
                    if str(p.path)[len(str(root.path)) + 1:] not in recorded) \
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
    for p in sorted((outbox_root() / prog.code / args.period).glob("*")):
        print(f"  {p}")
    return 0


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
    p.add_argument("file")
    p.set_defaults(func=cmd_check)

    for name, func, helptext in (("migrate", cmd_migrate, "apply warehouse migrations"),
                                 ("intake", cmd_intake, "process the inbox once")):
        p = sub.add_parser(name, help=helptext)
        _programme_arg(p)
        p.set_defaults(func=func)

    for name, func, helptext in (
            ("demo", cmd_demo, "drop a demo period's filled forms into the inbox"),
            ("report", cmd_report, "render a period's .docx and .xlsx into the outbox"),
            ("status", cmd_status, "who has reported for a period"),
            ("outputs", cmd_outputs, "print the paths of receipts and reports")):
        p = sub.add_parser(name, help=helptext)
        _programme_arg(p)
        p.add_argument("--period", required=True)
        p.set_defaults(func=func)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ProgrammeError, ValueError, KeyError, LookupError) as exc:
        print(f"baocao: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
