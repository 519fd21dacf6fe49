"""What an action may use of the process it runs in, and the error it gives a person.

`Context` names the parts of fedgroup.runtime.Runtime that the actions, the inbox's handlers and the
scheduler use. Runtime satisfies it structurally (nothing here imports the runtime): the wiring sits above
the use cases, and a type from above would be an arrow pointing up.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from fedgroup import store
from fedgroup.config import Config
from fedgroup.net.actors import RemoteActors
from fedgroup.net.fetch import HttpClient, Signer
from fedgroup.net.throttle import HostThrottle
from fedgroup.protocol.ids import LocalIds
from fedgroup.rules.campaigns import CampaignError
from fedgroup.rules.gatherings import GatheringError
from fedgroup.rules.passwords import PasswordError
from fedgroup.rules.timezones import TimeZoneError


class Context(Protocol):
    config: Config
    db: store.Database
    site: store.site.Site
    ids: LocalIds
    http: HttpClient | None
    actors: RemoteActors | None
    instance_signer: Signer
    late_vote_answers: HostThrottle

    def now(self) -> datetime: ...

    async def is_blocked(self, actor_id: str) -> bool: ...

    def blocks_changed(self) -> None: ...

    def deliveries_queued(self) -> None: ...

    def wake_scheduler(self) -> None: ...

    def mail_queued(self) -> None: ...


class ActionError(ValueError):
    """Something a person asked for that cannot be done; `field` names the form field it belongs to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# Errors a person can correct; the CLI prints them in one line, the UI beside the field.
USER_ERRORS = (ActionError, CampaignError, GatheringError, PasswordError, TimeZoneError)
