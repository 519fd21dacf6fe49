"""The admin's first steps after the first start: name the group, invite an organizer, create the first
campaign. Each step is done or not from what the group holds, never from a box someone ticked."""

from __future__ import annotations

from dataclasses import dataclass

# The name `fedgroup serve` gives a group it creates on its first start: a group still called this has not
# been named yet.
DEFAULT_GROUP_NAME = "My group"


@dataclass(frozen=True)
class FirstSteps:
    group_named: bool
    organizer_invited: bool
    campaign_created: bool

    @property
    def complete(self) -> bool:
        return self.group_named and self.organizer_invited and self.campaign_created


def first_steps(
    group_name: str, organizers: int, open_organizer_invitations: int, campaigns: int
) -> FirstSteps:
    """`organizers`: members who may organize (admins included, so the first admin counts as one);
    `open_organizer_invitations`: invitations to organize that can still be used; `campaigns`: the group's
    own campaigns, published and not deleted."""
    return FirstSteps(
        group_named=group_name.strip() != DEFAULT_GROUP_NAME,
        # Someone besides the first admin may organize, or is invited to and can still accept.
        organizer_invited=organizers > 1 or open_organizer_invitations > 0,
        campaign_created=campaigns > 0,
    )
