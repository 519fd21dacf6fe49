"""The web UI's routes (the pages that share a URL with ActivityPub documents are paired in app.py).

Every form (POST) route checks its CSRF token and origin before its handler runs (`common.form_route`), whatever
the handler does first; a path's `{..._id}` matches a row's id only (`common.Routes`).
"""

from __future__ import annotations

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
from fedgroup.ui.common import Routes


def add_routes(app: web.Application) -> None:
    # gettext and the formatting filters, in each page's language (`{{ moment|local_time(site.timezone) }}`,
    # `{{ ngettext("%(num)s person", "%(num)s people", n) }}`).
    languages.install(aiohttp_jinja2.get_env(app))
    routes = Routes(app.router)
    get, post = routes.get, routes.post

    get("/login", account.login_page)
    post("/login", account.login)
    post("/login/code", account.login_code)
    post("/logout", account.logout)
    get("/invite/{token}", account.invite_page)
    post("/invite/{token}", account.accept_invite)
    get("/reset/{token}", account.reset_page)
    post("/reset/{token}", account.reset_password)
    get("/account", account.account_page)
    post("/account", account.change_password)
    post("/account/language", account.change_language)
    get("/language", languages.switch_language)
    get("/account/my-data.json", account.export_my_data)
    get("/account/two-factor", two_factor.two_factor_page)
    post("/account/two-factor", two_factor.enable_two_factor)
    get("/account/mail", mail.mail_page)
    post("/account/mail", mail.save_mail)
    get("/forgot", mail.forgot_page)
    post("/forgot", mail.forgot)
    get("/unsubscribe/{token}", mail.unsubscribe_page)
    # RFC 8058 one-click: posted by mail clients, with neither a session nor a form token (the signed token in
    # the URL is the authority), so not a form_route.
    app.router.add_post("/unsubscribe/{token}", mail.unsubscribe)

    get("/home", member.home)
    post("/campaigns/{campaign_id}/pledge", pages.pledge)
    post("/campaigns/{campaign_id}/withdraw", pages.withdraw)
    get("/partners/{partner_id}", member.partner_page)
    post("/partners/{partner_id}/pledge", member.partner_pledge)
    post("/partners/{partner_id}/withdraw", member.partner_withdraw)
    post("/partners/{partner_id}/kept", delivered.partner_kept)
    post("/pledges/{pledge_id}/done", delivered.claim_done)
    post("/organize/pledges/{pledge_id}/confirm", delivered.confirm_done)
    get("/organize/partners/record", delivered.partners_record)
    get("/organize/disclosure", delivered.disclosure_page)
    get("/organize/mail", mail.organize_mail_page)
    post("/organize/mail/call", mail.send_call)
    post("/home/notices/dismiss", member.dismiss_notices)

    get("/organize", organize.index)
    get("/organize/campaigns/new", organize.new_campaign_page)
    post("/organize/campaigns/new", organize.create_campaign)
    get("/organize/campaigns/{campaign_id}", organize.campaign_page)
    post("/organize/campaigns/{campaign_id}/edit", organize.edit_campaign)
    post("/organize/campaigns/{campaign_id}/close", organize.close_campaign)
    post("/organize/campaigns/{campaign_id}/reopen", organize.reopen_campaign)
    post("/organize/campaigns/{campaign_id}/delete", organize.delete_campaign)
    post("/organize/campaigns/{campaign_id}/outcome", organize.report_outcome)
    post("/organize/campaigns/{campaign_id}/fulfilled", organize.set_fulfilled)
    get("/organize/campaigns/{campaign_id}/pledgers.csv", organize.export_pledgers)
    get("/organize/campaigns/{campaign_id}/money", money.money_page)
    post("/organize/campaigns/{campaign_id}/money/received", money.add_received)
    post("/organize/campaigns/{campaign_id}/money/expenses", money.add_expense)
    post("/organize/campaigns/{campaign_id}/money/expenses/decide", money.decide_expense)
    get("/organize/campaigns/{campaign_id}/money/correct", money.correct_page)
    post("/organize/campaigns/{campaign_id}/money/correct", money.correct_entry)
    get("/organize/campaigns/{campaign_id}/money.csv", money.export_money)
    post("/organize/coalition/follow", coalitions.follow_group)
    post("/organize/coalition/leave", coalitions.leave_group)
    post("/organize/followers", coalitions.answer_follower)
    post("/organize/partners", coalitions.answer_partner)
    post("/organize/partners/held", coalitions.answer_held)
    get("/organize/blocks", moderation.blocks_page)
    post("/organize/blocks", moderation.add_block)
    post("/organize/blocks/remove", moderation.remove_block)
    post("/organize/reports/send", moderation.send_report)
    post("/organize/reports/resolve", moderation.resolve_report)

    blueprint_pages.add_routes(routes)
    gatherings.add_routes(routes)
    proposals.add_routes(routes)
    blocklists.add_routes(routes)

    get("/admin/members", admin.members_page)
    post("/admin/members/role", admin.set_role)
    post("/admin/members/remove", admin.remove_member)
    post("/admin/members/invite", admin.invite)
    post("/admin/members/invites/revoke", admin.revoke_invite)
    get("/admin/group", group_settings.settings_page)
    post("/admin/group", group_settings.save_settings)
    post("/admin/first-steps/dismiss", group_settings.dismiss_first_steps)
    get(AVATAR_PATH, group_settings.avatar)
    get("/admin/queues", admin.queues_page)
    post("/admin/queues/retry", admin.retry_inbox)
    post("/admin/queues/retry-delivery", admin.retry_deliveries)
    post("/admin/members/reset-two-factor", two_factor.reset_two_factor)
    post("/admin/two-factor", two_factor.require_two_factor)

    # Feeds: the public ones, each member's private ones behind their secret link, and making or stopping it.
    get("/feed.atom", feeds.public_feed)
    get("/calendar.ics", feeds.public_calendar)
    get("/feeds/{secret}/feed.atom", feeds.private_feed)
    get("/feeds/{secret}/calendar.ics", feeds.private_calendar)
    post("/account/feeds", feeds.new_link)
    post("/account/feeds/stop", feeds.stop_link)
    get("/campaigns/{campaign_id}/share", share.share_campaign)
