"""The one data type passed between stages: `Finding`, its `Location`, and the helpers that keep
a secret out of every output (`redact`) while still identifying it (`fingerprint`)."""

from __future__ import annotations

import enum
import functools
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

from leakstop.verify.model import Verification

# Used when neither `fingerprint.salt` nor a repository root commit is available. It keeps
# fingerprints from being a bare SHA-256 of the secret, which could be looked up in a table.
DEFAULT_FINGERPRINT_KEY = b"leakstop/fingerprint/v1"

#: What reports show for a password-like secret: none of its characters, not even its length.
PASSWORD_MARKER = "[redacted]"
#: Most characters of a token's random part that `redact` shows (its last ones).
MAX_SHOWN_TAIL = 4

# scrypt cost (RFC 7914) for fingerprints of password-like secrets. Measured on the project's
# 2-core AMD EPYC machine (Python 3.11, OpenSSL 3.0.19), r=8, p=1, 21 runs each, fastest and
# median with one core free: n=2**10 2.8 / 3.2-3.6 ms, n=2**11 6.2 / 6.5-8.0 ms, n=2**12
# 11.1 / 12.5-16 ms, n=2**13 23.6 / 29-30 ms, n=2**14 48 / 56-59 ms (with both cores busy,
# medians nearly double: n=2**11 11-13 ms). n=2**11 is the largest within the 5-10 ms budget
# per distinct secret; it needs 2 MiB (128 * r * n bytes). Changing any of these changes
# every password-like fingerprint: that needs a new baseline version and an upgrade step.
SCRYPT_N = 2**11
SCRYPT_R = 8
SCRYPT_P = 1


#: A finding's tag when the change being scanned hides it (its own `leakstop:allow` comment)
#: and it is reported anyway, being live or high-severity (scanner/weakening.py).
SUPPRESSED_BY_CHANGE = "suppressed-by-this-change"
#: How reports say so.
SUPPRESSED_BY_CHANGE_NOTE = "suppressed by this pull request; reported: live or high severity"


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

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Pickled with every history item sent to a worker: a tuple, not the slots
        # dataclass's field-by-field state (several times faster).
        return type(self), (self.sha, self.author_name, self.author_email, self.date, self.summary)


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
    #: The secret may be chosen by a person (`Rule.password_like`): shown as PASSWORD_MARKER,
    #: fingerprinted with the slow derivation.
    password_like: bool = False
    #: The fingerprint as leakstop computed it before password-like secrets got slow ones
    #: (`legacy_fingerprint`), so old baselines and allowlists still match; None when it
    #: equals `fingerprint` (tokens).
    legacy_fingerprint: str | None = None
    #: The live check's outcome (`scan --verify`); None when not checked or no verifier.
    verification: Verification | None = None

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


def fingerprint(
    rule_id: str,
    secret: str,
    key: bytes = DEFAULT_FINGERPRINT_KEY,
    password_like: bool = False,
) -> str:
    """A keyed hash of rule id and secret under `key`, as 32 hex characters. No path, line or
    commit goes in, so a secret keeps its fingerprint when it moves.

    The key is no secret in an open repository (the root commit id, or a salt in the
    committed config), so whoever reads a baseline can test guesses at a secret offline.
    Issuer tokens are random (128 bits or more), so no number of guesses finds one: they get
    `legacy_fingerprint`, HMAC-SHA256, about 3-4 million guesses per second per core (OpenSSL
    hashes 2.8-3.8 million 64-byte messages a second on the machine where SCRYPT_N was
    measured; an HMAC of a short message costs the same two SHA-256 blocks once the key is
    absorbed). A password-like secret is stretched with scrypt first: ~7 ms and 2 MiB each,
    ~140 guesses per second per core, some 25,000 times fewer. That slows a dictionary attack
    on a published baseline; it cannot save a weak password (`Summer2024!`): rotate it.
    Derivations are memoised per process, as history holds the same password many times.
    """
    if password_like:
        return _stretched_fingerprint(rule_id, secret, key)
    return legacy_fingerprint(rule_id, secret, key)


def legacy_fingerprint(rule_id: str, secret: str, key: bytes = DEFAULT_FINGERPRINT_KEY) -> str:
    """HMAC-SHA256 of rule id and secret, 32 hex characters: every fingerprint before
    baseline version 2, and still the fingerprint of tokens."""
    message = rule_id.encode() + b"\0" + _encoded(secret)
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


# 16,384 entries stay under 20 MB even if every secret were 1 KB (the default longest match).
# The cache holds secrets in memory for the life of the process, as the findings do.
@functools.lru_cache(maxsize=16384)
def _stretched_fingerprint(rule_id: str, secret: str, key: bytes) -> str:
    salt = hmac.new(key, b"leakstop/scrypt-salt\0" + rule_id.encode(), hashlib.sha256).digest()
    stretched = hashlib.scrypt(
        _encoded(secret), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    message = b"scrypt\0" + rule_id.encode() + b"\0" + stretched
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def _encoded(secret: str) -> bytes:
    # Lone surrogates (from undecodable bytes) must hash too, not raise.
    return secret.encode("utf-8", "surrogatepass")


def printable_path(path: str) -> str:
    """A path safe to print, serialise and match against gitignore patterns: undecodable
    file-name bytes (kept as surrogates so the file still opens) become U+FFFD."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
