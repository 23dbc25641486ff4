"""GitHub Actions secrets as a leakstop Store, and why it needs a journal.

How the Store protocol maps onto GitHub, and why
------------------------------------------------
An Actions secret can be written, never read back, and has neither versions nor check-and-set.
The rotation machine needs all three: it reads the old value to revoke it after the grace
period (and to put it back on a rollback), and its journal — a `pending` version that a run
killed anywhere resumes from — must hold the new value until it is proven to work.

So the github store is GitHub *plus a journal*: another, readable store (`journal:` in the
provider, default the local encrypted store; Vault works too, with the secret's place in it
under `store: {journal: {...}}`). The journal holds the versions, labels and values, with its
own check-and-set; GitHub holds what workflows read:

* **current** is the journal's current version — the value last written to GitHub.
* **pending** lives in the journal only. Writing it to GitHub before it is tested would hand
  an untested value to every workflow that runs meanwhile.
* **promote** checks that the version is still the journal's pending one and current has not
  moved, seals the pending value under the place's public key and PUTs it to GitHub, *then*
  moves the journal's `current` label (check-and-set). A run killed between the two
  finds the version still pending; resuming tests it again and PUTs it again (a PUT is
  idempotent), so GitHub and the journal agree again.
* **read** reads the journal: GitHub cannot give a value back.

What this cannot see: a secret someone changes in GitHub's UI. The journal still says which
value leakstop wrote; a secret that exists in GitHub but not in the journal is adopted on the
first rotation (its unknown old value cannot be revoked by leakstop).
"""

from __future__ import annotations

from leakstop.config.options import Options
from leakstop.errors import ProviderConflictError
from leakstop.rotator.providers.base import Store, StoredVersion, Value
from leakstop.rotator.providers.github_options import SecretPlace, parse_place
from leakstop.rotator.providers.github_secrets import ActionsSecrets


class GitHubSecretsStore:
    """The Store protocol for one org's managed secrets in GitHub Actions secrets, with
    `journal` (a readable Store) keeping their versions. Raises ProviderError (one line, no
    value) and ProviderConflictError when the journal's check-and-set loses."""

    def __init__(self, name: str, secrets: ActionsSecrets, journal: Store) -> None:
        self.name = name
        self._secrets = secrets
        self._journal = journal

    def current(self, name: str, where: Options) -> StoredVersion | None:
        return self._journal.current(name, _place(name, where).journal)

    def pending(self, name: str, where: Options) -> StoredVersion | None:
        return self._journal.pending(name, _place(name, where).journal)

    def read(self, name: str, where: Options, version: str | None = None) -> Value:
        """From the journal: GitHub never gives a secret's value back."""
        return self._journal.read(name, _place(name, where).journal, version)

    def put_pending(
        self, name: str, where: Options, value: Value, expected_current: str | None
    ) -> StoredVersion:
        """Into the journal only: workflows keep reading the working value meanwhile."""
        return self._journal.put_pending(name, _place(name, where).journal, value, expected_current)

    def promote(
        self, name: str, where: Options, version: str, expected_current: str | None
    ) -> None:
        place = _place(name, where)
        current = self._journal.current(name, place.journal)
        if (current.version if current else None) != expected_current:
            raise ProviderConflictError(
                f"{name} changed in the journal of github {self.name!r} since the rotation read it"
            )
        # GitHub has no check-and-set: the journal's comes only after the write, so a version
        # another run discarded (or replaced) must be refused before its value reaches GitHub.
        pending = self._journal.pending(name, place.journal)
        if pending is None or pending.version != version:
            raise ProviderConflictError(
                f"{name}: version {version} is no longer pending in the journal of github "
                f"{self.name!r} (another run finished, discarded or replaced it); GitHub was "
                "not written"
            )
        value = self._journal.read(name, place.journal, version)
        self._secrets.write(place, value)
        self._journal.promote(name, place.journal, version, expected_current)

    def discard_pending(self, name: str, where: Options, version: str) -> None:
        self._journal.discard_pending(name, _place(name, where).journal, version)

    def place(self, name: str, where: Options) -> SecretPlace:
        return _place(name, where)


def _place(name: str, where: Options) -> SecretPlace:
    return parse_place(name, where)
