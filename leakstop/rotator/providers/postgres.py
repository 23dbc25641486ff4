"""PostgreSQL issuer: rotates a database role's password with `ALTER ROLE … PASSWORD`.

```yaml
providers:
  billing-db: {type: postgres, dsn_env: BILLING_DB_ADMIN_DSN}
secrets:
  - name: billing/db-password
    store: {provider: local}
    issuer: {provider: billing-db, role: billing_app}
```

Provider options: `dsn_env` (required) names the variable holding the admin connection string;
`login_dsn_env` names one whose host, port, database and TLS settings the test logins use
instead of the admin's (its user and password are ignored); `connect_timeout` in seconds
(default 5; a DSN's own value wins; libpq treats 1 as 2).

Issuer options (`issuer:` of a secret): `role`, or `roles: [a, b]` for the two-role scheme;
`database` for the test logins (default: the login or admin DSN's); `allow_superuser: true` to
let leakstop change a superuser's password (refused otherwise); `revoke: no_password` (default)
or `nologin`, how the two-role scheme disables the old role.

**One role** (`role: billing_app`): leakstop generates the password, `apply` sets it, `test`
logs in with it, and `revoke` only confirms that the old password is refused: setting the new
one already ended it, so consumers that have not reloaded fail from the moment of `apply`.

**Two roles, for zero downtime** (`roles: [billing_app_a, billing_app_b]`): the stored value
is `{"username": ..., "password": ...}` and **consumers must read both fields** and log in as
the username they read. Each rotation sets a new password on the role that is *not* in use
(the one the current value does not name; the second role on the first rotation, so list the
role consumers use today first), and the store then points at it; the role in use keeps its
password, so consumers that have not reloaded go on working. After the grace period `revoke`
disables the old role (`PASSWORD NULL`, so password logins fail and no verifier is left to
guess; or `NOLOGIN`); the next rotation sets a password on it again, with `LOGIN`. Both roles
need the same privileges (e.g. both members of one group role that owns the objects). The
value must be made with the handler `leakstop.rotator.providers.postgres:two_role_value`,
which names the right role (`apply` refuses a value naming the role in use).

The password is never part of a statement: `apply` asks libpq for the SCRAM-SHA-256 verifier,
as `psql \\password` does, and sends `ALTER ROLE … PASSWORD 'SCRAM-SHA-256$…'`, so statement
logs and pg_stat_statements hold the verifier only (and SCRAM logins send a proof, not the
password). Role names are quoted as identifiers.

A login proves nothing when the server does not ask for the password (`trust` or `peer` in
pg_hba.conf): `test` and `revoke` then fail. A refused login is recognised by the server's
English message (libpq gives no SQLSTATE for it); with another `lc_messages` revoke fails
instead of confirming. Existing sessions of an old role are not ended.

psycopg comes with the `postgres` extra and is imported when a connection is made.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from leakstop.config.options import FrozenMap, Options
from leakstop.config.secrets import ManagedSecret
from leakstop.errors import ConfigError, ProviderError, ProviderUnreachableError
from leakstop.rotator.handlers import Handler
from leakstop.rotator.providers.base import ProviderContext, Value
from leakstop.rotator.providers.postgres_options import (
    NOLOGIN,
    Settings,
    Target,
    next_role,
    parse_settings,
    parse_target,
    two_role_value,
)
from leakstop.textsafe import sanitize

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

__all__ = ["PostgresIssuer", "check", "two_role_value"]

log = logging.getLogger(__name__)

#: Shown in pg_stat_activity, unless the DSN names another.
APPLICATION_NAME = "leakstop postgres issuer"
#: Connection parameters that are the admin's credentials, never sent when logging in as a role.
_ADMIN_ONLY = ("user", "password", "passfile", "sslcert", "sslkey", "sslpassword")
#: Server messages can run to several lines (DETAIL, HINT); an error keeps this much.
_MAX_MESSAGE = 300
#: Whether the admin may change the role's password, as ALTER ROLE decides: superusers may
#: change any; a role its own; since PostgreSQL 16 CREATEROLE needs ADMIN OPTION on the role.
_ROLE = """
SELECT r.rolsuper,
       a.rolsuper OR r.oid = a.oid OR (
           a.rolcreaterole AND NOT r.rolsuper AND (
               current_setting('server_version_num')::int < 160000
               OR pg_has_role(a.oid, r.oid, 'MEMBER WITH ADMIN OPTION'))),
       a.rolname
FROM pg_roles AS r, pg_roles AS a
WHERE r.rolname = %s AND a.rolname = current_user
"""


class PostgresIssuer:
    """Sets, tests and disables PostgreSQL role passwords (see the module docstring).

    Every method raises ProviderError with one line that names the provider, the secret and
    the role, never a password or the DSN; ConfigError for bad issuer options.
    """

    mints = False

    def __init__(self, name: str, settings: Settings, environ: Mapping[str, str]) -> None:
        _require_psycopg(name)
        self.name = name
        self._settings = settings
        self._environ = environ

    @classmethod
    def from_settings(cls, context: ProviderContext) -> PostgresIssuer:
        """Checks the options (ConfigError) and that psycopg is installed (ProviderError);
        the DSN is read when a method needs it."""
        return cls(context.name, parse_settings(context.name, context.options), context.environ)

    def __repr__(self) -> str:
        return f"PostgresIssuer({self.name!r})"

    def mint(self, name: str, how: Options) -> Value:
        raise ProviderError(
            f"postgres issuer {self.name}: does not mint; leakstop generates the password and "
            "apply sets it"
        )

    def value_maker(self, secret: ManagedSecret) -> Handler | None:
        """The handler a two-role secret's values come from (`{username, password}`, the
        username naming the role not in use) when it names none itself."""
        if secret.issuer is None or secret.handler is not None:
            return None
        return two_role_value if "roles" in secret.issuer.options else None

    def apply(self, name: str, how: Options, value: Value, previous: Value | None) -> None:
        """Set the role's password to the one in `value`. `previous` is the value in use when
        the rotation began; for two roles `value` must name the role `previous` does not (see
        next_role). Repeating it sets the same password again."""
        import psycopg
        from psycopg import sql

        target = parse_target(name, how)
        role, password = self._login(name, target, value)
        if target.is_alternating and role != (expected := next_role(target, previous)):
            raise ProviderError(
                f"postgres issuer {self.name}: secret {name}: the new value names role "
                f"{sanitize(role)!r}, but this rotation must set {sanitize(expected)!r} (the "
                "other role is in use); make the value with the two_role_value handler"
            )
        with self._admin(name) as admin:
            self._require_role(admin, name, role, target)
            try:
                # libpq computes the verifier (PQencryptPasswordConn, as psql's \password),
                # with the server's scram_iterations: the clear password never leaves here.
                verifier = admin.pgconn.encrypt_password(
                    password.encode("utf-8"), role.encode("utf-8"), b"scram-sha-256"
                )
            except psycopg.Error as exc:
                raise self._error(name, role, "cannot hash the password", exc, password) from exc
            # LOGIN: the two-role scheme may have disabled this role with NOLOGIN last time.
            login = sql.SQL(" WITH LOGIN") if target.is_alternating else sql.SQL("")
            statement = sql.SQL("ALTER ROLE {}{} PASSWORD {}").format(
                sql.Identifier(role), login, sql.Literal(verifier.decode("ascii"))
            )
            self._execute(admin, statement, name, role, "cannot set the password", password)
        log.info("postgres issuer %s: set the password of role %s", self.name, sanitize(role))

    def test(self, name: str, how: Options, value: Value) -> None:
        """Log in as the role with the password in `value`; ProviderError when refused."""
        target = parse_target(name, how)
        role, password = self._login(name, target, value)
        if not self._logs_in(name, role, password, target):
            raise ProviderError(
                f"postgres issuer {self.name}: secret {name}: role {sanitize(role)!r} does not "
                "log in with the new password"
            )

    def revoke(self, name: str, how: Options, value: Value) -> None:
        """Make sure `value` no longer logs in.

        A password already refused is left alone: after a rotation the new password replaced
        it (one role), or a later rotation set the role again (two roles), so the credential
        in use is never touched. A password that still logs in is disabled (PASSWORD NULL, or
        NOLOGIN for `revoke: nologin`): the other role after a two-role rotation's grace
        period, or, with one role, an emergency revocation with no replacement (after a
        rotation it cannot still log in: the machine's test proved the new password first).
        """
        from psycopg import sql

        target = parse_target(name, how)
        # A plain old value under `roles` is from before the switch to two roles: the first
        # role's password (the module docstring asks for the role in use to be listed first).
        role, password = self._login(name, target, value, plain_role=target.roles[0])
        if not self._logs_in(name, role, password, target):
            return
        with self._admin(name) as admin:
            self._require_role(admin, name, role, target)
            # PASSWORD NULL rather than a random one: password logins fail and no verifier
            # is left on the server for anyone to guess at.
            change = "NOLOGIN" if target.revoke == NOLOGIN else "PASSWORD NULL"
            statement = sql.SQL("ALTER ROLE {} " + change).format(sql.Identifier(role))
            self._execute(admin, statement, name, role, "cannot disable the role", password)
        log.info("postgres issuer %s: disabled old role %s", self.name, sanitize(role))
        if self._logs_in(name, role, password, target):
            raise ProviderError(
                f"postgres issuer {self.name}: secret {name}: role {sanitize(role)!r} still logs "
                "in with the old password after being disabled"
            )

    def check(self, secrets: Iterable[ManagedSecret]) -> list[str]:
        """`check_uses` for the `secrets` this provider issues (`leakstop providers check`)."""
        return self.check_uses(
            {
                s.name: s.issuer.options
                for s in secrets
                if s.issuer is not None and s.issuer.provider == self.name
            }
        )

    def check_uses(self, uses: Mapping[str, Options]) -> list[str]:
        """What would stop a rotation, one line each ([] when nothing): the admin DSN must
        connect, the login DSN (if any) parse, and for each secret in `uses` (name → its
        `issuer:` options) the roles must exist, be no superusers unless allowed, and be
        roles the admin may change. Changes nothing."""
        problems = []
        try:
            if self._settings.login_dsn_env is not None:
                self._conninfo(self._settings.login_dsn_env, "")
            admin = self._admin("")
        except ProviderError as exc:
            return [str(exc)]
        with admin:
            for secret, how in uses.items():
                try:
                    target = parse_target(secret, how)
                    for role in target.roles:
                        self._require_role(admin, secret, role, target)
                except (ConfigError, ProviderError) as exc:
                    problems.append(str(exc))
        return problems

    # Connections.

    def _conninfo(self, env: str, secret: str) -> dict[str, Any]:
        from psycopg import ProgrammingError
        from psycopg.conninfo import conninfo_to_dict

        dsn = self._environ.get(env, "")
        if not dsn:
            raise ProviderError(
                f"postgres issuer {self.name}: {_about(secret)}${env} is not set (a DSN)"
            )
        try:
            params = conninfo_to_dict(dsn)
        except ProgrammingError:
            # `from None`: psycopg's message quotes the part that did not parse, which may be
            # the password.
            raise ProviderError(
                f"postgres issuer {self.name}: {_about(secret)}${env} is not a valid "
                "PostgreSQL connection string"
            ) from None
        params.setdefault("connect_timeout", self._settings.connect_timeout)
        params.setdefault("application_name", APPLICATION_NAME)
        return params

    def _admin(self, secret: str) -> psycopg.Connection[Any]:
        import psycopg

        params = self._conninfo(self._settings.dsn_env, secret)
        try:
            return psycopg.connect(**params, autocommit=True)
        except psycopg.Error as exc:
            hide = [str(params.get("password") or "")]
            # No session, so no statement was sent: nothing changed on the server.
            raise ProviderUnreachableError(
                f"postgres issuer {self.name}: {_about(secret)}cannot connect with "
                f"${self._settings.dsn_env}: {_say(exc, hide)}"
            ) from exc

    def _logs_in(self, secret: str, role: str, password: str, target: Target) -> bool:
        """True when `role` logs in with `password`, False when the server refuses it;
        ProviderError for anything else (server down, no pg_hba.conf line, no CONNECT right,
        or no password asked at all)."""
        import psycopg

        env = self._settings.login_dsn_env or self._settings.dsn_env
        params = {k: v for k, v in self._conninfo(env, secret).items() if k not in _ADMIN_ONLY}
        if target.database is not None:
            params["dbname"] = target.database
        try:
            connection = psycopg.connect(**params, user=role, password=password)
        except psycopg.Error as exc:
            text = str(exc)
            if (
                f'password authentication failed for user "{role}"' in text
                or f'role "{role}" is not permitted to log in' in text
            ):
                return False
            raise self._error(secret, role, "cannot log in", exc, password) from exc
        with connection:
            asked = connection.pgconn.used_password
        if not asked:
            raise ProviderError(
                f"postgres issuer {self.name}: secret {secret}: role {sanitize(role)!r} logged "
                "in without being asked for a password (trust or peer in pg_hba.conf?), so no "
                "login can tell which password works"
            )
        return True

    def _require_role(
        self, admin: psycopg.Connection[Any], secret: str, role: str, target: Target
    ) -> None:
        """ProviderError unless `role` exists, is no superuser (unless allowed), and the admin
        may change its password."""
        import psycopg

        try:
            found = admin.execute(_ROLE, (role,)).fetchone()
        except psycopg.Error as exc:
            raise self._error(secret, role, "cannot look the role up", exc) from exc
        about = f"postgres issuer {self.name}: secret {secret}: role {sanitize(role)!r}"
        if found is None:
            raise ProviderError(f"{about} does not exist")
        is_superuser, may_alter, admin_name = found
        if is_superuser and not target.allow_superuser:
            raise ProviderError(
                f"{about} is a superuser; set 'allow_superuser: true' in the secret's issuer to "
                "rotate it"
            )
        if not may_alter:
            raise ProviderError(
                f"{about}: the admin {sanitize(admin_name)!r} may not change its password: "
                "it needs SUPERUSER, or CREATEROLE with ADMIN OPTION on the role (GRANT role "
                "TO admin WITH ADMIN OPTION)"
            )

    def _execute(
        self,
        admin: psycopg.Connection[Any],
        statement: sql.Composed,
        secret: str,
        role: str,
        doing: str,
        password: str,
    ) -> None:
        import psycopg

        try:
            admin.execute(statement)
        except psycopg.Error as exc:
            raise self._error(secret, role, doing, exc, password) from exc

    def _login(
        self, secret: str, target: Target, value: Value, plain_role: str | None = None
    ) -> tuple[str, str]:
        """The role and password in `value`: a plain value is the single role's password (or
        `plain_role`'s); `{"username", "password"}` must name a configured role."""
        about = f"postgres issuer {self.name}: secret {secret}"
        if isinstance(value, bytes):
            role = plain_role if target.is_alternating else target.roles[0]
            if role is None:
                raise ProviderError(
                    f"{about}: the two-role scheme stores {{username, password}}, not a plain "
                    "value; set 'handler: leakstop.rotator.providers.postgres:two_role_value'"
                )
            try:
                password = value.decode("utf-8")
            except UnicodeDecodeError:
                raise ProviderError(f"{about}: the password is not UTF-8 text") from None
        else:
            username = value.get("username", None if target.is_alternating else target.roles[0])
            text = value.get("password")
            if not isinstance(username, str) or username not in target.roles:
                raise ProviderError(f"{about}: the value names no role configured for it")
            if not isinstance(text, str):
                raise ProviderError(f"{about}: the value has no 'password' text")
            role, password = username, text
        if not password or "\x00" in password:
            raise ProviderError(f"{about}: the password is empty or holds a NUL character")
        return role, password

    def _error(
        self, secret: str, role: str, doing: str, exc: Exception, *hide: str
    ) -> ProviderError:
        return ProviderError(
            f"postgres issuer {self.name}: {_about(secret)}role {sanitize(role)!r}: {doing}: "
            f"{_say(exc, hide)}"
        )


def check(context: ProviderContext, uses: Mapping[str, Options] = FrozenMap()) -> list[str]:
    """For `leakstop providers check`: PostgresIssuer.check, with a bad option or a missing
    psycopg as its one problem."""
    try:
        issuer = PostgresIssuer.from_settings(context)
    except (ConfigError, ProviderError) as exc:
        return [str(exc)]
    return issuer.check_uses(uses)


def _require_psycopg(provider: str) -> None:
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        raise ProviderError(
            f"postgres issuer {provider}: psycopg is not installed; pip install "
            "'leakstop[postgres]'"
        ) from exc


def _about(secret: str) -> str:
    return f"secret {secret}: " if secret else ""


def _say(exc: Exception, hide: Iterable[str]) -> str:
    """The server's or libpq's message on one line, without `hide` (passwords).

    From a server error only its message, detail and hint: libpq's full text can quote the
    statement, and with it the verifier."""
    import psycopg

    text = str(exc)
    if isinstance(exc, psycopg.Error) and exc.diag.message_primary:
        diag = exc.diag
        parts = (diag.message_primary, diag.message_detail, diag.message_hint)
        text = "; ".join(part for part in parts if part)
    text = "; ".join(line.strip() for line in text.splitlines() if line.strip())
    for secret in hide:
        if secret:
            text = text.replace(secret, "***")
    if len(text) > _MAX_MESSAGE:
        text = text[: _MAX_MESSAGE - 1] + "…"
    return sanitize(text) or type(exc).__name__
