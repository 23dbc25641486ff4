"""IAM access keys as a minting Issuer: a new key for the user, proven with STS, the old one
deactivated and then deleted.

IAM allows two access keys per user, and deleting a key cannot be undone, so leakstop keeps
a record on the user itself, as two tags every run on every machine can read:

* `leakstop-minted`: the key leakstop created last. Until it is proven, nothing but the
  rotation that minted it holds it (the store has it as pending at most), so it may be
  deleted when its rotation is rolled back, or, once older than LEFTOVER_AGE, when a run that
  died left it behind and a new rotation needs its slot.
* `leakstop-proven`: the last key a test proved to work (STS GetCallerIdentity signed with
  it, answering as this user).

A key is deleted only when it is inactive and another key, the proven one, is active; or when
it is leakstop's own unproven leftover. Anything else is at most deactivated, and `mint`
refuses to make room by deleting a key it cannot prove replaceable: the user is told which
key to remove. With `retire: deactivate`, a replaced key is only deactivated.

Values are `{"access_key_id": ..., "secret_access_key": ...}`. Messages show key ids
shortened (`AKIA…M2`) and never a secret access key.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from leakstop.errors import ProviderError
from leakstop.finding import redact
from leakstop.rotator.providers.aws_errors import aws_errors, error_code
from leakstop.rotator.providers.aws_options import DELETE, IamKeySpec
from leakstop.rotator.providers.aws_session import MAX_ATTEMPTS, AwsSession
from leakstop.rotator.providers.base import Value

log = logging.getLogger(__name__)

MINTED_TAG, PROVEN_TAG = "leakstop-minted", "leakstop-proven"
ACCESS_KEY_ID, SECRET_ACCESS_KEY = "access_key_id", "secret_access_key"
ACTIVE, INACTIVE = "Active", "Inactive"
#: An unproven key younger than this may belong to a run still at work (the machine's lease).
LEFTOVER_AGE = timedelta(minutes=10)
#: Error codes of a request refused for its rate (botocore's standard retry mode's list).
_THROTTLED = frozenset(
    {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}
)
#: What STS answers while a new key has not reached it yet (or never will).
_NOT_YET = frozenset({"InvalidClientTokenId", "SignatureDoesNotMatch", "AuthFailure"})


@dataclass(frozen=True)
class AccessKey:
    """One of the user's keys, as IAM lists it (never its secret)."""

    key_id: str
    status: str
    created: datetime | None = None

    def __str__(self) -> str:
        return f"{shown(self.key_id)} ({self.status.lower()})"


@dataclass(frozen=True)
class KeyRecord:
    """The user's leakstop tags."""

    minted: str | None = None
    proven: str | None = None

    def is_leftover(self, key: AccessKey) -> bool:
        """Minted by leakstop and never proven: nobody but its own rotation ever held it."""
        return key.key_id == self.minted and key.key_id != self.proven


class IamKeyIssuer:
    """Mints, tests and revokes one IAM user's access keys (see the module docstring).
    Raises ProviderError (one line, no secret)."""

    def __init__(
        self,
        session: AwsSession,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self._session = session
        self._sleep = sleep
        self._clock = clock

    def mint(self, spec: IamKeySpec) -> Value:
        keys = self.keys(spec.user)
        if len(keys) >= 2:
            self._make_room(spec.user, keys, self.record(spec.user))
        created = self._create_key(spec.user, {k.key_id for k in keys})
        key_id, secret = str(created["AccessKeyId"]), str(created["SecretAccessKey"])
        try:
            self._tag(spec.user, MINTED_TAG, key_id)
        except ProviderError:
            # Untagged, the key would look like someone else's and block the next rotation.
            self._delete(spec.user, key_id)
            raise
        log.info("created access key %s for IAM user %s", shown(key_id), spec.user)
        return {ACCESS_KEY_ID: key_id, SECRET_ACCESS_KEY: secret}

    def test(self, spec: IamKeySpec, value: Value) -> None:
        """STS GetCallerIdentity signed with the key must answer as the user, retried for
        `test_wait` seconds (IAM is eventually consistent); then the key is tagged proven."""
        key_id, secret = pair(value)
        doing = self._doing(f"test access key {shown(key_id)} of IAM user {spec.user}")
        key = next((k for k in self.keys(spec.user) if k.key_id == key_id), None)
        if key is None or key.status != ACTIVE:
            state = "does not exist" if key is None else "is inactive"
            raise ProviderError(f"{doing}: the key {state}")
        arn = self._caller(key_id, secret, doing)
        if _user_of(arn) != spec.user:
            raise ProviderError(f"{doing}: the key signs in as {arn}, not as the IAM user")
        self._tag(spec.user, PROVEN_TAG, key_id)

    def revoke(self, spec: IamKeySpec, value: Value) -> None:
        """Deactivate the key, then delete it if that is proven safe (module docstring).
        A key that no longer exists is revoked already."""
        key_id, _secret = pair(value)
        keys = self.keys(spec.user)
        key = next((k for k in keys if k.key_id == key_id), None)
        if key is None:
            log.info("access key %s of IAM user %s is gone already", shown(key_id), spec.user)
            return
        iam = self._session.client("iam")
        if key.status == ACTIVE:
            with aws_errors(self._doing(f"deactivate access key {shown(key_id)}")):
                iam.update_access_key(UserName=spec.user, AccessKeyId=key_id, Status=INACTIVE)
        record = self.record(spec.user)
        replaced = spec.retire == DELETE and _has_proven_other(key_id, keys, record)
        if record.is_leftover(key) or replaced:
            self._delete(spec.user, key_id)
        else:
            log.info(
                "access key %s of IAM user %s is inactive, not deleted (%s)",
                shown(key_id),
                spec.user,
                "retire: deactivate" if spec.retire != DELETE else "no other key is proven to work",
            )

    def keys(self, user: str) -> list[AccessKey]:
        """The user's access keys (IAM lists at most two)."""
        iam = self._session.client("iam")
        with aws_errors(self._doing(f"list the access keys of IAM user {user}")):
            listed = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
        return [
            AccessKey(str(k["AccessKeyId"]), str(k["Status"]), k.get("CreateDate")) for k in listed
        ]

    def record(self, user: str) -> KeyRecord:
        iam = self._session.client("iam")
        with aws_errors(self._doing(f"read the tags of IAM user {user}")):
            tags = iam.list_user_tags(UserName=user)["Tags"]
        found = {str(t["Key"]): str(t["Value"]) for t in tags}
        return KeyRecord(found.get(MINTED_TAG), found.get(PROVEN_TAG))

    def caller(self) -> str:
        """The ARN leakstop's own credentials sign in as."""
        sts = self._session.client("sts")
        with aws_errors(self._doing("ask STS who leakstop's credentials are")):
            return str(sts.get_caller_identity()["Arn"])

    def replaceable(self, keys: list[AccessKey], record: KeyRecord) -> AccessKey | None:
        """The key that may be deleted to make room for a new one, if one is proven
        replaceable: leakstop's unproven leftover of a stopped run (older than
        LEFTOVER_AGE), or an inactive key whose replacement is proven and active."""
        now = self._clock()
        for key in keys:
            old_enough = key.created is None or now - key.created >= LEFTOVER_AGE
            if record.is_leftover(key) and old_enough:
                return key
            if key.status == INACTIVE and _has_proven_other(key.key_id, keys, record):
                return key
        return None

    def _make_room(self, user: str, keys: list[AccessKey], record: KeyRecord) -> None:
        """Delete one of two keys if it is proven replaceable; else fail saying what to do."""
        spare = self.replaceable(keys, record)
        if spare is None:
            raise ProviderError(self._doing(full_message(user, keys)))
        log.info("deleting %s of IAM user %s to make room: replaceable", spare, user)
        self._delete(user, spare.key_id)

    def _create_key(self, user: str, seen: set[str]) -> Any:
        """CreateAccessKey, retried only after a look. It is not idempotent: botocore's own
        retry after a lost answer (a dropped connection, a timeout, a 5xx sent after the work
        was done) made a second key, or was refused as a third, and left the first one, whose
        secret nobody ever received, blocking every later rotation of the user. So the call is
        sent once per attempt, and before another attempt a key that appeared meanwhile is
        deleted: it is the lost answer's (a key made in that second by someone else would be
        deleted too; that user's keys are leakstop's to manage)."""
        from botocore.exceptions import ClientError

        iam = self._session.client("iam", attempts=1)
        doing = self._doing(f"create an access key for IAM user {user}")
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with aws_errors(doing):
                    return iam.create_access_key(UserName=user)["AccessKey"]
            except ProviderError as exc:
                cause = exc.__cause__
                if not _may_retry(cause):
                    raise
                unanswered = self._delete_unseen(user, seen)
                if attempt == MAX_ATTEMPTS:
                    if unanswered and not isinstance(cause, ClientError):
                        raise ProviderError(
                            f"{exc}; the answer was lost, and the key IAM made meanwhile "
                            f"({', '.join(map(shown, unanswered))}) was deleted"
                        ) from cause
                    raise
                log.info(
                    "%s: %s; trying again%s",
                    doing,
                    "no answer" if not isinstance(cause, ClientError) else error_code(cause),
                    f" (deleted {', '.join(map(shown, unanswered))}, made unanswered)"
                    if unanswered
                    else "",
                )
            self._sleep(min(0.5 * 2**attempt, 4.0))
        raise AssertionError("unreachable")  # pragma: no cover

    def _delete_unseen(self, user: str, seen: set[str]) -> list[str]:
        """Delete the user's keys not in `seen`: made by a CreateAccessKey whose answer was
        lost. Raises ProviderError when they cannot be listed or deleted."""
        unseen = [k.key_id for k in self.keys(user) if k.key_id not in seen]
        for key_id in unseen:
            self._delete(user, key_id)
        return unseen

    def _caller(self, key_id: str, secret: str, doing: str) -> str:
        from botocore.exceptions import ClientError

        sts = self._session.client_with_key("sts", key_id, secret)
        deadline = time.monotonic() + self._session.settings.test_wait
        pause = 0.5
        while True:
            with aws_errors(doing, hide=(secret,)):
                try:
                    return str(sts.get_caller_identity()["Arn"])
                except ClientError as exc:
                    if error_code(exc) not in _NOT_YET or time.monotonic() >= deadline:
                        raise
            self._sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, 4.0)

    def _tag(self, user: str, tag: str, key_id: str) -> None:
        iam = self._session.client("iam")
        with aws_errors(self._doing(f"tag IAM user {user} ({tag})")):
            iam.tag_user(UserName=user, Tags=[{"Key": tag, "Value": key_id}])

    def _delete(self, user: str, key_id: str) -> None:
        iam = self._session.client("iam")
        try:
            with aws_errors(self._doing(f"delete access key {shown(key_id)} of IAM user {user}")):
                iam.delete_access_key(UserName=user, AccessKeyId=key_id)
        except ProviderError as exc:
            if "NoSuchEntity" not in str(exc):
                raise

    def _doing(self, action: str) -> str:
        return self._session.doing(action)


def full_message(user: str, keys: list[AccessKey]) -> str:
    """Why a new key cannot be made for `user`, and what to do."""
    return (
        f"IAM user {user} already has two access keys ({', '.join(map(str, keys))}) and "
        "leakstop cannot prove either replaceable; delete the one not in use, then rotate again"
    )


def pair(value: Value) -> tuple[str, str]:
    """(access key id, secret access key) of a stored value. Raises ProviderError."""
    if isinstance(value, bytes):
        try:
            value = json.loads(value)
        except ValueError:
            value = {}
    if not isinstance(value, dict):
        value = {}
    key_id, secret = value.get(ACCESS_KEY_ID), value.get(SECRET_ACCESS_KEY)
    if not isinstance(key_id, str) or not isinstance(secret, str):
        raise ProviderError(
            f"an IAM access key value needs the fields {ACCESS_KEY_ID} and {SECRET_ACCESS_KEY} "
            "(store the whole pair: no store.key)"
        )
    return key_id, secret


def shown(key_id: str) -> str:
    """A key id as messages show it: `AKIA…M2`."""
    return redact(key_id, 4)


def _has_proven_other(key_id: str, keys: list[AccessKey], record: KeyRecord) -> bool:
    """Whether another of the user's keys is the proven one, and active."""
    return any(
        k.key_id == record.proven and k.key_id != key_id and k.status == ACTIVE for k in keys
    )


def _may_retry(cause: BaseException | None) -> bool:
    """Whether a failed call may be tried again (after a look): no answer at all, a
    throttling error, or a server error; not a refusal such as LimitExceeded."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError, SSLError
    from botocore.parsers import ResponseParserError

    if isinstance(cause, SSLError):
        return False  # the same certificate would be refused again
    if isinstance(cause, (ConnectionError, HTTPClientError, ResponseParserError)):
        return True  # no answer, or none that could be read
    if isinstance(cause, ClientError):
        status = cause.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error_code(cause) in _THROTTLED or int(status) == 429 or int(status) >= 500
    return False


def _user_of(arn: str) -> str:
    """`arn:aws:iam::123456789012:user/ci/deployer` → `deployer`; "" for another kind."""
    _, sep, path = arn.partition(":user/")
    return path.rsplit("/", 1)[-1] if sep else ""
