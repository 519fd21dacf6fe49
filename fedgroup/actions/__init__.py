"""What people can do with the group, shared by the CLI and the web UI. Each action checks its input with
the rules (rules/), writes in one transaction, and queues in that same transaction what federates.

One module per subject: campaigns, pledges, members, accounts, coalitions, followers, moderation (and its
shared blocklists), money; the inbox's
handlers (inbox, campaign_inbox), the clock's work (scheduler), what the group says (outbox), and what an
action may use of the running process (context). This package's face names the actions callers use
(`actions.pledge(...)`); modules inside the package import each other, never this face.
"""

from __future__ import annotations

from fedgroup.actions.accounts import (
    FIRST_ADMIN,
    INVITE_HOURS,
    RESET_HOURS,
    accept_invite,
    change_password,
    create_invite,
    create_password_reset,
    ensure_first_admin,
    reset_password,
    revoke_invite,
    set_role,
    sign_in,
)
from fedgroup.actions.blocklists import BlocklistPlan, export_blocklist, import_blocklist, plan_blocklist
from fedgroup.actions.campaigns import (
    VISIBILITIES,
    campaign,
    close_campaign,
    contributors,
    create_campaign,
    delete_campaign,
    edit_campaign,
    existing_campaign,
    load_campaign,
    load_campaigns,
    outcome_summary,
    report_outcome,
)
from fedgroup.actions.coalitions import (
    PartnerView,
    accept_partner,
    answer_held_aggregate,
    follow_group,
    follow_group_by_handle,
    held_aggregates,
    leave_group,
    partner_goals,
    partner_groups,
    reject_partner,
    resolve_account,
    send_aggregate,
)
from fedgroup.actions.context import USER_ERRORS, ActionError, Context
from fedgroup.actions.followers import answer_follower, remove_follower
from fedgroup.actions.group import actor_document as group_actor_document
from fedgroup.actions.group import update_profile as update_group_profile
from fedgroup.actions.members import (
    MAX_EMAIL,
    MAX_NAME,
    add_member,
    clean_name,
    export_member,
    member_named,
    remove_member,
)
from fedgroup.actions.moderation import (
    block,
    block_target,
    forget_remote_actor,
    report_account,
    resolve_report,
    unblock,
)
from fedgroup.actions.money import (
    MoneyRecord,
    decide_expense,
    money_csv,
    money_record,
    money_record_of,
    record_expense,
    record_money_received,
)
from fedgroup.actions.partner_releases import release_all_now
from fedgroup.actions.pledges import claim_done, pledge, pledge_to_partner, set_fulfilled, withdraw_pledge
from fedgroup.actions.scheduler import close_due_campaigns, publish_due_totals
from fedgroup.actions.two_factor import (
    check_second_factor,
    enable_two_factor,
    new_secret,
    provisioning_uri,
    require_two_factor,
    reset_two_factor,
)

__all__ = [
    "revoke_invite",
    "RESET_HOURS",
    "create_password_reset",
    "reset_password",
    "group_actor_document",
    "update_group_profile",
    "ActionError",
    "Context",
    "FIRST_ADMIN",
    "INVITE_HOURS",
    "MAX_EMAIL",
    "MAX_NAME",
    "MoneyRecord",
    "PartnerView",
    "USER_ERRORS",
    "BlocklistPlan",
    "export_blocklist",
    "import_blocklist",
    "plan_blocklist",
    "check_second_factor",
    "enable_two_factor",
    "new_secret",
    "provisioning_uri",
    "require_two_factor",
    "reset_two_factor",
    "VISIBILITIES",
    "accept_invite",
    "accept_partner",
    "add_member",
    "answer_follower",
    "answer_held_aggregate",
    "block",
    "block_target",
    "campaign",
    "change_password",
    "claim_done",
    "clean_name",
    "close_campaign",
    "close_due_campaigns",
    "contributors",
    "create_campaign",
    "create_invite",
    "decide_expense",
    "delete_campaign",
    "edit_campaign",
    "ensure_first_admin",
    "existing_campaign",
    "export_member",
    "follow_group",
    "follow_group_by_handle",
    "forget_remote_actor",
    "held_aggregates",
    "leave_group",
    "load_campaign",
    "load_campaigns",
    "member_named",
    "money_csv",
    "money_record",
    "money_record_of",
    "outcome_summary",
    "partner_goals",
    "partner_groups",
    "pledge",
    "pledge_to_partner",
    "record_expense",
    "record_money_received",
    "publish_due_totals",
    "reject_partner",
    "release_all_now",
    "remove_follower",
    "remove_member",
    "report_account",
    "report_outcome",
    "resolve_account",
    "resolve_report",
    "send_aggregate",
    "set_fulfilled",
    "set_role",
    "sign_in",
    "unblock",
    "withdraw_pledge",
]
