"""Mail backends: console (log), file (one .eml per message), memory (tests), smtp."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from pathlib import Path

from flask import current_app

from models.base import utcnow

log = logging.getLogger("market.mail")
outbox: list[EmailMessage] = []  # the memory backend's mailbox (tests read it)


def send_mail(to: str, subject: str, body: str) -> None:
    msg = EmailMessage()
    msg["From"] = current_app.config["MAIL_SENDER"]
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    backend = current_app.config["MAIL_BACKEND"]
    if backend == "memory":
        outbox.append(msg)
    elif backend == "file":
        folder = Path(current_app.config["MAIL_FILE_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{utcnow():%Y%m%dT%H%M%S%f}-{to.replace('@', '_at_')}.eml"
        (folder / name).write_bytes(bytes(msg))
    elif backend == "smtp":
        with smtplib.SMTP(current_app.config["SMTP_HOST"], current_app.config["SMTP_PORT"]) as smtp:
            smtp.send_message(msg)
    else:  # console
        log.info("mail to %s: %s\n%s", to, subject, body)
