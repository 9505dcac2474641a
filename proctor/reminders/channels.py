"""Where reminders go besides the product: e-mail (SMTP) and a webhook (SMS gateway, WeChat
Work group robot). Each is off until configured; each answers delivered or failed, never
raises, so one broken channel does not stop the others."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

import aiohttp
import aiosmtplib

from proctor.kernel.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipient:
    """Who a reminder is for, and how to reach them outside the product."""

    username: str
    name: str
    email: str | None
    phone: str | None


@dataclass(frozen=True)
class Message:
    """One reminder as sent: title, body and a full link."""

    kind: str
    title: str
    body: str
    url: str


@dataclass(frozen=True)
class Outcome:
    """What a channel did: delivered, failed, or skipped (nothing to send to)."""

    status: str
    detail: str = ""


class Channel(Protocol):
    """A way out of the product."""

    name: str

    async def send(self, to: Recipient, message: Message) -> Outcome:
        """Deliver one message."""


class Email:
    """E-mail through the configured SMTP server (aiosmtplib: asyncio, STARTTLS, auth)."""

    name = "email"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, to: Recipient, message: Message) -> Outcome:
        """One e-mail; a recipient without an address is skipped."""
        if not to.email:
            return Outcome("skipped", "无电子邮箱")
        s = self.settings
        mail = EmailMessage()
        mail["From"] = s.smtp_sender
        mail["To"] = to.email
        mail["Subject"] = message.title
        mail.set_content(
            f"{to.name}：\n\n{message.body}\n\n{message.url}\n\n湖南省干部教育培训网络学院"
        )
        try:
            await aiosmtplib.send(
                mail,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username or None,
                password=s.smtp_password or None,
                start_tls=s.smtp_starttls,
                timeout=s.smtp_timeout_s,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            log.warning("reminder e-mail to %s failed: %s", to.username, exc)
            return Outcome("failed", str(exc)[:500])
        return Outcome("delivered", to.email)


def webhook_payload(fmt: str, to: Recipient, message: Message) -> dict[str, Any]:
    """The JSON body: a plain record, or a WeChat Work robot text mentioning the phone."""
    if fmt == "wecom":
        return {
            "msgtype": "text",
            "text": {
                "content": f"{message.title}\n{message.body}\n{message.url}",
                "mentioned_mobile_list": [to.phone] if to.phone else [],
            },
        }
    return {
        "kind": message.kind,
        "title": message.title,
        "body": message.body,
        "link": message.url,
        "to": {"username": to.username, "name": to.name, "phone": to.phone, "email": to.email},
    }


class Webhook:
    """A JSON POST to the configured URL (aiohttp client, one session per sending run)."""

    name = "webhook"

    def __init__(self, settings: Settings, session: aiohttp.ClientSession) -> None:
        self.settings = settings
        self.session = session

    async def send(self, to: Recipient, message: Message) -> Outcome:
        """One POST; a 2xx answer (and, from WeChat Work, errcode 0) is delivered."""
        s = self.settings
        body = webhook_payload(s.notify_webhook_format, to, message)
        try:
            async with self.session.post(
                s.notify_webhook_url,
                json=body,
                timeout=aiohttp.ClientTimeout(total=s.notify_webhook_timeout_s),
            ) as resp:
                text = await resp.text()
                if resp.status >= 300:
                    return Outcome("failed", f"HTTP {resp.status}: {text[:200]}")
                if s.notify_webhook_format == "wecom":
                    answer = await resp.json(content_type=None)
                    if isinstance(answer, dict) and answer.get("errcode", 0) != 0:
                        return Outcome("failed", str(answer)[:500])
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("reminder webhook for %s failed: %s", to.username, exc)
            return Outcome("failed", str(exc)[:500] or type(exc).__name__)
        return Outcome("delivered", f"HTTP {resp.status}")
