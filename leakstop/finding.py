"""The one data type passed between stages: `Finding`, its `Location`, and the helpers that keep
a secret out of every output (`redact`) while still identifying it (`fingerprint`)."""

from __future__ import annotations

import enum
import hashlib
import hmac
from dataclasses import dataclass, field

# Used when neither `fingerprint.salt` nor a repository root commit is available. It keeps
# fingerprints from being a bare SHA-256 of the secret, which could be looked up in a table.
DEFAULT_FINGERPRINT_KEY = b"leakstop/fingerprint/v1"

#: What reports show for a password-like secret: none of its characters, not even its length.
PASSWORD_MARKER = "[redacted]"
#: Most characters of a token's random part that `redact` shows (its last ones).
MAX_SHOWN_TAIL = 4


class Severity(str, enum.Enum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 for critical up to 4 for info: sort ascending to put the worst first."""
        return _SEVERITY_ORDER.index(self)


_SEVERITY_ORDER = list(Severity)


@dataclass(frozen=True, slots=True)
class Location:
    """Where a secret starts and ends. Lines and columns are 1-based; columns count characters
    (Unicode code points) and `end_column` points just past the last character, as in SARIF."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True, slots=True)
class Commit:
    """The commit that introduced a secret, for findings from git history."""

    sha: str
    author_name: str
    author_email: str
    #: ISO 8601 with offset, as git prints it (`%aI`).
    date: str
    summary: str = ""


@dataclass(frozen=True, slots=True)
class Finding:
    """One secret at one location. `secret` lives only in memory: outputs use `redacted`."""

    rule_id: str
    description: str
    severity: Severity
    location: Location
    secret: str = field(repr=False)
    #: Keyed hash of rule id and secret (see `fingerprint`): stable across moves and rebases.
    fingerprint: str
    #: Shannon entropy of the secret in bits per character.
    entropy: float
    #: The source line with the secret replaced by its redacted form, shortened.
    context: str = field(default="", repr=False)
    commit: Commit | None = None
    tags: tuple[str, ...] = ()
    #: True when an issuer-defined checksum or structure check passed.
    validated: bool = False
    #: Length of the issuer's public prefix at the start of `secret` (`Rule.public_prefix`).
    public_prefix: int = 0
    #: The secret may be chosen by a person (`Rule.password_like`): shown as PASSWORD_MARKER.
    password_like: bool = False

    @property
    def redacted(self) -> str:
        return redact(self.secret, self.public_prefix, self.password_like)


def redact(secret: str, prefix_length: int = 0, password_like: bool = False) -> str:
    """The secret as outputs show it: PASSWORD_MARKER for a password-like secret; else its
    first `prefix_length` characters (the issuer's public prefix, at most half the secret),
    "…", and at most MAX_SHOWN_TAIL of its last characters (`ghp_…a1B2`), enough to tell two
    tokens apart. The tail is at most a sixth of what follows the prefix, so a short secret
    shows little or nothing of its random part.
    """
    if password_like:
        return PASSWORD_MARKER
    prefix = secret[: max(0, min(prefix_length, len(secret) // 2))]
    tail = min(MAX_SHOWN_TAIL, (len(secret) - len(prefix)) // 6)
    return prefix + "…" + (secret[-tail:] if tail else "")


def fingerprint(rule_id: str, secret: str, key: bytes = DEFAULT_FINGERPRINT_KEY) -> str:
    """HMAC-SHA256 of rule id and secret under `key`, as 32 hex characters.

    No path, line or commit goes in, so a secret keeps its fingerprint when it moves.
    """
    message = rule_id.encode() + b"\0" + secret.encode("utf-8", "surrogatepass")
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def printable_path(path: str) -> str:
    """A path safe to print, serialise and match against gitignore patterns: undecodable
    file-name bytes (kept as surrogates so the file still opens) become U+FFFD."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
