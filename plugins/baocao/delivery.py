"""The outbox: rendered reports kept under ``reports/<programme>/<period>/``, never overwritten.

Drafts go to ``du-thao/`` and finals to ``chinh-thuc/``, each file name carrying its version
(``bao-cao-lang-son-2026-H1-du-thao-v3.docx``). A version is written only when the report's
content changed since the last one of its kind (compared by a digest of the report context),
so re-running a DAG for the same data adds nothing. Finals are e-mailed to the programme's
``report_emails`` and the lead department through the Airflow SMTP connection.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select

from baocao.bucket import outbox_root
from baocao.programme import Programme

log = logging.getLogger(__name__)
FOLDER = {"draft": "du-thao", "final": "chinh-thuc"}
KIND_TEXT = {"draft": "Dự thảo", "final": "Chính thức"}


def store(root, rel: str, data: bytes) -> str:
    """Write ``data`` at ``rel`` under the outbox unless something is there already; its URL."""
    path = root / rel
    if path.exists():
        raise FileExistsError(f"{path} exists; reports are never overwritten")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return str(path)


@dataclass
class Published:
    programme: str
    period: str
    kind: str
    version: int
    digest: str
    paths: dict[str, str]
    new: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def report_digest(ctx: dict[str, Any]) -> str:
    """A digest of what a report says (its template context), independent of file bytes."""
    text = json.dumps(ctx, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _latest(engine: Engine, prog: str, period: str, kind: str):
    from baocao.warehouse.models import ReportOutput as R

    with engine.connect() as conn:
        return conn.execute(select(R.__table__).where(
            R.programme == prog, R.period == period, R.kind == kind)
            .order_by(R.version.desc()).limit(1)).first()


def publish_report(engine: Engine, prog: Programme, data, kind: str) -> Published:
    """Render and keep a draft or final of ``data`` (a ReportData) unless the latest of that
    kind says the same; returns what is now the latest version."""
    from baocao.reports.context import context
    from baocao.reports.docx_report import render_docx
    from baocao.reports.xlsx_report import render_xlsx
    from baocao.warehouse.models import ReportOutput as R

    if kind not in FOLDER:
        raise ValueError(f"kind must be draft or final, not {kind!r}")
    period = data.period.code
    digest = report_digest(context(data))
    last = _latest(engine, prog.code, period, kind)
    if last is not None and last.digest == digest:
        log.info("%s %s %s v%d: content unchanged, nothing written", prog.code, period, kind,
                 last.version)
        return Published(prog.code, period, kind, last.version, digest, dict(last.paths),
                         new=False)
    root = outbox_root()
    version = (last.version if last else 0) + 1
    folder = f"reports/{prog.code}/{period}/{FOLDER[kind]}"
    while (root / folder / f"{_stem(prog.code, period, kind, version)}.docx").exists():
        version += 1  # files outlive a lost warehouse: never write over one
    stem = f"{folder}/{_stem(prog.code, period, kind, version)}"
    docx = render_docx(data, draft=kind == "draft")
    xlsx = render_xlsx(data, draft=kind == "draft")
    paths = {"docx": store(root, f"{stem}.docx", docx), "xlsx": store(root, f"{stem}.xlsx", xlsx)}
    with engine.begin() as conn:
        conn.execute(insert(R).values(programme=prog.code, period=period, kind=kind,
                                      version=version, digest=digest, paths=paths,
                                      data_as_of=data.data_as_of,
                                      created_at=datetime.now(UTC)))
    log.info("%s %s %s v%d written: %s", prog.code, period, kind, version, paths)
    return Published(prog.code, period, kind, version, digest, paths, new=True)


def _stem(prog: str, period: str, kind: str, version: int) -> str:
    return f"bao-cao-{prog}-{period}-{FOLDER[kind]}-v{version}"


def outputs(engine: Engine, prog: str, period: str) -> list[dict[str, Any]]:
    """Every kept report of a period, oldest first."""
    from baocao.warehouse.models import ReportOutput as R

    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(R.__table__).where(R.programme == prog, R.period == period)
            .order_by(R.kind, R.version))]


def final_recipients(prog: Programme, on) -> list[str]:
    """The programme's report addresses and the lead department's, without repeats."""
    lead = prog.find_lead(on)
    out = list(prog.report_emails) + (lead.emails if lead else [])
    return list(dict.fromkeys(a.strip() for a in out if a.strip()))


def email_final(engine: Engine, prog: Programme, published: Published) -> dict[str, Any]:
    """E-mail a final report with its .docx and .xlsx once per version; raises when the SMTP
    server fails (the task retries; the files are in the outbox already)."""
    from baocao.mailer import Attachment, render_mail, send_once

    per = prog.period(published.period)
    to = final_recipients(prog, per.deadline)
    if not to:
        log.warning("%s %s: no e-mail recipients in the programme (report_emails, lead "
                    "department); the final stays in the outbox only", prog.code, per.code)
        return {"sent": False, "recipients": []}
    root = outbox_root()
    files = []
    for url in published.paths.values():
        rel = url.split(f"reports/{prog.code}/", 1)[1]
        path = root / "reports" / prog.code / rel
        files.append(Attachment(path.name, path.read_bytes()))
    subject = f"Báo cáo {prog.title} {per.title}"
    html = render_mail("report.html.j2", programme_title=prog.title, period_title=per.title,
                       version=published.version, files=[f.name for f in files],
                       province=prog.province)
    sent = send_once(engine, prog.code, per.code, "report-final",
                     f"v{published.version}:{published.digest[:16]}", to, subject, html,
                     files)
    return {"sent": sent, "recipients": to, "files": [f.name for f in files]}
