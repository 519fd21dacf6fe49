"""The web UI's routes (the pages that share a URL with ActivityPub documents are paired in app.py).

Every form (POST) route checks its CSRF token and origin before its handler runs (`form_route`), whatever the
handler does first; handlers read the same form again through common.form, which checks it too.
"""

from __future__ import annotations

import functools

import aiohttp_jinja2
from aiohttp import web

from fedgroup.protocol.ids import AVATAR_PATH
from fedgroup.ui import (
    account,
    admin,
    blocklists,
    blueprint_pages,
    coalitions,
    delivered,
    feeds,
    gatherings,
    group_settings,
    languages,
    mail,
    member,
    moderation,
    money,
    organize,
    pages,
    proposals,
    share,
    two_factor,
)
from fedgroup.ui.common import Handler, form


def form_route(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def checked(request: web.Request) -> web.StreamResponse:
        await form(request)
        return await handler(request)

    return checked


def add_routes(app: web.Application) -> None:
    # gettext and the formatting filters, in each page's language (`{{ moment|local_time(site.timezone) }}`,
    # `{{ ngettext("%(num)s person", "%(num)s people", n) }}`).
    languages.install(aiohttp_jinja2.get_env(app))
    r = app.router

    def post(path: str, handler: Handler) -> None:
        r.add_post(path, form_route(handler))

    r.add_get("/login", account.login_page)
    post("/login", account.login)
    post("/login/code", account.login_code)
    post("/logout", account.logout)
    r.add_get("/invite/{token}", account.invite_page)
    post("/invite/{token}", account.accept_invite)
    r.add_get("/reset/{token}", account.reset_page)
    post("/reset/{token}", account.reset_password)
    r.add_get("/account", account.account_page)
    post("/account", account.change_password)
    post("/account/language", account.change_language)
    r.add_get("/language", languages.switch_language)
    r.add_get("/account/my-data.json", account.export_my_data)
    r.add_get("/account/two-factor", two_factor.two_factor_page)
    post("/account/two-factor", two_factor.enable_two_factor)
    r.add_get("/account/mail", mail.mail_page)
    post("/account/mail", mail.save_mail)
    r.add_get("/forgot", mail.forgot_page)
    post("/forgot", mail.forgot)
    r.add_get("/unsubscribe/{token}", mail.unsubscribe_page)
    # RFC 8058 one-click: posted by mail clients, with neither a session nor a form token (the signed token in
    # the URL is the authority), so not a form_route.
    r.add_post("/unsubscribe/{token}", mail.unsubscribe)

    r.add_get("/home", member.home)
    post("/campaigns/{campaign_id:[0-9]{1,18}}/pledge", pages.pledge)
    post("/campaigns/{campaign_id:[0-9]{1,18}}/withdraw", pages.withdraw)
    r.add_get("/partners/{partner_id:[0-9]{1,18}}", member.partner_page)
    post("/partners/{partner_id:[0-9]{1,18}}/pledge", member.partner_pledge)
    post("/partners/{partner_id:[0-9]{1,18}}/withdraw", member.partner_withdraw)
    post("/partners/{partner_id:[0-9]{1,18}}/kept", delivered.partner_kept)
    post("/pledges/{pledge_id:[0-9]{1,18}}/done", delivered.claim_done)
    post("/organize/pledges/{pledge_id:[0-9]{1,18}}/confirm", delivered.confirm_done)
    r.add_get("/organize/partners/record", delivered.partners_record)
    r.add_get("/organize/disclosure", delivered.disclosure_page)
    r.add_get("/organize/mail", mail.organize_mail_page)
    post("/organize/mail/call", mail.send_call)
    post("/home/notices/dismiss", member.dismiss_notices)

    r.add_get("/organize", organize.index)
    r.add_get("/organize/campaigns/new", organize.new_campaign_page)
    post("/organize/campaigns/new", organize.create_campaign)
    r.add_get("/organize/campaigns/{campaign_id:[0-9]{1,18}}", organize.campaign_page)
    post("/organize/campaigns/{campaign_id:[0-9]{1,18}}/edit", organize.edit_campaign)
    post("/organize/campaigns/{campaign_id:[0-9]{1,18}}/close", organize.close_campaign)
    post("/organize/campaigns/{campaign_id:[0-9]{1,18}}/reopen", organize.reopen_campaign)
    post("/organize/campaigns/{campaign_id:[0-9]{1,18}}/delete", organize.delete_campaign)
    post("/organize/campaigns/{campaign_id:[0-9]{1,18}}/outcome", organize.report_outcome)
    post("/organize/campaigns/{campaign_id:[0-9]{1,18}}/fulfilled", organize.set_fulfilled)
    r.add_get("/organize/campaigns/{campaign_id:[0-9]{1,18}}/pledgers.csv", organize.export_pledgers)
    r.add_get("/organize/campaigns/{campaign_id:[0-9]{1,18}}/money", money.money_page)
    post("/organize/campaigns/{campaign_id:[0-9]{1,18}}/money/received", money.add_received)
    post("/organize/campaigns/{campaign_id:[0-9]{1,18}}/money/expenses", money.add_expense)
    post("/organize/campaigns/{campaign_id:[0-9]{1,18}}/money/expenses/decide", money.decide_expense)
    r.add_get("/organize/campaigns/{campaign_id:[0-9]{1,18}}/money/correct", money.correct_page)
    post("/organize/campaigns/{campaign_id:[0-9]{1,18}}/money/correct", money.correct_entry)
    r.add_get("/organize/campaigns/{campaign_id:[0-9]{1,18}}/money.csv", money.export_money)
    post("/organize/coalition/follow", coalitions.follow_group)
    post("/organize/coalition/leave", coalitions.leave_group)
    post("/organize/followers", coalitions.answer_follower)
    post("/organize/partners", coalitions.answer_partner)
    post("/organize/partners/held", coalitions.answer_held)
    r.add_get("/organize/blocks", moderation.blocks_page)
    post("/organize/blocks", moderation.add_block)
    post("/organize/blocks/remove", moderation.remove_block)
    post("/organize/reports/send", moderation.send_report)
    post("/organize/reports/resolve", moderation.resolve_report)

    blueprint_pages.add_routes(app, post)
    gatherings.add_routes(app, post)
    proposals.add_routes(app, post)
    blocklists.add_routes(app, post)

    r.add_get("/admin/members", admin.members_page)
    post("/admin/members/role", admin.set_role)
    post("/admin/members/remove", admin.remove_member)
    post("/admin/members/invite", admin.invite)
    post("/admin/members/invites/revoke", admin.revoke_invite)
    r.add_get("/admin/group", group_settings.settings_page)
    post("/admin/group", group_settings.save_settings)
    post("/admin/first-steps/dismiss", group_settings.dismiss_first_steps)
    r.add_get(AVATAR_PATH, group_settings.avatar)
    r.add_get("/admin/queues", admin.queues_page)
    post("/admin/queues/retry", admin.retry_inbox)
    post("/admin/queues/retry-delivery", admin.retry_deliveries)
    post("/admin/members/reset-two-factor", two_factor.reset_two_factor)
    post("/admin/two-factor", two_factor.require_two_factor)

    # Feeds: the public ones, each member's private ones behind their secret link, and making or stopping it.
    r.add_get("/feed.atom", feeds.public_feed)
    r.add_get("/calendar.ics", feeds.public_calendar)
    r.add_get("/feeds/{secret}/feed.atom", feeds.private_feed)
    r.add_get("/feeds/{secret}/calendar.ics", feeds.private_calendar)
    post("/account/feeds", feeds.new_link)
    post("/account/feeds/stop", feeds.stop_link)
    r.add_get("/campaigns/{campaign_id:[0-9]{1,18}}/share", share.share_campaign)
