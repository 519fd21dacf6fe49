"""The group's time zone: every date a person enters or reads is in it; what federates stays UTC with its
offset (protocol/vocab.xsd_datetime). Pure: zoneinfo reads the IANA database bundled by the `tzdata` package
when the system has none, so a zone name works on any machine."""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, datetime
from functools import cache

from fedgroup.rules.languages import N_, Message

DEFAULT_ZONE = "UTC"
_LOCAL_INPUT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")


class TimeZoneError(ValueError):
    """A zone name we do not know, or a local time that does not exist there; `field` names the form field."""

    def __init__(self, message: str, field: str = "timezone") -> None:
        super().__init__(message)
        self.field = field


@cache
def zone(name: str) -> zoneinfo.ZoneInfo:
    """The zone called `name` (an IANA name such as Europe/Madrid); TimeZoneError if there is none."""
    if name not in names():
        raise TimeZoneError(
            Message(N_("%(name)r is not a time zone name (e.g. Europe/Madrid, America/Chicago, UTC)"), name=name[:60])
        )
    return zoneinfo.ZoneInfo(name)


@cache
def names() -> tuple[str, ...]:
    """Every zone name people may choose, sorted."""
    return tuple(sorted(zoneinfo.available_timezones() | {DEFAULT_ZONE}))


def is_local_input(text: str) -> bool:
    """A date-time without an offset, as a datetime-local form field sends it."""
    return bool(_LOCAL_INPUT.match(text.strip()))


def from_local(text: str, zone_name: str) -> datetime:
    """A wall-clock time in the group's zone ("2027-01-15T18:00") as an aware UTC datetime. A time that the
    clocks skip (the spring change) does not exist there and is refused rather than guessed."""
    try:
        naive = datetime.fromisoformat(text.strip())
    except ValueError as e:
        raise TimeZoneError(Message(N_("%(text)r is not a date and time"), text=text[:30]), "deadline") from e
    tz = zone(zone_name)
    local = naive.replace(tzinfo=tz)
    moment = local.astimezone(UTC)
    if moment.astimezone(tz).replace(tzinfo=None) != naive:
        raise TimeZoneError(
            Message(N_("%(moment)s does not exist in %(zone)s (the clocks change then)"), moment=text.strip(), zone=zone_name),
            "deadline",
        )
    return moment


def to_local_input(moment: datetime, zone_name: str) -> str:
    """The value of a datetime-local field showing `moment` in the group's zone."""
    return moment.astimezone(zone(zone_name)).strftime("%Y-%m-%dT%H:%M")


def local_text(moment: datetime, zone_name: str) -> str:
    """`moment` as people read it: "15 January 2027, 18:00 (Europe/Madrid)"."""
    local = moment.astimezone(zone(zone_name))
    return f"{local.day} {local.strftime('%B %Y, %H:%M')} ({zone_name})"
