"""What a period produced, for whoever ran it: every receipt with its outcome, and the reports.

``make run`` ends with ``baocao outputs``, which prints ``output_lines``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from baocao import layout
from baocao.bucket import outbox_root, programme_root, relative
from baocao.programme import Programme
from baocao.statuses import Outcome, outcome_label

# rejected and returned files first: those are the ones someone has to act on
_ORDER = {Outcome.REJECTED: 0, Outcome.RETURNED: 1, Outcome.ACCEPTED: 2}


@dataclass
class Outputs:
    """Receipts recorded for the period (``(note, path)``), other answers of the programme's
    units (e.g. "already received"), and the period's report files."""

    receipts: list[tuple[str, str]]
    other_answers: list[str]
    reports: list[str]


def period_outputs(engine: Engine, prog: Programme, period: str) -> Outputs:
    """Every receipt and report file of ``prog``'s ``period``, as full paths."""
    from baocao.warehouse.readmodels import query

    root = programme_root(prog.code)
    rows = query(engine, "submission_status", programme=prog.code, period=period)
    recorded = {r["receipt_path"] for r in rows}
    codes = {u.code for u in prog.units}
    receipts_dir = root / layout.RECEIPTS
    others = sorted(rel for rel in (relative(p, root) for p in receipts_dir.rglob("*.html"))
                    if rel not in recorded and rel.split("/")[1] in codes) \
        if receipts_dir.exists() else []
    receipts = []
    for r in sorted(rows, key=lambda r: (_ORDER.get(r["status"], 3), not r["late"],
                                         r["unit_code"])):
        label = outcome_label(r["status"])
        note = (label.upper() if r["status"] == Outcome.REJECTED else label) \
            + (", MUỘN" if r["late"] else "") + (f", v{r['version']}" if r["version"] else "")
        receipts.append((note, str(root / r["receipt_path"])))
    folder = outbox_root() / "reports" / prog.code / period
    reports = [str(p) for p in sorted(folder.rglob("*.*"), key=str)] if folder.exists() else []
    return Outputs(receipts, [str(root / rel) for rel in others], reports)


def output_lines(out: Outputs, period: str) -> list[str]:
    """``period_outputs`` as the lines ``baocao outputs`` prints."""
    lines = [f"Receipts ({len(out.receipts)} files recorded for {period}, "
             f"{len(out.other_answers)} other answers such as 'already received'):"]
    lines += [f"  [{note}] {path}" for note, path in out.receipts]
    lines += [f"  [khác] {path}" for path in out.other_answers]
    lines.append("Reports:")
    lines += [f"  {path}" for path in out.reports]
    return lines
