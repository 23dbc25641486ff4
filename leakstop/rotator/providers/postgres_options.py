"""Options of the `postgres` issuer (postgres.py), checked: the provider's own, and those of
each secret's `issuer:`; and which role the two-role scheme sets next.

Checked when the provider is used, not when the config loads, as every provider's options are
(config/providers.py); the errors are ConfigErrors naming the provider or the secret.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from leakstop.config.options import FrozenMap, Options
from leakstop.config.secrets import ManagedSecret
from leakstop.errors import ConfigError
from leakstop.rotator.providers.base import Value

PROVIDER_OPTIONS = ("dsn_env", "login_dsn_env", "connect_timeout")
ISSUER_OPTIONS = ("role", "roles", "database", "allow_superuser", "revoke")
#: How the two-role scheme disables the old role: `ALTER ROLE … PASSWORD NULL` or `NOLOGIN`.
NO_PASSWORD, NOLOGIN = "no_password", "nologin"
#: Seconds to wait for a connection, unless the DSN says otherwise (libpq waits forever).
CONNECT_TIMEOUT = 5
#: PostgreSQL cuts longer identifiers to NAMEDATALEN - 1 bytes, so `ALTER ROLE` would change
#: another role than the one named.
MAX_ROLE_BYTES = 63


@dataclass(frozen=True)
class Settings:
    """The provider's options (never the credentials: those stay in the environment until a
    connection is made)."""

    #: The variable holding the admin DSN.
    dsn_env: str
    #: The variable holding a DSN for the test logins (its user and password are ignored);
    #: None: the admin DSN without its credentials.
    login_dsn_env: str | None = None
    #: Seconds; a DSN's own `connect_timeout` wins.
    connect_timeout: int = CONNECT_TIMEOUT


@dataclass(frozen=True)
class Target:
    """A secret's `issuer:` options."""

    #: One role, or the two roles of the alternating scheme in their configured order.
    roles: tuple[str, ...]
    #: The database the test logins connect to; None: the login (or admin) DSN's.
    database: str | None = None
    #: Refused unless true: changing a superuser's password is rarely what a rotation means.
    allow_superuser: bool = False
    #: NO_PASSWORD or NOLOGIN (two roles only).
    revoke: str = NO_PASSWORD

    @property
    def is_alternating(self) -> bool:
        return len(self.roles) == 2


def parse_settings(provider: str, options: Options) -> Settings:
    """Raises ConfigError naming the provider and the option."""

    def fail(message: str) -> ConfigError:
        return ConfigError(f"provider {provider!r}: {message}")

    unknown = sorted(set(options) - set(PROVIDER_OPTIONS))
    if unknown:
        raise fail(f"{unknown[0]!r} is not a postgres option ({', '.join(PROVIDER_OPTIONS)})")
    dsn_env, login_dsn_env = options.get("dsn_env"), options.get("login_dsn_env")
    if not isinstance(dsn_env, str):
        raise fail("type postgres needs 'dsn_env', the variable that holds the admin DSN")
    if login_dsn_env is not None and not isinstance(login_dsn_env, str):
        raise fail("'login_dsn_env' must name an environment variable")
    timeout = options.get("connect_timeout", CONNECT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int) or not 1 <= timeout <= 600:
        raise fail("'connect_timeout' must be a whole number of seconds from 1 to 600")
    return Settings(dsn_env, login_dsn_env, timeout)


def parse_target(secret: str, how: Options) -> Target:
    """The `issuer:` options of `secret`; raises ConfigError naming the secret and option."""

    def fail(message: str) -> ConfigError:
        return ConfigError(f"secret {secret!r}: issuer {message}")

    unknown = sorted(set(how) - set(ISSUER_OPTIONS))
    if unknown:
        raise fail(f"option {unknown[0]!r} is not one of {', '.join(ISSUER_OPTIONS)}")
    role, roles = how.get("role"), how.get("roles")
    if (role is None) == (roles is None):
        raise fail("needs 'role: NAME', or 'roles: [A, B]' for the two-role scheme (not both)")
    if role is not None:
        names: tuple[str, ...] = (_role_name(role, "role", fail),)
    else:
        if not isinstance(roles, tuple) or len(roles) != 2:
            raise fail("option 'roles' must be a list of two role names")
        names = tuple(_role_name(name, "roles", fail) for name in roles)
        if names[0] == names[1]:
            raise fail("option 'roles' must name two different roles")
    database = how.get("database")
    if database is not None and not (isinstance(database, str) and database):
        raise fail("option 'database' must be a database name")
    allow_superuser = how.get("allow_superuser", False)
    if not isinstance(allow_superuser, bool):
        raise fail("option 'allow_superuser' must be true or false")
    revoke = how.get("revoke", NO_PASSWORD)
    if revoke not in (NO_PASSWORD, NOLOGIN):
        raise fail(f"option 'revoke' must be {NO_PASSWORD} or {NOLOGIN}")
    if revoke != NO_PASSWORD and len(names) == 1:
        raise fail("option 'revoke' is for the two-role scheme ('roles') only")
    return Target(names, database, allow_superuser, str(revoke))


def _role_name(value: object, option: str, fail: Callable[[str], ConfigError]) -> str:
    if not isinstance(value, str) or not value or "\x00" in value:
        raise fail(f"option {option!r} must hold role names")
    if len(value.encode("utf-8")) > MAX_ROLE_BYTES:
        raise fail(f"option {option!r}: role names are at most {MAX_ROLE_BYTES} bytes")
    return value


def next_role(target: Target, current: Value | None) -> str:
    """The role the next rotation of a two-role secret sets: the one `current` (the value in
    use) does not name; the second role when it names neither (the first rotation)."""
    in_use = current.get("username") if isinstance(current, dict) else None
    first, second = target.roles
    return first if in_use == second else second


def two_role_value(secret: ManagedSecret, current: Value | None) -> Value:
    """Rotation handler for the two-role scheme: `{"username": next_role(…), "password": …}`,
    the password made by the `generate` handler. Raises ConfigError when the secret's issuer
    has no `roles`."""
    from leakstop.rotator.handlers import generate

    options: Options = secret.issuer.options if secret.issuer is not None else FrozenMap()
    target = parse_target(secret.name, options)
    if not target.is_alternating:
        raise ConfigError(f"secret {secret.name!r}: two_role_value needs issuer 'roles: [A, B]'")
    password = generate(secret, current)
    assert isinstance(password, bytes)  # generate draws from an ASCII alphabet
    return {"username": next_role(target, current), "password": password.decode("ascii")}
