"""Senders: how a queued message leaves — e-mail by SMTP or as .eml files, SMS by webhook or as text files.

A sender gets one outbox message and delivers it or raises; retries are the worker's. No sender
touches the database.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import smtplib
import ssl
import urllib.request
from email.message import EmailMessage
from email.utils import format_datetime as email_date
from email.utils import parseaddr
from pathlib import Path
from typing import Protocol

from app.models import OutboxMessage, utcnow

logger = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 30


class EmailSender(Protocol):
    def send(self, message: OutboxMessage) -> None:
        """Deliver the message or raise; the outbox retries on any exception."""


class SmsSender(Protocol):
    def send(self, message: OutboxMessage) -> None:
        """Deliver the message or raise; the outbox retries on any exception."""


def message_id(message: OutboxMessage, sender: str) -> str:
    """One Message-ID per outbox row, the same on every attempt: a receiver that already got a
    message (the sender crashed after delivering it) can drop the repeat. The row's creation time
    keeps it unique should the database ever be rebuilt and the ids reused."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    return f"<ventanilla.{message.id}.{message.created_at:%Y%m%d%H%M%S%f}@{domain}>"


def build_email(message: OutboxMessage, sender: str) -> EmailMessage:
    """The outbox message as MIME: plain text, an HTML alternative, then the attachments. No database."""
    email = EmailMessage()
    email["Subject"] = message.subject
    email["From"] = sender
    email["To"] = message.recipient
    email["Date"] = email_date(utcnow())
    email["Message-ID"] = message_id(message, sender)
    email["Content-Language"] = message.language
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies
    email.set_content(message.body_text)
    if message.body_html:
        email.add_alternative(message.body_html, subtype="html")
    for attachment in message.attachments or []:
        # "text/calendar; method=REQUEST; charset=UTF-8": the parameters go on the part's type.
        content_type, *parameters = (part.strip() for part in attachment["content_type"].split(";"))
        maintype, _slash, subtype = content_type.partition("/")
        params = dict(parameter.partition("=")[::2] for parameter in parameters)
        if maintype == "text":
            params.setdefault("charset", "utf-8")  # messages queued before the type said it
        email.add_attachment(
            base64.b64decode(attachment["content_base64"]),
            maintype=maintype,
            subtype=subtype,
            filename=attachment["filename"],
            params=params,
        )
    return email


class SmtpEmailSender:
    """Sends through an SMTP server: STARTTLS when `use_tls`, login when a username is set."""

    def __init__(
        self,
        host: str,
        port: int = 587,
        *,
        sender: str,
        use_tls: bool = True,
        username: str | None = None,
        password: str | None = None,
    ):
        self.host, self.port, self.sender = host, port, sender
        self.use_tls, self.username, self.password = use_tls, username, password

    @classmethod
    def from_config(cls, config) -> SmtpEmailSender:
        return cls(
            config["MAIL_SERVER"],
            config["MAIL_PORT"],
            sender=config["MAIL_DEFAULT_SENDER"],
            use_tls=config["MAIL_USE_TLS"],
            username=config["MAIL_USERNAME"],
            password=config["MAIL_PASSWORD"],
        )

    def send(self, message: OutboxMessage) -> None:
        email = build_email(message, self.sender)
        with smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
            if self.use_tls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(email)


class FileEmailSender:
    """Writes each message as an .eml file (owner-only: the links in it are personal)."""

    def __init__(self, directory: str | Path, *, sender: str):
        self.directory, self.sender = Path(directory), sender

    def send(self, message: OutboxMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{utcnow():%Y%m%dT%H%M%SZ}-{message.id}-{message.kind}.eml"
        data = build_email(message, self.sender).as_bytes()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        # The address and the text stay in the owner-only file: a log line carries neither.
        logger.info("E-mail %s (%s) saved as %s (no MAIL_SERVER configured)", message.id, message.kind, path)


SAVED_EMAIL_NAME = re.compile(r"\d{8}T\d{6}Z-(\d+)-[a-z0-9_]+\.eml")


def saved_emails(directory: str | Path) -> dict[int, list[Path]]:
    """The .eml files FileEmailSender wrote under `directory`, by outbox message id. No database."""
    saved: dict[int, list[Path]] = {}
    folder = Path(directory)
    if folder.is_dir():
        for path in folder.iterdir():
            if match := SAVED_EMAIL_NAME.fullmatch(path.name):
                saved.setdefault(int(match[1]), []).append(path)
    return saved


class FileSmsSender:
    """Writes each SMS as a text file under `directory` (owner-only: its link is personal) until an
    SMS gateway is configured. The log says only that a message was saved: never the number or the
    text, whose status link carries a token."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    def send(self, message: OutboxMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{utcnow():%Y%m%dT%H%M%SZ}-{message.id}-{message.kind}.sms.txt"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(f"To: {message.recipient}\n\n{message.body_text}\n")
        logger.info("SMS %s (%s) saved as %s (no SMS_WEBHOOK_URL configured)", message.id, message.kind, path)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is an error: the bearer token never follows it elsewhere


class WebhookSmsSender:
    """POSTs each SMS as JSON to an HTTP endpoint: an SMS gateway, or a small adapter in front of one.

    Body: {"id", "to" (E.164), "text", "language", "kind"}; `id` is stable across retries, so the
    receiver can drop a repeat (delivery is at least once). Any 2xx is success; anything else
    (including a redirect) raises and the outbox retries.
    """

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 10):
        if not url.startswith(("https://", "http://")):
            raise ValueError("SMS_WEBHOOK_URL must be an http:// or https:// address")
        self.url, self.token, self.timeout = url, token, timeout
        self._opener = urllib.request.build_opener(_NoRedirects)

    def send(self, message: OutboxMessage) -> None:
        body = json.dumps(
            {
                "id": message.id,
                "to": message.recipient,
                "text": message.body_text,
                "language": message.language,
                "kind": message.kind,
            }
        ).encode("utf-8")
        headers = {"Content-Type": "application/json", "User-Agent": "Ventanilla"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        with self._opener.open(request, timeout=self.timeout) as response:  # raises on 4xx/5xx
            if not 200 <= response.status < 300:
                raise RuntimeError(f"SMS webhook answered {response.status}")


def sms_sender_from_config(config) -> SmsSender:
    """The HTTP webhook when SMS_WEBHOOK_URL is set; otherwise text files under OUTBOX_DIR. No database."""
    if config.get("SMS_WEBHOOK_URL"):
        return WebhookSmsSender(
            config["SMS_WEBHOOK_URL"],
            token=config.get("SMS_WEBHOOK_TOKEN") or None,
            timeout=float(config.get("SMS_WEBHOOK_TIMEOUT_SECONDS", 10)),
        )
    return FileSmsSender(config["OUTBOX_DIR"])


def email_sender_from_config(config) -> EmailSender:
    """SMTP when MAIL_SERVER is set; otherwise .eml files under OUTBOX_DIR. No database."""
    if config.get("MAIL_SERVER"):
        return SmtpEmailSender.from_config(config)
    return FileEmailSender(config["OUTBOX_DIR"], sender=config["MAIL_DEFAULT_SENDER"])
