"""`audit:` in `.leakstop.yaml`: where the log lives, anomaly thresholds, extra sinks.

```yaml
audit:
  dir: /var/lib/leakstop/audit          # default: $LEAKSTOP_HOME/audit
  anomalies:
    failed_attempts: {count: 5, window: 1h}
    excessive_access: {count: 100, window: 1h, factor: 5}
    unusual_hours: {start: "07:00", end: "20:00", timezone: Europe/Berlin}
    concurrent_access: {actors: 3, window: 10m}
    rotation_failures: {in_a_row: 3}
  sinks:
    - {type: http, url: https://siem.example/leakstop, key_env: SIEM_KEY}
    - {type: postgres, dsn_env: AUDIT_DSN, table: leakstop_audit}
    - {type: git, branch: leakstop-audit, remote: origin, token_env: GITHUB_TOKEN}
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path

from leakstop.gitcli import is_branch_name, is_remote_name
from leakstop.yamlfile import Fields

AUDIT_KEYS = ("dir", "anomalies", "sinks")
SINK_TYPES = ("http", "postgres", "git")
_HOUR = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}(?:\.[A-Za-z_][A-Za-z0-9_]{0,62})?$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: What git takes as a remote URL: scheme://, an absolute path, or scp-like user@host:path.
_REMOTE_URL = re.compile(
    r"^(?:(?:https?|ssh|git|file)://.+|/.+|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:.+)$"
)


@dataclass(frozen=True)
class FailedAttempts:
    """At least `count` failed actions on one secret, or by one actor, within `window`."""

    count: int = 5
    window: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class ExcessiveAccess:
    """More than `count` reads of one secret within `window`, or more than `factor` times
    the secret's own median reads per window."""

    count: int = 100
    window: timedelta = timedelta(hours=1)
    factor: float = 5.0


@dataclass(frozen=True)
class UnusualHours:
    """Actions outside `start`–`end` (local time in `timezone`); off when not configured."""

    start: time
    end: time
    timezone: str = "UTC"


@dataclass(frozen=True)
class ConcurrentAccess:
    """More than `actors` distinct actors (or sources) on one secret within `window`."""

    actors: int = 3
    window: timedelta = timedelta(minutes=10)


@dataclass(frozen=True)
class RotationFailures:
    """`in_a_row` failed rotations of one secret with no success between them."""

    in_a_row: int = 3


@dataclass(frozen=True)
class AnomalySettings:
    failed_attempts: FailedAttempts = field(default_factory=FailedAttempts)
    excessive_access: ExcessiveAccess = field(default_factory=ExcessiveAccess)
    unusual_hours: UnusualHours | None = None
    concurrent_access: ConcurrentAccess = field(default_factory=ConcurrentAccess)
    rotation_failures: RotationFailures = field(default_factory=RotationFailures)


@dataclass(frozen=True)
class HttpSinkSettings:
    """POST each record as JSON to `url`, signed with the key in `$key_env`."""

    url: str
    key_env: str | None = None
    timeout: float = 5.0
    retries: int = 3


@dataclass(frozen=True)
class PostgresSinkSettings:
    """INSERT each record into `table` of the database `$dsn_env` names."""

    dsn_env: str
    table: str = "leakstop_audit"


@dataclass(frozen=True)
class GitSinkSettings:
    """Push the run's records to `branch` of `remote` (a remote's name in the repository
    around the working directory, or a URL), with the token in `$token_env` over https."""

    branch: str = "leakstop-audit"
    remote: str = "origin"
    token_env: str = "GITHUB_TOKEN"


SinkSettings = HttpSinkSettings | PostgresSinkSettings | GitSinkSettings


@dataclass(frozen=True)
class AuditSettings:
    #: None: `$LEAKSTOP_HOME/audit`.
    dir: Path | None = None
    anomalies: AnomalySettings = field(default_factory=AnomalySettings)
    sinks: tuple[SinkSettings, ...] = ()


def parse_audit(fields: Fields, base_dir: Path) -> AuditSettings:
    fields.check_keys(AUDIT_KEYS)
    folder = fields.optional_string("dir")
    anomalies = fields.sub("anomalies", "audit.anomalies")
    return AuditSettings(
        dir=(base_dir / Path(folder).expanduser()) if folder else None,
        anomalies=_anomalies(anomalies) if anomalies is not None else AnomalySettings(),
        sinks=tuple(
            _sink(Fields(item, fields.path, fields.error, "an audit sink"))
            for item, _line in fields.items("sinks")
        ),
    )


def _anomalies(fields: Fields) -> AnomalySettings:
    fields.check_keys(
        (
            "failed_attempts",
            "excessive_access",
            "unusual_hours",
            "concurrent_access",
            "rotation_failures",
        )
    )
    defaults = AnomalySettings()
    failed = defaults.failed_attempts
    if (sub := fields.sub("failed_attempts")) is not None:
        sub.check_keys(("count", "window"))
        failed = FailedAttempts(
            sub.integer("count", failed.count, low=1, high=1_000_000),
            sub.duration("window", failed.window),
        )
    excessive = defaults.excessive_access
    if (sub := fields.sub("excessive_access")) is not None:
        sub.check_keys(("count", "window", "factor"))
        excessive = ExcessiveAccess(
            sub.integer("count", excessive.count, low=1, high=1_000_000_000),
            sub.duration("window", excessive.window),
            sub.number("factor", low=1, high=1000) or excessive.factor,
        )
    hours = None
    if (sub := fields.sub("unusual_hours")) is not None:
        sub.check_keys(("start", "end", "timezone"))
        name = sub.string("timezone", "UTC")
        import zoneinfo  # only for a config that sets unusual_hours

        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            sub.fail(f"unknown timezone {name!r}", sub.line_of("timezone"))
        hours = UnusualHours(_hour(sub, "start"), _hour(sub, "end"), name)
    concurrent = defaults.concurrent_access
    if (sub := fields.sub("concurrent_access")) is not None:
        sub.check_keys(("actors", "window"))
        concurrent = ConcurrentAccess(
            sub.integer("actors", concurrent.actors, low=1, high=100_000),
            sub.duration("window", concurrent.window),
        )
    rotations = defaults.rotation_failures
    if (sub := fields.sub("rotation_failures")) is not None:
        sub.check_keys(("in_a_row",))
        rotations = RotationFailures(sub.integer("in_a_row", rotations.in_a_row, low=1, high=1000))
    return AnomalySettings(failed, excessive, hours, concurrent, rotations)


def _hour(fields: Fields, key: str) -> time:
    text = fields.string(key, required=True)
    match = _HOUR.match(text)
    if match is None:
        fields.fail(f"{key!r} must be a time such as 07:00, got {text!r}", fields.line_of(key))
    return time(int(match.group(1)), int(match.group(2)))


def _sink(fields: Fields) -> SinkSettings:
    kind = fields.string("type", required=True)
    if kind == "http":
        fields.check_keys(("type", "url", "key_env", "timeout", "retries"))
        url = fields.string("url", required=True)
        if not url.startswith(("https://", "http://")):
            fields.fail(
                "url must start with https:// (or http:// for a local test)", fields.line_of("url")
            )
        key_env = fields.optional_string("key_env")
        if key_env is not None and not _ENV.match(key_env):
            fields.fail(
                f"key_env must name an environment variable, got {key_env!r}",
                fields.line_of("key_env"),
            )
        return HttpSinkSettings(
            url,
            key_env,
            fields.number("timeout", low=0.1, high=300) or 5.0,
            fields.integer("retries", 3, low=0, high=20),
        )
    if kind == "postgres":
        fields.check_keys(("type", "dsn_env", "table"))
        dsn_env = fields.string("dsn_env", required=True)
        if not _ENV.match(dsn_env):
            fields.fail(
                f"dsn_env must name an environment variable (the DSN itself never goes in the "
                f"file), got {dsn_env!r}",
                fields.line_of("dsn_env"),
            )
        table = fields.string("table", "leakstop_audit")
        if not _TABLE.match(table):
            fields.fail(f"table must be a plain SQL name, got {table!r}", fields.line_of("table"))
        return PostgresSinkSettings(dsn_env, table)
    if kind == "git":
        return _git_sink(fields)
    fields.fail(
        f"unknown sink type {kind!r} (choose from {', '.join(SINK_TYPES)})", fields.line_of("type")
    )


def _git_sink(fields: Fields) -> GitSinkSettings:
    fields.check_keys(("type", "branch", "remote", "token_env"))
    defaults = GitSinkSettings()
    branch = fields.string("branch", defaults.branch)
    if not is_branch_name(branch):
        fields.fail(f"branch must be a git branch name, got {branch!r}", fields.line_of("branch"))
    remote = fields.string("remote", defaults.remote)
    if not (is_remote_name(remote) or _is_remote_url(remote)):
        fields.fail(
            f"remote must be a remote's name (origin) or a URL (https://, ssh://, file://, "
            f"user@host:path or an absolute path), got {remote!r}",
            fields.line_of("remote"),
        )
    if _has_credentials(remote):
        fields.fail(
            "credentials do not belong in the remote's URL; the token comes from token_env",
            fields.line_of("remote"),
        )
    token_env = fields.string("token_env", defaults.token_env)
    if not _ENV.match(token_env):
        fields.fail(
            f"token_env must name an environment variable (the token itself never goes in "
            f"the file), got {token_env!r}",
            fields.line_of("token_env"),
        )
    return GitSinkSettings(branch, remote, token_env)


def _has_credentials(url: str) -> bool:
    """A password in any URL, or any user in an http(s) or file URL (where it is a token);
    an ssh URL's user is a login name."""
    scheme, _, rest = url.partition("://")
    userinfo, at, _host = rest.split("/", 1)[0].rpartition("@")
    return bool(at) and (":" in userinfo or scheme not in ("ssh", "git"))


def _is_remote_url(text: str) -> bool:
    return bool(_REMOTE_URL.match(text)) and not any(c.isspace() for c in text)
