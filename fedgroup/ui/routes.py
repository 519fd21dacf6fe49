"""The web UI's routes (the pages that share a URL with ActivityPub documents are paired in app.py)."""

from __future__ import annotations

from aiohttp import web

from fedgroup.ui import account, admin, member, organize, pages


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/login", account.login_page)
    r.add_post("/login", account.login)
    r.add_post("/logout", account.logout)
    r.add_get("/invite/{token}", account.invite_page)
    r.add_post("/invite/{token}", account.accept_invite)
    r.add_get("/account", account.account_page)
    r.add_post("/account", account.change_password)
    r.add_get("/account/my-data.json", account.export_my_data)

    r.add_get("/home", member.home)
    r.add_post("/campaigns/{campaign_id:\\d+}/pledge", pages.pledge)
    r.add_post("/campaigns/{campaign_id:\\d+}/withdraw", pages.withdraw)
    r.add_get("/partners/{partner_id:\\d+}", member.partner_page)
    r.add_post("/partners/{partner_id:\\d+}/pledge", member.partner_pledge)
    r.add_post("/partners/{partner_id:\\d+}/withdraw", member.partner_withdraw)

    r.add_get("/organize", organize.index)
    r.add_get("/organize/campaigns/new", organize.new_campaign_page)
    r.add_post("/organize/campaigns/new", organize.create_campaign)
    r.add_get("/organize/campaigns/{campaign_id:\\d+}", organize.campaign_page)
    r.add_post("/organize/campaigns/{campaign_id:\\d+}/edit", organize.edit_campaign)
    r.add_post("/organize/campaigns/{campaign_id:\\d+}/close", organize.close_campaign)
    r.add_post("/organize/campaigns/{campaign_id:\\d+}/delete", organize.delete_campaign)
    r.add_post("/organize/campaigns/{campaign_id:\\d+}/outcome", organize.report_outcome)
    r.add_post("/organize/campaigns/{campaign_id:\\d+}/fulfilled", organize.set_fulfilled)
    r.add_get("/organize/campaigns/{campaign_id:\\d+}/pledgers.csv", organize.export_pledgers)
    r.add_post("/organize/coalition/follow", organize.follow_group)
    r.add_post("/organize/coalition/leave", organize.leave_group)
    r.add_post("/organize/followers", organize.answer_follower)
    r.add_get("/organize/blocks", organize.blocks_page)
    r.add_post("/organize/blocks", organize.add_block)
    r.add_post("/organize/blocks/remove", organize.remove_block)
    r.add_post("/organize/reports/send", organize.send_report)
    r.add_post("/organize/reports/resolve", organize.resolve_report)

    r.add_get("/admin/members", admin.members_page)
    r.add_post("/admin/members/role", admin.set_role)
    r.add_post("/admin/members/remove", admin.remove_member)
    r.add_post("/admin/members/invite", admin.invite)
