"""The mail worker: takes due rows from the mail queue and hands them to the configured SMTP server.

A row is marked sent in the write that follows the server's 250 for its DATA, so a crash or an outage loses
nothing: what was not marked goes again at the next start, with the same Message-ID. (The one window SMTP
leaves open: a process killed between the server's 250 and that write sends that one mail again, under the
Message-ID mail systems use to drop repeats.) Mails go one at a time: a small group's mail is small, and one
connection at a time is what relays and providers like best.

A 4xx answer, a refused connection or a timeout: tried again on the shared retry policy (net/retry.py), up to
three days. A 5xx for the recipient or the message: the row ends as failed, with the answer (the address
scrubbed from it) for admins. A refused login or sender is the settings' fault, not the message's: retried.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr

import aiosmtplib

from fedgroup import store
from fedgroup.config import Config
from fedgroup.net import retry
from fedgroup.net.worker import Worker
from fedgroup.store.db import Database
from fedgroup.store.mail import QueuedMail

log = logging.getLogger(__name__)

BATCH = 50


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str  # none, starttls, tls
    username: str
    password: str
    sender: str
    timeout: float

    @classmethod
    def of(cls, config: Config) -> SmtpSettings:
        return cls(config.smtp_host, config.smtp_port, config.smtp_security, config.smtp_username,
                   config.smtp_password, config.mail_from, config.smtp_timeout_seconds)  # fmt: skip

    @property
    def envelope_sender(self) -> str:
        return parseaddr(self.sender)[1]


_ANY_ADDRESS = re.compile(r"[^@\s<>]+@[^@\s<>]+")


def scrub(error: str, address: str) -> str:
    """An SMTP server's answer without the recipient's address (answers often quote it), for logs and admins."""
    cleaned = error.replace(address, "(address)") if address else error
    return _ANY_ADDRESS.sub("(address)", cleaned)[:500]


class MailRefused(Exception):
    """The SMTP server's answer, as a verdict: `permanent` ends the row; `unreachable`: no answer at all (the
    server is down or the network is), which every other mail would meet too."""

    def __init__(self, reason: str, permanent: bool, unreachable: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.permanent, self.unreachable = reason, permanent, unreachable


async def send(settings: SmtpSettings, recipient: str, message: bytes) -> None:
    """Hand one message to the SMTP server; raises MailRefused with the verdict."""
    try:
        await aiosmtplib.send(
            message,
            sender=settings.envelope_sender,
            recipients=[recipient],
            hostname=settings.host,
            port=settings.port,
            username=settings.username or None,
            password=settings.password or None,
            use_tls=settings.security == "tls",
            start_tls=settings.security == "starttls",
            timeout=settings.timeout,
        )
    except aiosmtplib.SMTPRecipientsRefused as e:
        codes = [r.code for r in e.recipients]
        text = "; ".join(f"{r.code} {r.message}" for r in e.recipients)
        raise MailRefused(text, bool(codes) and all(c >= 500 for c in codes)) from None
    except (aiosmtplib.SMTPAuthenticationError, aiosmtplib.SMTPSenderRefused) as e:
        raise MailRefused(f"{e.code} {e.message} (check the smtp_ and mail_from settings)", False) from None
    except aiosmtplib.SMTPResponseException as e:
        raise MailRefused(f"{e.code} {e.message}", e.code >= 500) from None
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as e:
        raise MailRefused(f"{type(e).__name__}: {e}", False, unreachable=True) from None


class MailWorker(Worker):
    name = "mail-worker"

    def __init__(
        self,
        db: Database,
        settings: SmtpSettings,
        clock: Callable[[], datetime],
        *,
        poll_seconds: float,
        retry_seconds: float,
    ) -> None:
        super().__init__()
        self.db, self.settings, self.clock = db, settings, clock
        self.poll_seconds = poll_seconds
        self.policy = dataclasses.replace(retry.DEFAULT, base_delay=timedelta(seconds=retry_seconds))
        self._jitter = random.Random()
        # While the SMTP server cannot be reached, no mail is tried before this (in memory: a restart tries
        # at once). Rows keep their own retry times; this only spares the server a knock per row.
        self._paused_until: datetime | None = None

    async def _run(self) -> None:
        while not self.stopping:
            try:
                sent_any = await self.send_due()
            except Exception:
                log.exception("mail worker failed to read the queue")
                sent_any = False
            if sent_any:
                continue
            await self.idle(self.poll_seconds)

    async def send_due(self) -> bool:
        """Try every due row once; True if any was tried."""
        now = self.clock()
        if self._paused_until is not None and now < self._paused_until:
            return False
        rows = await self.db.read(store.mail.due_mail, now, (), BATCH)
        for row in rows:
            if self.stopping or not await self._attempt(row):
                break
        return bool(rows)

    async def _attempt(self, row: QueuedMail) -> bool:
        """Send one row; False when the SMTP server could not be reached (the rest of the batch waits)."""
        try:
            await send(self.settings, row.recipient, row.message)
        except MailRefused as refused:
            error = scrub(refused.reason, row.recipient)
            when = await self._failed(row, error, refused.permanent)
            if refused.unreachable:
                self._paused_until = when
                return False
            return True
        self._paused_until = None
        await self.db.write(store.mail.sent, row.id, self.clock())
        log.info("mail sent id=%d message_id=%s", row.id, row.message_id)
        return True

    async def _failed(self, row: QueuedMail, error: str, permanent: bool) -> datetime | None:
        now = self.clock()
        when = (
            None
            if permanent
            else self.policy.next_attempt(row.attempts + 1, row.queued_at, now, self._jitter)
        )

        def record(conn: sqlite3.Connection) -> None:
            if when is None:
                store.mail.failed(conn, row.id, error, now)
            else:
                store.mail.retry_mail_later(conn, row.id, when, error)

        await self.db.write(record)
        if when is None:
            log.info("mail failed id=%d message_id=%s reason=%s", row.id, row.message_id, error)
        else:
            log.info("mail retry id=%d message_id=%s at=%s reason=%s", row.id, row.message_id, when, error)
        return when
