"""E-mail through an Airflow SMTP connection (``BAOCAO_SMTP_CONN_ID``, default smtp_default).

Every mail is NFC-normalised HTML in Vietnamese. Whether a mail was already sent is recorded in
the warehouse (``notifications``) only after the SMTP server accepted it, so a failed send is
retried by the task and a successful one is never repeated.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, insert, select

from baocao.config import settings
from baocao.templating import render
from baocao.text import nfc

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attachment:
    name: str
    data: bytes


def render_mail(template: str, **values) -> str:
    """Render ``include/templates/mail/<template>`` (autoescaped) to NFC HTML."""
    return render(f"mail/{template}", **values)


def send_mail(to: list[str], subject: str, html: str, attachments: list[Attachment] = (),
              cc: list[str] = (), conn_id: str | None = None) -> None:
    """Send one mail; raises if the server is unreachable or refuses it (tasks retry)."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    cfg = settings()
    if not to:
        raise ValueError("no recipient")
    with tempfile.TemporaryDirectory(prefix="baocao-mail-") as tmp:
        files = []
        for a in attachments:
            path = Path(tmp) / a.name
            path.write_bytes(a.data)
            files.append(str(path))
        with SmtpHook(smtp_conn_id=conn_id or cfg.smtp_conn_id) as hook:
            hook.send_email_smtp(to=list(to), cc=list(cc) or None, subject=nfc(subject),
                                 html_content=nfc(html), from_email=cfg.mail_from,
                                 files=files)
    log.info("mail sent to %s: %s (%d attachment(s))", ", ".join(to), subject,
             len(attachments))


def already_sent(engine: Engine, programme: str, period: str, step: str, key: str) -> bool:
    from baocao.warehouse.models import Notification as N

    with engine.connect() as conn:
        return conn.execute(select(N.id).where(
            N.programme == programme, N.period == period, N.step == step,
            N.key == key)).first() is not None


def mark_sent(engine: Engine, programme: str, period: str, step: str, key: str,
              recipients: list[str], subject: str) -> None:
    from baocao.warehouse.models import Notification as N

    with engine.begin() as conn:
        conn.execute(insert(N).values(programme=programme, period=period, step=step, key=key,
                                      recipients=list(recipients), subject=subject[:500],
                                      sent_at=datetime.now(UTC)))


def send_once(engine: Engine, programme: str, period: str, step: str, key: str,
              to: list[str], subject: str, html: str,
              attachments: list[Attachment] = ()) -> bool:
    """Send unless this (programme, period, step, key) was sent before; True if sent now."""
    if already_sent(engine, programme, period, step, key):
        log.info("%s %s %s %s: already sent, skipped", programme, period, step, key)
        return False
    send_mail(to, subject, html, attachments)
    mark_sent(engine, programme, period, step, key, to, subject)
    return True
