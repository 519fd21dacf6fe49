"""fedgroup mail test | call | failed: checking the SMTP settings, an organizer's call, refused mail."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from fedgroup import actions, store
from fedgroup.cli.command import CliError, OneLineParser, group_lang, managed, table
from fedgroup.net.mail import MailRefused, SmtpSettings, send
from fedgroup.rules import languages, notifications
from fedgroup.rules.languages import N_, Message
from fedgroup.runtime import Runtime


def add_commands(commands: Any, with_data_dir: Callable[[Any], Any]) -> None:
    mail = commands.add_parser("mail", help="mail to members").add_subparsers(
        dest="mail_command", required=True, parser_class=OneLineParser
    )
    test = with_data_dir(mail.add_parser("test", help="send one message now, to check the smtp_ settings"))
    test.add_argument("--to", required=True, metavar="ADDRESS")
    test.set_defaults(run=managed(mail_test))
    call = with_data_dir(
        mail.add_parser("call", help="an organizer's call to members, within their weekly limits")
    )
    call.add_argument("--by", required=True, metavar="NAME", help="the organizer sending it")
    call.add_argument("--subject", required=True)
    call.add_argument("--body", required=True)
    call.add_argument(
        "--to", required=True, metavar="AUDIENCE",
        help="all, organizers, admins, or campaign:ID (who pledged to that campaign)",
    )  # fmt: skip
    call.set_defaults(run=managed(mail_call))
    failed = with_data_dir(mail.add_parser("failed", help="mail the SMTP server refused for good"))
    failed.set_defaults(run=managed(mail_failed))


async def mail_test(runtime: Runtime, args: argparse.Namespace) -> str:
    config = runtime.config
    if not config.mail_enabled:
        raise CliError(N_("mail is off: set smtp_host and mail_from (README: Mail)"), 2)
    try:
        address = notifications.clean_address(args.to)
    except notifications.NotificationError as e:
        raise CliError(languages.message_of(e), 2) from None
    if address is None:
        raise CliError(N_("--to needs an address"), 2)
    now = runtime.now()
    envelope = notifications.Envelope(
        runtime.site.name, config.mail_from, address,
        notifications.message_id(f"test:{store.to_db_time(now)}", 0, runtime.ids.domain), now,
        f"{config.base_url}/account/mail", None,
    )  # fmt: skip
    lang = languages.language(actions.group_language(runtime))
    item = notifications.Item(
        lang.gettext("%(group)s: a test message", group=runtime.site.name),
        lang.gettext("Mail from fedgroup works."),
        config.base_url,
    )
    message = notifications.compose(
        envelope, item.subject, "", [item], lang.gettext("An admin sent this with `fedgroup mail test`."), lang
    )
    try:
        await send(SmtpSettings.of(config), address, message)
    except MailRefused as refused:
        raise CliError(Message(N_("the SMTP server did not take it: %(reason)s"), reason=refused.reason)) from None
    return lang.gettext(
        "sent through %(host)s:%(port)s (%(security)s)",
        host=config.smtp_host, port=config.smtp_port, security=config.smtp_security,
    )  # fmt: skip


async def mail_call(runtime: Runtime, args: argparse.Namespace) -> str:
    organizer = await actions.member_named(runtime, args.by)
    if not organizer.is_organizer:
        raise CliError(Message(N_("%(name)s is not an organizer"), name=organizer.name), 2)
    result = await actions.send_call(runtime, organizer.id, args.subject, args.body, args.to)
    return group_lang(runtime).gettext(
        "call %(id)s: reached %(reached)s, held back by their weekly limit or a break %(held)s, without an"
        " address %(without)s; the server sends it",
        id=result.call_id, reached=result.reached, held=result.held_back, without=result.without_address,
    )  # fmt: skip


async def mail_failed(runtime: Runtime, args: argparse.Namespace) -> str:
    rows = await runtime.db.read(store.mail.failures, 200)
    if not rows:
        return group_lang(runtime).gettext("no mail was refused")
    return table(
        [
            (
                f.id,
                f.member_name or "(removed)",
                f.notification,
                store.to_db_time(f.finished_at) if f.finished_at else "-",
                f.error.replace("\n", " "),
            )
            for f in rows
        ]  # fmt: skip
    )
