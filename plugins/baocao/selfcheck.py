"""A clerk's self-check of a filled form: what the intake would answer, recording nothing.

``baocao check <file>`` prints ``answer_lines``; the receipt's wording (``problem_lines``,
``main_figures``) is the same as the intake's, and the file is read in a worker process as
the intake reads it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from baocao.clerk_texts import vn_date
from baocao.programme import Programme
from baocao.statuses import Outcome
from baocao.timezone import local_date, local_now


def check_file(prog: Programme, data: bytes, unit_code: str | None = None,
               file_name: str = "", now: datetime | None = None) -> tuple[dict, Any]:
    """What the intake would answer for ``data`` at ``now`` (default: now), without recording
    anything: a JSON-able dict and the parse. The unit is the one written in the form;
    ``unit_code`` overrides it, and a form of another unit is an error."""
    from baocao.isolation import parse_isolated
    from baocao.parsing import ParsedSubmission, Problem, period_timing_problems
    from baocao.periods import collecting_period
    from baocao.receipts import main_figures, problem_lines
    from baocao.validation import Validator

    now = now or local_now()
    # read in a worker process: a file that crashes or exhausts the reader is answered
    probe = parse_isolated(prog, data, unit_code or "?")
    written = probe.form_unit or None
    unit_code = unit_code or written
    if unit_code is None:  # not a form of the system (or unreadable): say why, unit unknown
        parsed = probe
        parsed.problems = [p for p in parsed.problems if p.value != "?"] or [Problem(
            "Không xác định được đơn vị của tệp; hãy chỉ rõ bằng --unit <mã đơn vị>")]
    elif written and written != unit_code:
        parsed = ParsedSubmission(programme=prog.code, unit=unit_code, period="")
        parsed.problems.append(Problem(
            f"Biểu mẫu là của đơn vị {written}, không phải của đơn vị {unit_code} (--unit); "
            "hãy dùng đúng biểu mẫu của đơn vị", value=written, expected=unit_code))
    else:
        parsed = probe if probe.unit == unit_code else parse_isolated(prog, data, unit_code)
        parsed.problems.extend(period_timing_problems(prog, parsed, now))
    summary = {"rules_run": 0, "rules_failed": 0}
    if parsed.readable:
        unit = prog.unit(unit_code, prog.period(parsed.period).deadline)
        done = Validator(prog).validate(parsed, prog.unit_sheets(unit))
        summary = {"rules_run": done.rules_run, "rules_failed": done.rules_failed}
    ok = not parsed.errors
    day = local_date(now)
    try:
        current = collecting_period(day, prog)
        collecting = {"period": current.code, "title": current.title,
                      "deadline": current.deadline.isoformat()}
    except ValueError:
        collecting = None
    lines = problem_lines(prog, unit_code or "", parsed.problems, day)
    return {
        "file": file_name, "programme": prog.code, "unit": unit_code,
        "period": parsed.period or None, "form_version": parsed.form_version or None,
        "status": Outcome.ACCEPTED if ok else Outcome.REJECTED, "readable": parsed.readable,
        "errors": len(parsed.errors), "warnings": len(parsed.problems) - len(parsed.errors),
        **summary, "collecting": collecting, "checked_on": day.isoformat(),
        "problems": [{"severity": x.severity, "rule": x.rule, "sheet": x.sheet, "cell": x.cell,
                      "label": x.label, "value": x.value, "expected": p.expected,
                      "message": x.message} for x, p in zip(lines, parsed.problems, strict=True)],
        "totals": [{"indicator": f["label"], "value": f["value"], "unit": f["unit"],
                    "text": f["text"]} for f in (main_figures(prog, parsed) if ok else [])],
    }, parsed


def answer_lines(prog: Programme, result: dict[str, Any]) -> list[str]:
    """``check_file``'s result as the lines a clerk reads: the file and its period, the
    period being collected, each problem (errors first), then the verdict."""
    unit = prog.units_by_code(result["unit"] or "")
    period = prog.period(result["period"]).title if result["period"] else "không xác định"
    lines = [f"Tệp: {result['file']} — {unit[-1].name if unit else 'đơn vị không xác định'}"
             f"{f' (mã {unit[-1].code})' if unit else ''}; biểu mẫu kỳ {period}."]
    if result["collecting"]:
        c = result["collecting"]
        lines.append(f"Hôm nay ({vn_date(date.fromisoformat(result['checked_on']))}) đang "
                     f"nhận báo cáo kỳ {c['title']}, hạn gửi chậm nhất ngày "
                     f"{vn_date(date.fromisoformat(c['deadline']))}.")
    for p in sorted(result["problems"], key=lambda p: p["severity"] != "error"):
        where = ", ".join(x for x in (p["sheet"], f"ô {p['cell']}" if p["cell"] else "") if x)
        label = f" — {p['label']}" if p["label"] else ""
        lines.append(f"[{'LỖI' if p['severity'] == 'error' else 'LƯU Ý'}] {where or 'Tệp'}"
                     f"{label} (giá trị: {p['value'] or '-'}): {p['message']}")
    lines.append("Hợp lệ: tệp sẽ được tiếp nhận." if result["status"] == Outcome.ACCEPTED else
                 f"Không hợp lệ: {result['errors']} lỗi cần sửa.")
    return lines
