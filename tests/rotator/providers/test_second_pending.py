"""Every store refuses a second pending version: two rotation runs that both looked before
either wrote (tests/rotator/interleave.py) on one secret, against each store's real server or
stand-in. Exactly one rotation lands; the other fails with the conflict, naming the secret and
no value; the store's current value is the winner's and is the one that works; the audit log
verifies.

The issuer is the file-backed fake with a single role (like PostgreSQL's): a second run that
applied its value after the first would leave the store's current value not working."""

from __future__ import annotations

import functools
import importlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from google.oauth2.credentials import Credentials

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Source
from leakstop.audit.verify import verify
from leakstop.config.options import FrozenMap, Options, Origin
from leakstop.config.rotation import RotationPolicy
from leakstop.config.secrets import IssuerRef, ManagedSecret, StoreRef
from leakstop.rotator.machine import BEING_ROTATED, Machine, Outcome, Step
from leakstop.rotator.providers.azure_keyvault import KeyVaultStore, StaticToken
from leakstop.rotator.providers.azure_keyvault import parse_settings as kv_settings
from leakstop.rotator.providers.base import Store
from leakstop.rotator.providers.gcp_secretmanager import SecretManagerStore
from leakstop.rotator.providers.gcp_secretmanager import parse_settings as gsm_settings
from leakstop.rotator.providers.github import GitHubProvider
from leakstop.rotator.providers.github_options import GitHubSettings
from leakstop.rotator.providers.local import LocalStoreProvider
from leakstop.store import LocalStore
from tests.rotator.fake_issuer import FileIssuer
from tests.rotator.interleave import interleave
from tests.rotator.providers.bao import running_bao
from tests.rotator.providers.bao import where as kv_where
from tests.rotator.providers.fake_keyvault import FakeKeyVault
from tests.rotator.providers.fake_secretmanager import FakeSecretManager
from tests.rotator.providers.github_server import TOKEN, FakeGitHub
from tests.rotator.providers.moto_aws import options, provider_for, running_moto, use_credentials

pytestmark = pytest.mark.slow

NAME = "billing/db-password"
FIRST = "first-working-value-7Qm2"
AUDIT = b"audit key of the second-pending tests"
CONTEXT = Context("tester", Source.CLI)


@dataclass
class Place:
    """One store with a secret in it whose current value is FIRST: `fresh()` is another run's
    own connection to it."""

    fresh: Callable[[], Store]
    where: Options


def _local(tmp_path: Path) -> Iterator[Place]:
    log = AuditLog.open(tmp_path / "store-audit", AUDIT)
    store = LocalStore.init(
        tmp_path, "default", b"master of the race", log, CONTEXT, iterations=1000
    )
    store.write(NAME, FIRST.encode(), expected_version=None)
    yield Place(
        lambda: LocalStoreProvider(
            LocalStore.open(tmp_path, "default", b"master of the race", log, CONTEXT)
        ),
        FrozenMap(),
    )


def _vault(tmp_path: Path) -> Iterator[Place]:
    (tmp_path / "bao").mkdir()
    for bao in running_bao(tmp_path / "bao"):
        bao.admin.secrets.kv.v2.create_or_update_secret(
            path="billing/db", secret={"password": FIRST, "username": "app"}, mount_point="secret"
        )
        yield Place(bao.provider, kv_where("billing/db"))


def _aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Place]:
    for moto in running_moto(tmp_path):
        use_credentials(monkeypatch, moto.environ(), tmp_path)
        moto.client("secretsmanager").create_secret(Name="prod/billing", SecretString=FIRST)
        yield Place(functools.partial(provider_for, moto), options(secret_id="prod/billing"))


def _azure(tmp_path: Path) -> Iterator[Place]:
    vault = FakeKeyVault(tmp_path)
    vault.put("billing-db-password", FIRST)
    settings = kv_settings(
        "kv",
        FrozenMap({"vault_url": vault.url, "tls": FrozenMap({"ca_file": vault.ca_file})}),
        Origin(),
    )
    try:
        yield Place(
            lambda: KeyVaultStore("kv", settings, {}, credential=StaticToken(vault.token)),
            FrozenMap({"name": "billing-db-password"}),
        )
    finally:
        vault.stop()


def _gcp(tmp_path: Path) -> Iterator[Place]:
    gsm = FakeSecretManager(tmp_path, "billing-prod")
    gsm.put("billing-db", FIRST.encode())
    settings = gsm_settings(
        "gsm",
        FrozenMap(
            {
                "project": "billing-prod",
                "api_endpoint": gsm.url,
                "tls": FrozenMap({"ca_file": gsm.ca_file}),
            }
        ),
        Origin(),
    )

    def fresh() -> Store:
        credentials = Credentials(token=gsm.token)  # type: ignore[no-untyped-call]
        return SecretManagerStore("gsm", settings, {}, credentials=credentials)

    try:
        yield Place(fresh, FrozenMap({"secret": "billing-db"}))
    finally:
        gsm.stop()


def _github(tmp_path: Path, github: FakeGitHub) -> Iterator[Place]:
    log = AuditLog.open(tmp_path / "journal-audit", AUDIT)
    LocalStore.init(tmp_path, "default", b"master of the journal", log, CONTEXT, iterations=1000)

    def fresh() -> Store:
        journal = LocalStore.open(tmp_path, "default", b"master of the journal", log, CONTEXT)
        settings = GitHubSettings(api_url=github.url)
        provider = GitHubProvider("github", settings, {"GITHUB_TOKEN": TOKEN})
        return provider.store_with(LocalStoreProvider(journal))

    where = FrozenMap({"repository": "acme/api", "secret": "DB_PASSWORD"})
    seeded = fresh()
    first = seeded.put_pending(NAME, where, FIRST.encode(), None)
    seeded.promote(NAME, where, first.version, None)
    yield Place(fresh, where)


STORES = ["local", "vault", "aws", "azure", "gcp", "github"]


@pytest.fixture(params=STORES)
def place(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Place]:
    kind = request.param
    if kind == "local":
        yield from _local(tmp_path)
    elif kind == "vault":
        yield from _vault(tmp_path)
    elif kind == "aws":
        yield from _aws(tmp_path, monkeypatch)
    elif kind == "azure":
        yield from _azure(tmp_path)
    elif kind == "gcp":
        yield from _gcp(tmp_path)
    else:
        yield from _github(tmp_path, FakeGitHub(request.getfixturevalue("httpserver_ipv4")))


@dataclass
class Race:
    """What both runs share: the secret at `place`, its issuer (which accepts FIRST) and one
    audit log."""

    place: Place
    secret: ManagedSecret
    issuer_file: Path
    issuer: FileIssuer
    audit_log: AuditLog

    def machine(self, **options: Any) -> Machine:
        """A run of its own: its own connection to the store, its own view of the issuer."""
        return Machine(
            self.place.fresh(), FileIssuer(self.issuer_file), self.audit_log, CONTEXT, **options
        )


def _race(place: Place, tmp_path: Path) -> Race:
    secret = ManagedSecret(
        name=NAME,
        store=StoreRef("under-test", place.where),
        issuer=IssuerRef("file"),
        policy=RotationPolicy(interval=timedelta(days=30), grace=timedelta(0)),
    )
    issuer_file = tmp_path / "issuer.json"
    issuer = FileIssuer(issuer_file)
    issuer.apply(NAME, FrozenMap(), FIRST.encode(), None)
    return Race(place, secret, issuer_file, issuer, AuditLog.open(tmp_path / "audit", AUDIT))


def _one_rotation_stands(race: Race, winner: Any, loser: Any) -> bytes:
    """`winner` rotated; `loser` failed on the conflict, naming the secret, after creating
    its value and before writing, applying or testing it. The store's current version is
    the winner's with no pending one left, its value is the one the issuer accepts, and
    neither that value nor FIRST is in the audit log or the loser's error. Returns the value."""
    assert winner.outcome is Outcome.ROTATED, winner.error
    assert loser.outcome is Outcome.FAILED, loser.error
    assert loser.steps == (Step.CREATE,)
    assert f"{NAME} {BEING_ROTATED}" in (loser.error or "")
    store = race.place.fresh()
    current = store.current(NAME, race.place.where)
    assert current is not None
    assert current.version == winner.new_version
    assert store.pending(NAME, race.place.where) is None
    value = store.read(NAME, race.place.where)
    assert isinstance(value, bytes)
    assert race.issuer.working() == {value.decode()}
    written = json.dumps(_records(race.audit_log)) + (loser.error or "")
    assert value.decode() not in written
    assert FIRST not in written
    return value


def test_two_runs_that_looked_together_rotate_once(place: Place, tmp_path: Path) -> None:
    race = _race(place, tmp_path)

    def run(after_step: Callable[[Step], None]) -> Machine:
        return race.machine(after_step=after_step)

    first, second = interleave(run, run, race.secret)

    value = _one_rotation_stands(race, first, second)
    assert value != FIRST.encode()
    assert verify(tmp_path / "audit", AUDIT).ok


def _records(audit_log: AuditLog) -> list[Any]:
    return [r.details for r in audit_log.records()] + [r.error for r in audit_log.records()]


#: Where each store is between reading the current version and writing its pending copy: a
#: function of its module that put_pending calls there, and nothing else does meanwhile.
BETWEEN_LOOK_AND_WRITE = {
    "vault": ("leakstop.rotator.providers.vault_store", "_merged"),
    "aws": ("leakstop.rotator.providers.aws_secrets", "_encode"),
    "azure": ("leakstop.rotator.providers.azure_keyvault", "_text"),
}


@pytest.fixture(params=sorted(BETWEEN_LOOK_AND_WRITE))
def slow_place(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Place]]:
    kind = request.param
    if kind == "vault":
        places = _vault(tmp_path)
    elif kind == "aws":
        places = _aws(tmp_path, monkeypatch)
    else:
        places = _azure(tmp_path)
    for place in places:
        yield kind, place


def test_a_run_that_slept_through_a_whole_rotation_applies_nothing(
    slow_place: tuple[str, Place], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sleeper read the current version; before it writes its pending copy, another run
    rotates the secret from start to finish (its pending copy written and gone again). The
    sleeper's write must not let it apply its value: the issuer would hold a value the store
    never makes current."""
    kind, place = slow_place
    race = _race(place, tmp_path)
    other = race.machine()
    others: list[Any] = []

    module_name, function = BETWEEN_LOOK_AND_WRITE[kind]
    module = importlib.import_module(module_name)
    original = getattr(module, function)

    def paused(*args: Any, **kwargs: Any) -> Any:
        if not others:  # only the sleeper's own pause: the other run goes straight through
            others.append(None)
            others[0] = other.rotate(race.secret, reason="the run that finished first")
        return original(*args, **kwargs)

    monkeypatch.setattr(module, function, paused)
    sleeper = race.machine()
    slept = sleeper.rotate(race.secret, reason="the run that slept")

    _one_rotation_stands(race, others[0], slept)
