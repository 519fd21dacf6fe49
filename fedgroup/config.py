"""One Config value: defaults, then the data dir's config.toml, then FEDGROUP_* environment variables, then
command-line flags (each overrides the one before)."""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tomli_w

CONFIG_FILE = "config.toml"
DATABASE_FILE = "fedgroup.sqlite3"
DEFAULT_DATA_DIR = "fedgroup-data"
DEFAULT_BASE_URL = "http://localhost:8080"
DEFAULT_HANDLE = "group"
# Every setting NAME can also come from the environment variable FEDGROUP_NAME (upper case).
ENV_PREFIX = "FEDGROUP_"


SMTP_SECURITY = ("none", "starttls", "tls")
# The languages with a catalogue (rules/languages.LANGUAGES says the same; config imports nothing of ours and a
# test checks the two agree).
SHIPPED_LANGUAGES = ("en", "es", "fr", "pt", "hi", "ar")


class ConfigError(Exception):
    """A setting that cannot work; the message is one line for the operator."""


@dataclass(frozen=True)
class Config:
    data_dir: Path
    base_url: str
    # Where `serve` listens. Behind a reverse proxy this stays on loopback.
    listen_host: str = "127.0.0.1"
    listen_port: int = 8080
    # Follow requests wait for an organizer instead of being accepted at once.
    manually_approves_followers: bool = False
    # Remote hosts on loopback/private networks: "auto" allows loopback only when base_url is on loopback.
    allow_private_networks: str = "auto"
    # First retry delay of a failed delivery; later ones double. Tests shorten it.
    delivery_retry_seconds: float = 30.0
    # The same for an incoming activity whose handler failed. Both queues then follow one retry policy
    # (net/retry.py): doubling delays with jitter, at most six hours apart, given up after three days.
    inbox_retry_seconds: float = 30.0
    # A handler (what a received activity does) running longer than this is stopped and tried again later.
    inbox_handler_timeout_seconds: float = 60.0
    # How often the workers look for work queued by another process (the CLI).
    queue_poll_seconds: float = 1.0
    # At most one Update of a campaign's totals per this many seconds, however many pledges arrive.
    totals_update_seconds: float = 5.0
    # Inbox POSTs one remote host (the host of the signature's keyId) may send: this many at once, then this
    # many a minute; more get 429 with Retry-After. 0 turns the limit off.
    inbox_requests_per_minute_per_host: int = 600
    # Back-pressure when the whole inbox is busier than it can keep up with: more than this many activities
    # accepted and not processed yet, or this many requests being checked at once, and a POST gets 503 with
    # Retry-After (senders retry later) before memory grows. 0 turns either limit off.
    inbox_max_backlog: int = 5000
    inbox_max_in_flight: int = 64
    # Keys we do not know yet that signed requests may make us fetch: per host of the keyId, and overall (this
    # many at once, then this many a minute); beyond that the request gets 429 with Retry-After. 0: no limit.
    key_fetches_per_minute_per_host: int = 300
    key_fetches_per_minute: int = 1200
    # A request's line and headers must be complete this many seconds after its first byte (408 and closed).
    header_timeout_seconds: float = 10.0
    # A body must arrive within this many seconds, plus one second per body_min_bytes_per_second bytes received.
    body_timeout_seconds: float = 10.0
    body_min_bytes_per_second: int = 1000
    # An idle keep-alive connection is closed after this long (longer than reverse proxies keep theirs).
    idle_timeout_seconds: float = 300.0
    # Connections open at once; beyond it a new one is answered 503 and closed.
    max_connections: int = 1000
    # How long a write waits for another process's write (the server's, a CLI command's) before it fails.
    database_busy_timeout_seconds: float = 30.0
    # No count of our own people below this leaves the server or shows publicly: an aggregate for a partner
    # with fewer pledgers is sent as "fewer than N"; smaller per-option figures as "fewer than N".
    min_disclosed_count: int = 3
    # Changes to what partners see wait for a batch: released this many minutes after the batch's first
    # change, or as soon as partner_release_changes changes are pending (0: by time only). 0 minutes: at once.
    partner_release_minutes: float = 60.0
    partner_release_changes: int = 3
    # A queue with work due for this many minutes and no progress by its worker for as long is stalled:
    # /healthz answers 503 and `fedgroup status` names it.
    stall_minutes: float = 10.0
    # `serve` sends the group's deliveries from a second process of its own (started, restarted and stopped
    # with it), so that signing and POSTing a fan-out to thousands of hosts never holds up pages and the
    # inbox, and runs on the second core where there is one. false: one process does everything.
    delivery_process: bool = True
    # Processes answering requests on the one listening socket (`serve --workers N`). With 2 or more, `serve`
    # answers none itself: it runs the inbox processor, the scheduler, mail and the delivery process, and the
    # serving processes tell it what they stored (cli/workers.py). Limits kept in memory (sign-in pacing,
    # per-host inbox and key-fetch limits) are shared out between them. 1 (the default) is fastest on one core.
    workers: int = 1
    # Prometheus metrics at /metrics (counts of the queues only, nothing about members). Off by default.
    metrics_enabled: bool = False
    # Mail to members, through an SMTP server the group chooses. Mail is off while smtp_host or mail_from is
    # empty. smtp_security: "starttls" (port 587), "tls" (implicit TLS, port 465) or "none" (a relay on this
    # machine or a trusted network only). The password is best given as FEDGROUP_SMTP_PASSWORD.
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_timeout_seconds: float = 30.0
    # The From address of every mail, e.g. "Tenants' Union <group@example.org>".
    mail_from: str = ""
    # First retry delay of a mail the SMTP server did not take (4xx, connection refused); later ones double,
    # as for deliveries. A 5xx answer ends the row at once (shown to admins).
    mail_retry_seconds: float = 60.0
    # The group's language (one of rules/languages.LANGUAGES): pages for visitors whose browser asks for none
    # we ship, the language its campaigns federate in (contentMap), the CLI's. The group settings page may
    # set another; a member's own choice (Account) comes first for them.
    default_language: str = "en"

    def per_process(self, limit: int) -> int:
        """A limit kept in each serving process's memory, as that process's share of it (share_of)."""
        return share_of(limit, self.workers)

    @property
    def mail_enabled(self) -> bool:
        return bool(self.smtp_host and self.mail_from)

    @property
    def database_path(self) -> Path:
        return self.data_dir / DATABASE_FILE

    @property
    def domain(self) -> str:
        """host[:port] as it appears in acct: handles and ids."""
        return urlsplit(self.base_url).netloc

    @property
    def base_is_loopback(self) -> bool:
        return is_loopback_host(urlsplit(self.base_url).hostname or "")

    @property
    def private_networks_allowed(self) -> bool:
        """Whether remote URLs may resolve to loopback (dev and tests) — never in production."""
        if self.allow_private_networks == "always":
            return True
        if self.allow_private_networks == "never":
            return False
        return self.base_is_loopback

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")


def is_loopback_host(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def normalize_base_url(url: str) -> str:
    """An absolute http(s) URL with a host and no path, query or fragment; no trailing slash."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"base URL must look like https://example.org, got {url!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError(f"base URL must have no path, query or credentials, got {url!r}")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as e:
        raise ConfigError(f"base URL has a bad port: {url!r}") from e
    return f"{parts.scheme}://{parts.netloc.lower()}"


def default_port(base_url: str) -> int:
    parts = urlsplit(base_url)
    if parts.port and is_loopback_host(parts.hostname or ""):
        return parts.port
    return 8080


def share_of(limit: int, processes: int) -> int:
    """One process's share of a limit that several keep in memory, rounded up (at least 1; 0 stays "no
    limit"): together they hold the limit, give or take one per process."""
    return limit if limit == 0 else -(-limit // processes)


_SETTINGS = {f.name: f for f in fields(Config) if f.name != "data_dir"}
MAX_WORKERS = 32
# Rates where 0 means no limit.
_LIMITS = (
    "inbox_requests_per_minute_per_host",
    "key_fetches_per_minute_per_host",
    "key_fetches_per_minute",
    "inbox_max_backlog",
    "inbox_max_in_flight",
)


def env_name(setting: str) -> str:
    return ENV_PREFIX + setting.upper()


def load(data_dir: Path, environ: Mapping[str, str] | None = None) -> Config:
    """The settings in data_dir's config.toml, each overridden by its FEDGROUP_* environment variable."""
    path = data_dir / CONFIG_FILE
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ConfigError(
            f"no fedgroup data in {data_dir} (missing {CONFIG_FILE}); run `fedgroup init`"
        ) from e
    except PermissionError as e:
        raise ConfigError(f"cannot read {path}: permission denied") from e
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read {path}: {e}") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML: {e}") from e
    return from_mapping(data_dir, {**raw, **from_environment(os.environ if environ is None else environ)})


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings given as FEDGROUP_* variables, as typed values (other FEDGROUP_* names are not settings)."""
    values: dict[str, Any] = {}
    for name, spec in _SETTINGS.items():
        text = environ.get(env_name(name))
        if text is None:
            continue
        where = f"environment variable {env_name(name)}"
        try:
            if spec.type == "bool":
                if text.strip().lower() not in _TRUE + _FALSE:
                    raise ValueError
                values[name] = text.strip().lower() in _TRUE
            elif spec.type == "int":
                values[name] = int(text)
            elif spec.type == "float":
                values[name] = float(text)
            else:
                values[name] = text
        except ValueError:
            kind = {"bool": "true or false", "int": "a whole number", "float": "a number"}[str(spec.type)]
            raise ConfigError(f"{where} must be {kind}, got {text!r}") from None
    return values


def from_mapping(data_dir: Path, raw: dict[str, Any]) -> Config:
    unknown = set(raw) - set(_SETTINGS)
    if unknown:
        raise ConfigError(f"unknown setting(s) in {CONFIG_FILE}: {', '.join(sorted(unknown))}")
    if "base_url" not in raw:
        raise ConfigError(f"no base_url: set it in {CONFIG_FILE} or {env_name('base_url')}")
    values: dict[str, Any] = {}
    for name, value in raw.items():
        expected = _SETTINGS[name].type
        if expected == "bool" and not isinstance(value, bool):
            raise ConfigError(f"setting {name} must be true or false")
        if expected == "int" and (not isinstance(value, int) or isinstance(value, bool)):
            raise ConfigError(f"setting {name} must be a whole number")
        if expected == "float" and (not isinstance(value, int | float) or isinstance(value, bool)):
            raise ConfigError(f"setting {name} must be a number")
        if expected == "str" and not isinstance(value, str):
            raise ConfigError(f"setting {name} must be a string")
        values[name] = value
    values["base_url"] = normalize_base_url(values["base_url"])
    if values.get("allow_private_networks", "auto") not in ("auto", "always", "never"):
        raise ConfigError("allow_private_networks must be auto, always or never")
    for name in _LIMITS:
        if values.get(name, 0) < 0:
            raise ConfigError(f"{name} must be 0 (no limit) or more")
    for name in ("header_timeout_seconds", "body_timeout_seconds", "body_min_bytes_per_second",
                 "idle_timeout_seconds", "max_connections"):  # fmt: skip
        if name in values and values[name] <= 0:
            raise ConfigError(f"{name} must be more than 0")
    if not 1 <= values.get("min_disclosed_count", 3) <= 100:
        raise ConfigError("min_disclosed_count must be between 1 and 100")
    if values.get("partner_release_minutes", 60) < 0 or values.get("partner_release_changes", 3) < 0:
        raise ConfigError("partner_release_minutes and partner_release_changes must be 0 or more")
    if values.get("smtp_security", "starttls") not in SMTP_SECURITY:
        raise ConfigError("smtp_security must be none, starttls or tls")
    if not 0 < values.get("smtp_port", 587) <= 65535:
        raise ConfigError("smtp_port must be between 1 and 65535")
    for name in ("smtp_timeout_seconds", "mail_retry_seconds"):
        if name in values and values[name] <= 0:
            raise ConfigError(f"{name} must be more than 0")
    if values.get("mail_from") and "@" not in values["mail_from"]:
        raise ConfigError("mail_from must be an address such as \"Our group <group@example.org>\"")
    language = values.get("default_language", "en")
    if language not in SHIPPED_LANGUAGES:
        raise ConfigError(f"default_language must be one of {', '.join(SHIPPED_LANGUAGES)}, got {language!r}")
    if not 1 <= values.get("workers", 1) <= MAX_WORKERS:
        raise ConfigError(f"workers must be between 1 and {MAX_WORKERS}")
    port = values.get("listen_port", 8080)
    if not 0 <= port <= 65535:
        raise ConfigError("listen_port must be between 0 and 65535")
    return Config(data_dir=data_dir, **values)


def to_toml(config: Config) -> str:
    """config.toml's text, written by a TOML library: any string (quotes, backslashes, newlines) reads back."""
    header = "# fedgroup settings. The base URL is the group's identity on the fediverse: do not change it.\n"
    return header + tomli_w.dumps({name: getattr(config, name) for name in _SETTINGS})


def with_overrides(config: Config, **changes: Any) -> Config:
    """The config with command-line flags applied (None means the flag was not given)."""
    given = {k: v for k, v in changes.items() if v is not None}
    return replace(config, **given) if given else config
