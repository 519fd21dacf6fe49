"""Where our things live: the URL layout, in one place for the routes and the documents."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

# A row's id, wherever a path or a form names one: ASCII digits, at most 18 of them. SQLite's integers end at
# 2**63 - 1 (19 digits), and a longer number, which names no row, would overflow the query (a 500) instead of
# being a 404; int() alone would also take " 1", "1_0" and Arabic-Indic digits.
ROW_ID = "[0-9]{1,18}"
_ID_PART = re.compile(r"\{(\w+_id)\}")


def route(path: str) -> str:
    """The aiohttp route pattern of a path written with plain `{..._id}` parts: each matches a row's id only."""
    return _ID_PART.sub(lambda part: "{" + part[1] + ":" + ROW_ID + "}", path)


# Route patterns (aiohttp syntax); LocalIds builds the matching absolute URLs.
GROUP_PATH = "/groups/{handle}"
GROUP_INBOX_PATH = "/groups/{handle}/inbox"
GROUP_OUTBOX_PATH = "/groups/{handle}/outbox"
GROUP_FOLLOWERS_PATH = "/groups/{handle}/followers"
GROUP_FOLLOWING_PATH = "/groups/{handle}/following"
SHARED_INBOX_PATH = "/inbox"
INSTANCE_ACTOR_PATH = "/actor"
CAMPAIGN_PATH = route("/campaigns/{campaign_id}")
GATHERING_PATH = route("/gatherings/{gathering_id}")
BLUEPRINT_PATH = route("/blueprints/{blueprint_id}")
# A proposal's published outcome (the proposal itself is members-only and never federates).
DECISION_PATH = route("/decisions/{proposal_id}")
ACTIVITY_PATH = "/activities/{activity_id:[0-9a-f-]{36}}"
AVATAR_PATH = "/avatar/{digest:[0-9a-f]{32}}"


@dataclass(frozen=True)
class LocalIds:
    """The ids of this server's actors and objects, from its base URL and the group's handle."""

    base_url: str
    handle: str

    @property
    def domain(self) -> str:
        return urlsplit(self.base_url).netloc

    @property
    def group(self) -> str:
        return f"{self.base_url}/groups/{self.handle}"

    @property
    def group_key(self) -> str:
        return f"{self.group}#main-key"

    @property
    def inbox(self) -> str:
        return f"{self.group}/inbox"

    @property
    def outbox(self) -> str:
        return f"{self.group}/outbox"

    @property
    def followers(self) -> str:
        return f"{self.group}/followers"

    @property
    def following(self) -> str:
        return f"{self.group}/following"

    @property
    def shared_inbox(self) -> str:
        return f"{self.base_url}/inbox"

    @property
    def instance_actor(self) -> str:
        return f"{self.base_url}/actor"

    @property
    def instance_key(self) -> str:
        return f"{self.instance_actor}#main-key"

    @property
    def acct(self) -> str:
        return f"acct:{self.handle}@{self.domain}"

    def avatar(self, digest: str) -> str:
        return f"{self.base_url}/avatar/{digest}"

    def campaign(self, campaign_id: int) -> str:
        return f"{self.base_url}/campaigns/{campaign_id}"

    def gathering(self, gathering_id: int) -> str:
        return f"{self.base_url}/gatherings/{gathering_id}"

    def gathering_id_of(self, url: str) -> int | None:
        """The gathering number in one of our gathering URLs, else None."""
        return _number_after(url, f"{self.base_url}/gatherings/")

    def decision(self, proposal_id: int) -> str:
        return f"{self.base_url}/decisions/{proposal_id}"

    def activity(self, activity_uuid: str) -> str:
        return f"{self.base_url}/activities/{activity_uuid}"

    def is_local(self, url: str) -> bool:
        return url == self.base_url or url.startswith(self.base_url + "/")

    def campaign_id_of(self, url: str) -> int | None:
        """The campaign number in one of our campaign URLs, else None."""
        return _number_after(url, f"{self.base_url}/campaigns/")


def _number_after(url: str, prefix: str) -> int | None:
    if not url.startswith(prefix):
        return None
    rest = url[len(prefix) :]
    # ASCII digits in canonical form only: str.isdigit() also takes "²" (int() then raises) and other
    # scripts' digits ("٣" would name campaign 3), and "01" is not the URL we gave campaign 1.
    if not (rest.isascii() and rest.isdigit()) or len(rest) >= 19 or rest != str(int(rest)):
        return None
    return int(rest)
