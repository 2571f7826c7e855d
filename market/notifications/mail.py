"""Mail: queued in the outbox with the change (``queue_mail``), sent after commit by the drain.

Backends: console (log), file (one .eml per message), memory (tests), smtp. Each message carries a
Message-ID derived from its outbox row, so a re-send after a crash can be recognised as the same.
"""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app

from market import outbox as queue
from models.base import utcnow

log = logging.getLogger("market.mail")
outbox: list[EmailMessage] = []  # the memory backend's mailbox (tests read it)


def queue_mail(to: str, subject: str, body: str) -> None:
    """Send after the caller's transaction commits (nothing is promised that did not happen)."""
    queue.enqueue("mail", {"to": to, "subject": subject, "body": body})


def message_id(row_id: int, created_at) -> str:
    host = urlsplit(current_app.config.get("SITE_URL") or "").hostname or "ccxq-market.local"
    return f"<outbox.{row_id}.{created_at:%Y%m%d%H%M%S%f}@{host}>"


@queue.handler("mail")
def deliver(message: queue.Message) -> None:
    p = message.payload
    send_mail(p["to"], p["subject"], p["body"], message_id=message_id(message.id, message.created_at))


def send_mail(to: str, subject: str, body: str, message_id: str | None = None) -> None:
    """Send one message now through MAIL_BACKEND (the drain calls this; services call queue_mail)."""
    msg = EmailMessage()
    msg["From"] = current_app.config["MAIL_SENDER"]
    msg["To"] = to
    msg["Subject"] = subject
    if message_id:
        msg["Message-ID"] = message_id
    msg.set_content(body)
    backend = current_app.config["MAIL_BACKEND"]
    if backend == "memory":
        outbox.append(msg)
    elif backend == "file":
        folder = Path(current_app.config["MAIL_FILE_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        # named by the Message-ID when there is one: a re-send overwrites its own file
        stem = (message_id or "").strip("<>").replace("@", "_at_") or f"{utcnow():%Y%m%dT%H%M%S%f}"
        (folder / f"{stem}-{to.replace('@', '_at_')}.eml").write_bytes(bytes(msg))
    elif backend == "smtp":
        with smtplib.SMTP(current_app.config["SMTP_HOST"], current_app.config["SMTP_PORT"], timeout=30) as smtp:
            smtp.send_message(msg)
    else:  # console
        log.info("mail to %s: %s\n%s", to, subject, body)
