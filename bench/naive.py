"""The naive shape of the intake, the anchor ``bench/intake.py`` measures against: openpyxl
reads each workbook, one Great Expectations validation per file (one GX run per rule group),
ORM inserts and a commit per file. Same forms, rules and warehouse tables as the pipeline;
no isolation, no receipts, no archive (it does less than the pipeline, not more)."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime

from corpus import PERIOD


def naive_intake(prog, engine, files: list[tuple[str, bytes]]) -> int:
    """Read, validate and record ``files`` (unit code, bytes) one by one; values recorded."""
    import openpyxl
    from sqlalchemy.orm import Session

    from baocao.forms import workbook_layouts
    from baocao.parsing import ParsedSubmission, TaskReport, Value
    from baocao.validation import Validator
    from baocao.warehouse.models import FactValue, Narrative, Submission, TaskResult

    validator = Validator(prog)
    period = prog.period(PERIOD)
    recorded = 0
    for unit_code, data in files:
        unit = prog.unit(unit_code, period.deadline)
        book = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
        sub = ParsedSubmission(programme=prog.code, unit=unit_code, period=PERIOD,
                               unit_valid_from=unit.valid_from)
        for lay in workbook_layouts(prog, unit):
            sheet = book[lay.name]
            for c in lay.cells:
                raw = sheet[c.address].value
                if isinstance(raw, int | float) and not isinstance(raw, bool):
                    sub.values.append(Value(lay.sheet, c.address, c.indicator, c.row, c.col,
                                            c.kind, float(raw)))
            for t in lay.tasks:
                sub.tasks.append(TaskReport(
                    t.code, t.text, t.group, str(sheet[t.status_cell].value or ""),
                    str(sheet[t.description_cell].value or ""), t.status_cell,
                    t.description_cell))
            for key, cell in lay.narratives.items():
                sub.narratives[key] = (str(sheet[cell].value or ""), cell)
        summary = validator.validate(sub, prog.unit_sheets(unit))
        with Session(engine) as session:
            row = Submission(
                programme=prog.code, period=PERIOD, unit_code=unit_code,
                unit_valid_from=unit.valid_from, file_name="Báo cáo 6 tháng.xlsx",
                bucket_path=f"inbox/{unit_code}/Báo cáo 6 tháng.xlsx",
                checksum=hashlib.sha256(data).hexdigest(), size_bytes=len(data),
                received_at=datetime.now(UTC), processed_at=datetime.now(UTC),
                status="accepted", version=1, is_current=True,
                rules_run=summary.rules_run, rules_failed=summary.rules_failed,
                validation=summary.as_dict())
            session.add(row)
            session.flush()
            session.add_all([FactValue(submission_id=row.id, sheet=v.sheet, cell=v.cell,
                                       indicator=v.indicator, row_key=v.row, col_key=v.col,
                                       value=v.value, computed=False) for v in sub.values])
            session.add_all([TaskResult(submission_id=row.id, task_code=t.code,
                                        task_group=t.group, task_text=t.text,
                                        status=t.status[:16], description=t.description,
                                        cell=t.status_cell) for t in sub.tasks])
            session.add_all([Narrative(submission_id=row.id, key=k, text=text, cell=cell)
                             for k, (text, cell) in sub.narratives.items()])
            session.commit()
        recorded += len(sub.values)
    return recorded
