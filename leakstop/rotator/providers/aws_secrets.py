"""AWS Secrets Manager as a leakstop Store: its own staging labels are the machine's journal.

* **current** is the version labelled `AWSCURRENT`: what every consumer reads by default.
* **pending** is `AWSPENDING`: `put_pending` writes a new version with that label only
  (PutSecretValue with VersionStages=[AWSPENDING]), after checking that `AWSCURRENT` is still
  on the version the rotation read; it re-reads the labels after writing and withdraws when
  another run got in between (PutSecretValue moves AWSPENDING unconditionally: see
  `_back_out_if_overtaken` for what that leaves open). Consumers never see it until it is
  promoted.
* **promote** moves `AWSCURRENT` with UpdateSecretVersionStage, naming the version it must be
  taken from (RemoveFromVersionId): Secrets Manager refuses the move if the label is no
  longer there, which is the check-and-set. Secrets Manager then puts `AWSPREVIOUS` on the
  old version itself, so the old credential stays readable for its revocation after grace.
  `AWSPENDING` is then removed. Repeating a promote that already moved `AWSCURRENT` only
  removes `AWSPENDING`.
* **discard_pending** removes `AWSPENDING`; a version without labels is deprecated, and
  Secrets Manager deletes it in time.

Version ids are Secrets Manager's (UUIDs). The first version of a new secret is `AWSCURRENT`
at once (Secrets Manager's rule), so a rotation that creates a secret cannot be rolled back in
the store: create the secret with the value in use first, or let it be.

Values: without `key:`, a SecretString that is a JSON object is a structured value (a dict),
any other SecretString is bytes (UTF-8), a SecretBinary is bytes; a dict is written as a JSON
object. With `key:` the value is that field of the JSON object, and a write keeps the other
fields.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leakstop.config.options import Options
from leakstop.errors import ProviderConflictError, ProviderError
from leakstop.rotator.providers.aws_errors import aws_errors, error_code
from leakstop.rotator.providers.aws_options import SecretPlace, parse_place
from leakstop.rotator.providers.aws_session import AwsSession
from leakstop.rotator.providers.base import CURRENT, PENDING, PREVIOUS, StoredVersion, Value

AWSCURRENT, AWSPENDING, AWSPREVIOUS = "AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"
_LABELS = {AWSCURRENT: CURRENT, AWSPENDING: PENDING, AWSPREVIOUS: PREVIOUS}


@dataclass(frozen=True)
class _Version:
    version_id: str
    stages: frozenset[str]
    created: datetime | None = None

    def stored(self) -> StoredVersion:
        labels = tuple(
            _LABELS[s] for s in (AWSCURRENT, AWSPENDING, AWSPREVIOUS) if s in self.stages
        )
        return StoredVersion(self.version_id, labels, self.created)


class SecretsManagerStore:
    """The Store protocol over one provider's Secrets Manager. `where` is a secret's `store:`
    options: `secret_id` (name or ARN), `key`. Raises ProviderError (one line, no value) and
    ProviderConflictError when a check-and-set loses."""

    def __init__(self, session: AwsSession) -> None:
        self._session = session
        self.name = session.provider

    def current(self, name: str, where: Options) -> StoredVersion | None:
        found = _labelled(self._versions(parse_place(name, where)), AWSCURRENT)
        return found.stored() if found else None

    def pending(self, name: str, where: Options) -> StoredVersion | None:
        """The rotation in flight; labelled current too when an earlier `promote` moved
        `AWSCURRENT` and stopped before removing `AWSPENDING`: promote it again to finish."""
        found = _labelled(self._versions(parse_place(name, where)), AWSPENDING)
        return found.stored() if found else None

    def read(self, name: str, where: Options, version: str | None = None) -> Value:
        place = parse_place(name, where)
        which = f"version {version}" if version else AWSCURRENT
        # VersionStage is given explicitly: the default is documented, moto needs it.
        selector = {"VersionId": version} if version else {"VersionStage": AWSCURRENT}
        with aws_errors(self._doing(f"read {place.secret_id} ({which})")):
            response = self._client().get_secret_value(SecretId=place.secret_id, **selector)
        return _decode(place, response, self._doing(f"read {place}"))

    def put_pending(
        self, name: str, where: Options, value: Value, expected_current: str | None
    ) -> StoredVersion:
        place = parse_place(name, where)
        doing = self._doing(f"write {place.secret_id}")
        versions = self._versions(place, deprecated=True)
        if versions is None:
            if expected_current is not None:
                raise ProviderConflictError(f"{doing}: the secret was deleted meanwhile")
            with aws_errors(doing):
                self._client().create_secret(
                    Name=place.secret_id,
                    Description="managed by leakstop",
                    ClientRequestToken=str(uuid.uuid4()),
                )
            versions = []
        current = _labelled(versions, AWSCURRENT)
        if (current.version_id if current else None) != expected_current:
            raise ProviderConflictError(
                f"{doing}: changed by another writer (AWSCURRENT is "
                f"{current.version_id if current else 'on no version'}, expected "
                f"{expected_current or 'none'}); nothing was written"
            )
        in_flight = _labelled(versions, AWSPENDING)
        if in_flight is not None and AWSCURRENT not in in_flight.stages:
            raise ProviderConflictError(
                f"{doing}: a rotation is already in flight (AWSPENDING is on version "
                f"{in_flight.version_id}); resume or discard it"
            )
        base = self._string(place, current.version_id) if current and place.key else None
        payload = _encode(place, value, base, doing)
        with aws_errors(doing):
            written = self._client().put_secret_value(
                SecretId=place.secret_id,
                ClientRequestToken=str(uuid.uuid4()),
                VersionStages=[AWSPENDING],
                **payload,
            )
        version_id = str(written["VersionId"])
        looked = {v.version_id for v in versions}
        after = self._versions(place, deprecated=True) or []
        self._back_out_if_overtaken(place, name, version_id, expected_current, looked, after)
        made = next((v for v in after if v.version_id == version_id), None)
        return made.stored() if made else StoredVersion(version_id, (PENDING,))

    def promote(
        self, name: str, where: Options, version: str, expected_current: str | None
    ) -> None:
        place = parse_place(name, where)
        doing = self._doing(f"promote version {version} of {place.secret_id}")
        versions = self._versions(place) or []
        target = next((v for v in versions if v.version_id == version), None)
        if target is None:
            raise ProviderError(f"{doing}: no such version")
        if AWSCURRENT not in target.stages:
            current = _labelled(versions, AWSCURRENT)
            if (current.version_id if current else None) != expected_current:
                raise self._changed(doing, current, expected_current)
            if AWSPENDING not in target.stages:
                raise ProviderError(f"{doing}: the version is not pending (was it discarded?)")
            moved = {"RemoveFromVersionId": current.version_id} if current else {}
            try:
                with aws_errors(doing):
                    self._client().update_secret_version_stage(
                        SecretId=place.secret_id,
                        VersionStage=AWSCURRENT,
                        MoveToVersionId=version,
                        **moved,
                    )
            except ProviderError as exc:
                if _is_refused_move(exc):
                    raise ProviderConflictError(str(exc)) from exc
                raise
        if AWSPENDING in target.stages:
            # Quietly: a late writer's PutSecretValue may have taken the label meanwhile (it
            # withdraws when it sees AWSCURRENT moved); the promotion is done either way.
            self._move_label_quietly(place, AWSPENDING, version, None, doing)

    def discard_pending(self, name: str, where: Options, version: str) -> None:
        place = parse_place(name, where)
        doing = self._doing(f"discard pending version {version} of {place.secret_id}")
        versions = self._versions(place) or []
        target = next((v for v in versions if v.version_id == version), None)
        if target is None or AWSPENDING not in target.stages:
            return  # discarded already
        if AWSCURRENT in target.stages:
            raise ProviderConflictError(f"{doing}: the version is already AWSCURRENT")
        self._move_label_quietly(place, AWSPENDING, version, None, doing)

    def describe(self, name: str, where: Options) -> bool:
        """Whether the secret exists (`providers check`); ProviderError when it cannot be
        asked (no permission, no network)."""
        place = parse_place(name, where)
        try:
            with aws_errors(self._doing(f"describe {place.secret_id}")):
                self._client().describe_secret(SecretId=place.secret_id)
        except ProviderError as exc:
            if "ResourceNotFoundException" in str(exc):
                return False
            raise
        return True

    def _back_out_if_overtaken(
        self,
        place: SecretPlace,
        name: str,
        ours: str,
        expected_current: str | None,
        looked: set[str],
        after: list[_Version],
    ) -> None:
        """Withdraw our pending version `ours` and raise ProviderConflictError when another
        writer got in between put_pending's look (version ids `looked`) and its write (`after`
        is the listing re-read since, deprecated versions included).

        PutSecretValue moves AWSPENDING unconditionally, so checking before the write is not
        enough: a run that finished a whole rotation meanwhile leaves AWSCURRENT moved, and a
        run that wrote its pending version meanwhile had the label taken from it by our write.
        That run may already be applying its value, so the label goes back to it.

        The window this leaves (AWS offers no conditional PutSecretValue): between our write
        and this give-back, the other run's version has no AWSPENDING; a promote of it in
        those milliseconds is refused after its issuer took the value. Closing it needs the
        version written under a private label and AWSPENDING then attached by
        UpdateSecretVersionStage *without* RemoveFromVersionId, which the API reference says
        fails while the label is attached to another version (a real check-and-set). The
        user guide's description of the same call says the label is moved instead, and moto
        (5.x) appends it, leaving two versions labelled AWSPENDING, so no test here can show
        which is true; until one can, this store relies on the give-back."""
        current = _labelled(after, AWSCURRENT)
        now = current.version_id if current else None
        # A secret's first version is AWSCURRENT at once (Secrets Manager's rule).
        moved = now != expected_current and not (expected_current is None and now == ours)
        mine = next((v for v in after if v.version_id == ours), None)
        holds_label = mine is not None and AWSPENDING in mine.stages
        rivals = [v for v in after if v.version_id not in looked and v.version_id != ours]
        if not moved and holds_label and not rivals:
            return
        doing = self._doing(f"withdraw pending version {ours} of {place.secret_id}")
        if holds_label:
            give_to = rivals[0].version_id if len(rivals) == 1 and not moved else None
            self._move_label_quietly(place, AWSPENDING, ours, give_to, doing)
        why = "rotated by another run" if moved else "written by another run at the same time"
        raise ProviderConflictError(
            f"{doing}: {name} was {why} (AWSCURRENT is "
            f"{current.version_id if current else 'on no version'}, expected "
            f"{expected_current or 'none'}); this run's pending version was withdrawn"
        )

    def _move_label_quietly(
        self, place: SecretPlace, stage: str, source: str, target: str | None, doing: str
    ) -> None:
        """Take `stage` from `source` (to `target`, if given); a refusal means it is no
        longer on `source`, which is all that was wanted."""
        move = {"MoveToVersionId": target} if target else {}
        try:
            with aws_errors(doing):
                self._client().update_secret_version_stage(
                    SecretId=place.secret_id, VersionStage=stage, RemoveFromVersionId=source, **move
                )
        except ProviderError as exc:
            if not _is_refused_move(exc):
                raise

    def _versions(self, place: SecretPlace, deprecated: bool = False) -> list[_Version] | None:
        """Every version that has a label (with `deprecated`, those without one too), or None
        when the secret does not exist."""
        from botocore.exceptions import ClientError

        found: list[_Version] = []
        request: dict[str, Any] = {"SecretId": place.secret_id, "IncludeDeprecated": deprecated}
        with aws_errors(self._doing(f"list the versions of {place.secret_id}")):
            # DescribeSecret says whether it exists (moto answers ListSecretVersionIds about
            # a missing secret with a 500, AWS with ResourceNotFoundException).
            try:
                self._client().describe_secret(SecretId=place.secret_id)
            except ClientError as exc:
                if error_code(exc) == "ResourceNotFoundException":
                    return None
                raise
            while True:
                page = self._client().list_secret_version_ids(**request)
                for item in page.get("Versions", []):
                    stages = frozenset(str(s) for s in item.get("VersionStages", []))
                    found.append(_Version(str(item["VersionId"]), stages, item.get("CreatedDate")))
                token = page.get("NextToken")
                if not token:
                    return found
                request["NextToken"] = token

    def _string(self, place: SecretPlace, version: str) -> str | None:
        """The SecretString of `version` (None for a binary secret)."""
        with aws_errors(self._doing(f"read {place.secret_id} (version {version})")):
            response = self._client().get_secret_value(SecretId=place.secret_id, VersionId=version)
        string = response.get("SecretString")
        return string if isinstance(string, str) else None

    def _changed(
        self, doing: str, current: _Version | None, expected: str | None
    ) -> ProviderConflictError:
        return ProviderConflictError(
            f"{doing}: changed by another writer (AWSCURRENT is "
            f"{current.version_id if current else 'on no version'}, expected {expected or 'none'})"
        )

    def _client(self) -> Any:
        return self._session.client("secretsmanager")

    def _doing(self, action: str) -> str:
        return self._session.doing(action)


def _labelled(versions: list[_Version] | None, stage: str) -> _Version | None:
    return next((v for v in versions or [] if stage in v.stages), None)


def _is_refused_move(exc: ProviderError) -> bool:
    # Secrets Manager refuses to take a label from a version that does not have it.
    return "InvalidParameterException" in str(exc) or "InvalidRequestException" in str(exc)


def _encode(place: SecretPlace, value: Value, base: str | None, doing: str) -> dict[str, Any]:
    if place.key is None:
        if isinstance(value, dict):
            return {"SecretString": json.dumps(value)}
        try:
            return {"SecretString": value.decode("utf-8")}
        except UnicodeDecodeError:
            return {"SecretBinary": value}
    fields: dict[str, Any] = {}
    if base:
        try:
            parsed = json.loads(base)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise ProviderError(
                f"{doing}: store.key needs a JSON object in SecretString, and the current "
                "version holds something else"
            )
        fields = parsed
    if isinstance(value, dict):
        fields.update({str(k): v for k, v in value.items()})
    else:
        try:
            fields[place.key] = value.decode("utf-8")
        except UnicodeDecodeError:
            raise ProviderError(f"{doing}: the value is not UTF-8 text (a JSON field)") from None
    return {"SecretString": json.dumps(fields)}


def _decode(place: SecretPlace, response: Any, doing: str) -> Value:
    string = response.get("SecretString")
    if not isinstance(string, str):
        binary = response.get("SecretBinary")
        if place.key is not None or not isinstance(binary, bytes):
            raise ProviderError(f"{doing}: the secret holds no SecretString")
        return binary
    try:
        parsed = json.loads(string)
    except ValueError:
        parsed = None
    if place.key is None:
        return parsed if isinstance(parsed, dict) else string.encode("utf-8")
    if not isinstance(parsed, dict) or place.key not in parsed:
        raise ProviderError(f"{doing}: the secret has no JSON field {place.key!r}")
    field = parsed[place.key]
    return field.encode("utf-8") if isinstance(field, str) else json.dumps(field).encode("utf-8")
