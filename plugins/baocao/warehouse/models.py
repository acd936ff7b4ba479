"""Warehouse tables (SQLAlchemy 2). The schema is created by Alembic migrations only."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class UnitRow(Base):
    """A reporting unit of a programme, effective-dated: keyed by (code, valid_from)."""

    __tablename__ = "units"
    programme: Mapped[str] = mapped_column(String(64), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    valid_from: Mapped[date] = mapped_column(Date, primary_key=True)
    valid_to: Mapped[date | None] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20))
    successors: Mapped[list[str]] = mapped_column(JSON, default=list)


class PeriodRow(Base):
    __tablename__ = "periods"
    programme: Mapped[str] = mapped_column(String(64), primary_key=True)
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    kind: Mapped[str] = mapped_column(String(1))
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(100))
    cutoff_start: Mapped[date] = mapped_column(Date)
    cutoff_end: Mapped[date] = mapped_column(Date)
    deadline: Mapped[date] = mapped_column(Date)


class Submission(Base):
    """One received file (accepted or rejected); the audit trail of the intake."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("checksum", name="uq_submissions_checksum"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    programme: Mapped[str] = mapped_column(String(64), index=True)
    period: Mapped[str] = mapped_column(String(16), index=True)
    unit_code: Mapped[str] = mapped_column(String(64), index=True)
    unit_valid_from: Mapped[date | None] = mapped_column(Date)
    file_name: Mapped[str] = mapped_column(String(500))
    bucket_path: Mapped[str] = mapped_column(String(1000))
    archive_path: Mapped[str] = mapped_column(String(1000), default="")
    receipt_path: Mapped[str] = mapped_column(String(1000), default="")
    checksum: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    processed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16))  # accepted | rejected | returned
    version: Mapped[int | None] = mapped_column(Integer)
    is_current: Mapped[bool] = mapped_column(Boolean, default=False)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    form_version: Mapped[str] = mapped_column(String(32), default="")
    rules_run: Mapped[int] = mapped_column(Integer, default=0)
    rules_failed: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[int] = mapped_column(Integer, default=0)
    validation: Mapped[dict] = mapped_column(JSON, default=dict)
    return_reason: Mapped[str] = mapped_column(Text, default="")


class ReportSlot(Base):
    """One row per (programme, period, unit): the lock row and pointer to the current version."""

    __tablename__ = "report_slots"
    programme: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[str] = mapped_column(String(16), primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    current_submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))


class FactValue(Base):
    """One number of one submission, with its sheet and cell."""

    __tablename__ = "fact_values"
    __table_args__ = (UniqueConstraint("submission_id", "indicator", "row_key", "col_key",
                                       name="uq_fact_values_cell"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"),
                                               index=True)
    sheet: Mapped[str] = mapped_column(String(64))
    cell: Mapped[str] = mapped_column(String(16))
    indicator: Mapped[str] = mapped_column(String(64), index=True)
    row_key: Mapped[str] = mapped_column(String(64), default="")
    col_key: Mapped[str] = mapped_column(String(64), default="")
    value: Mapped[float] = mapped_column(Float)
    computed: Mapped[bool] = mapped_column(Boolean, default=False)


class TaskResult(Base):
    __tablename__ = "task_results"
    __table_args__ = (UniqueConstraint("submission_id", "task_code", name="uq_task_results"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"),
                                               index=True)
    task_code: Mapped[str] = mapped_column(String(64))
    task_group: Mapped[str | None] = mapped_column(String(16))
    task_text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    cell: Mapped[str] = mapped_column(String(64), default="")


class Narrative(Base):
    __tablename__ = "narratives"
    __table_args__ = (UniqueConstraint("submission_id", "key", name="uq_narratives"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"),
                                               index=True)
    key: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    cell: Mapped[str] = mapped_column(String(64), default="")


class Issue(Base):
    """A problem found in a submission: errors of rejected files, warnings of accepted ones."""

    __tablename__ = "submission_issues"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"),
                                               index=True)
    rule: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(10))
    sheet: Mapped[str] = mapped_column(String(64), default="")
    cell: Mapped[str] = mapped_column(String(16), default="")
    value: Mapped[str] = mapped_column(String(200), default="")
    message: Mapped[str] = mapped_column(Text)


class IntakeClaim(Base):
    """A file taken by one intake process (its ``owner``), so two never process it twice.

    ``unfinished`` counts the takes that ended without finishing this file while it was the
    one being answered (its owner died, or the file raised): at two, the file is answered as
    one that cannot be processed instead of being tried again. ``in_hand``: the file is in
    the chunk its owner is answering together (see ``baocao.warehouse.claims``)."""

    __tablename__ = "intake_claims"
    path: Mapped[str] = mapped_column(String(1000), primary_key=True)
    checksum: Mapped[str] = mapped_column(String(64), primary_key=True)
    claimed_by: Mapped[str] = mapped_column(String(200))  # the Airflow run id (or CLI run)
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    done: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    owner: Mapped[str | None] = mapped_column(String(32), index=True)
    unfinished: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # answered with its chunk by its owner right now (a death counts one unfinished take)
    in_hand: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # the programme whose inbox holds the file ("" for claims made before 0005)
    programme: Mapped[str] = mapped_column(String(64), default="", server_default="",
                                           index=True)


class IntakeOwner(Base):
    """One intake process (a run's try): it beats while alive and ends when it stops;
    claims of an owner that ended, died or stopped beating are taken over at once. An owner
    that died while answering a file (``working_on``) counts one unfinished take for it."""

    __tablename__ = "intake_owners"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(200), index=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    process_started: Mapped[float] = mapped_column(Float)  # tells a reused pid apart
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    working_on: Mapped[str | None] = mapped_column(String(1000))  # the file being answered


class ReportOutput(Base):
    """One rendered report kept in the outbox: drafts and finals, versioned by content."""

    __tablename__ = "report_outputs"
    __table_args__ = (UniqueConstraint("programme", "period", "kind", "version",
                                       name="uq_report_outputs_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    programme: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(10))  # draft | final
    version: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64), index=True)
    paths: Mapped[dict[str, str]] = mapped_column(JSON)
    data_as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Notification(Base):
    """An e-mail that was sent: written only after the SMTP server accepted it, so a
    (programme, period, step, key) is never mailed twice and a failed send is retried."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("programme", "period", "step", "key",
                                       name="uq_notifications_step"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    programme: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(16))
    step: Mapped[str] = mapped_column(String(32))  # remind-7 | remind-2 | overdue | report | …
    key: Mapped[str] = mapped_column(String(200))  # unit code, submission id or report digest
    recipients: Mapped[list[str]] = mapped_column(JSON)
    subject: Mapped[str] = mapped_column(String(500))
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
