"""A real SMTP server on loopback (aiosmtpd) that keeps every message it accepted, for the mail tests.

It runs in its own thread (aiosmtpd's Controller), so a server under test talks to it over a real socket.
It can refuse some recipients for good (a 550, as a bounce), be stopped and started again on the same port
(an outage), and be slowed down before it takes each recipient (to kill a sender in the middle of sending).
"""

from __future__ import annotations

import email
import email.policy
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.peer import free_socket


@dataclass
class Arrived:
    sender: str
    recipients: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def text(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None
        return str(part.get_content())

    def html(self) -> str:
        part = self.message.get_body(("html",))
        assert part is not None
        return str(part.get_content())


@dataclass
class SmtpCatcher:
    port: int = 0
    refuse: set[str] = field(default_factory=set)  # recipients answered 550
    rcpt_delay: float = 0.0  # seconds to wait before taking a recipient
    arrived: list[Arrived] = field(default_factory=list)
    # aiosmtpd's own options: ssl_context (implicit TLS), tls_context and require_starttls (STARTTLS),
    # authenticator and auth_required (a login).
    options: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: Controller | None = None

    def start(self) -> SmtpCatcher:
        if self.port == 0:
            sock = free_socket()
            self.port = sock.getsockname()[1]
            sock.close()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **self.options)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def settings(self) -> dict[str, Any]:
        """make_server settings that send through this server."""
        return {"smtp_host": "127.0.0.1", "smtp_port": self.port, "smtp_security": "none",
                "mail_from": "Group mail <group@mail.test>", "mail_retry_seconds": 0.2}  # fmt: skip

    def messages(self, to: str | None = None) -> list[Arrived]:
        with self._lock:
            return [m for m in self.arrived if to is None or to in m.recipients]

    # aiosmtpd's handler hooks (they run in the controller's thread) ------------------------------------------

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.rcpt_delay:
            time.sleep(self.rcpt_delay)  # blocks only the SMTP server's own thread
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.arrived.append(Arrived(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted for delivery"
