"""PostgreSQL URLs: log in with a short timeout, to the host named in the same URL only.

The password's issuer is the server the URL names, so that is the one host it goes to; the
URL is read from the finding's own line on disk (the finding holds only the password).
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass

from leakstop.verify.base import CheckContext, Outcome, Unverifiable, invalid, unknown, verified
from leakstop.verify.pairing import Credential

_URL = re.compile(r"\bpostgres(?:ql)?://[^\s\"'`<>]+")
#: SQLSTATE 28P01 invalid_password, 28000 invalid_authorization_specification.
_REJECTED = ("28P01", "28000")


@dataclass(frozen=True)
class PostgresCheck:
    name: str = "postgres"
    #: None fixed: the URL's own host (see the module docstring).
    hosts: frozenset[str] = frozenset()

    def check(self, credential: Credential, context: CheckContext) -> Outcome:
        url = self._url(credential, context)
        try:
            import psycopg
        except ImportError:
            return unknown("psycopg not installed (pip install 'leakstop[postgres]')")
        host = urllib.parse.urlsplit(url).hostname or "local socket"
        try:
            with psycopg.connect(url, connect_timeout=max(1, int(context.timeout))):
                pass
        except psycopg.OperationalError as exc:
            state = getattr(exc, "sqlstate", None)
            text = str(exc)
            if state in _REJECTED or "password authentication failed" in text:
                return invalid(f"{host} refused the login")
            return unknown(f"cannot log in to {host}: server unreachable or refused")
        return verified(f"{host} accepted the login")

    def _url(self, credential: Credential, context: CheckContext) -> str:
        secret = credential.primary.secret
        for candidate in _URL.findall(context.nearby_text(credential.primary) or ""):
            try:
                password = urllib.parse.urlsplit(candidate).password
            except ValueError:
                continue
            if password is not None and secret in (password, urllib.parse.unquote(password)):
                return str(candidate)
        raise Unverifiable("the connection URL is only read from files on disk")
