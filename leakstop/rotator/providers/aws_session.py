"""boto3 clients for one configured aws provider, made on first use.

leakstop's own credentials come from boto3's default chain (environment variables,
`AWS_PROFILE`, `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`, an instance or task role), or
with `auth.method: github-oidc` from STS AssumeRoleWithWebIdentity with the GitHub Actions
job's OIDC token: never from the config file. A new access key under test gets
a client of its own, with exactly that key and nothing from the chain.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from leakstop.rotator.providers.aws_errors import aws_errors, import_boto3
from leakstop.rotator.providers.aws_options import GITHUB_OIDC, AwsSettings
from leakstop.rotator.providers.github_oidc import github_oidc_token

log = logging.getLogger(__name__)

#: Loggers whose DEBUG records hold whole responses: CreateAccessKey's has the new secret key.
_WIRE_LOGGERS = ("botocore", "boto3", "urllib3")
#: botocore's attempts per request, the first one included (its "standard" mode backs off
#: on throttling and 5xx answers, and sends again when an answer is lost).
MAX_ATTEMPTS = 3


class AwsSession:
    """The clients of one provider. Connects to nothing until a client is asked for."""

    def __init__(
        self, provider: str, settings: AwsSettings, environ: Mapping[str, str] | None = None
    ) -> None:
        self.provider = provider
        self.settings = settings
        self._environ = os.environ if environ is None else environ
        self._session: Any = None
        self._clients: dict[tuple[str, int], Any] = {}

    def doing(self, action: str) -> str:
        """The prefix of an error message about `action`."""
        return f"aws {self.provider!r}: {action}"

    def client(self, service: str, attempts: int = MAX_ATTEMPTS) -> Any:
        """The boto3 client of `service` (`iam`, `sts`, `secretsmanager`) with leakstop's own
        credentials, retrying each request up to `attempts` times in all (1: a call that is
        not safe to repeat, such as CreateAccessKey). Raises ProviderError when boto3 is
        missing or the client cannot be made."""
        if (service, attempts) not in self._clients:
            with aws_errors(self.doing(f"connect to {service}")):
                if self._session is None:
                    quiet_wire_logs()
                    self._session = self._new_session()
                self._clients[service, attempts] = self._session.client(
                    service,
                    endpoint_url=self.settings.endpoint_url,
                    config=self._config(attempts),
                )
        return self._clients[service, attempts]

    def _new_session(self) -> Any:
        boto3 = import_boto3()
        if self.settings.auth.method != GITHUB_OIDC:
            return boto3.Session(region_name=self.settings.region)
        credentials = self._assume_role_with_github_oidc(boto3)
        return boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=self.settings.region,
        )

    def _assume_role_with_github_oidc(self, boto3: Any) -> Any:
        """The role's temporary credentials for the job's OIDC token. AssumeRoleWithWebIdentity
        is not signed: the token is the proof, so no credential of the chain is involved."""
        from botocore import UNSIGNED
        from botocore.config import Config

        auth = self.settings.auth
        token = github_oidc_token(
            self._environ, auth.audience, self.settings.timeout, self.doing("github-oidc login")
        )
        sts = boto3.Session(region_name=self.settings.region).client(
            "sts",
            endpoint_url=self.settings.endpoint_url,
            config=self._config().merge(Config(signature_version=UNSIGNED)),
        )
        with aws_errors(
            self.doing(f"assume role {auth.role_arn} with the job's OIDC token"), hide=(token,)
        ):
            answer = sts.assume_role_with_web_identity(
                RoleArn=auth.role_arn, RoleSessionName=auth.session_name, WebIdentityToken=token
            )
        log.debug("aws %r: assumed %s with the job's OIDC token", self.provider, auth.role_arn)
        return answer["Credentials"]

    def client_with_key(self, service: str, access_key_id: str, secret_access_key: str) -> Any:
        """A client that signs with the given key alone (a new key under test)."""
        with aws_errors(self.doing(f"connect to {service}"), hide=(secret_access_key,)):
            quiet_wire_logs()
            session = import_boto3().Session(
                aws_access_key_id=access_key_id,
                aws_secret_access_key=secret_access_key,
                region_name=self.settings.region,
            )
            return session.client(
                service,
                endpoint_url=self.settings.endpoint_url,
                config=self._config(attempts=1),
            )

    def _config(self, attempts: int = MAX_ATTEMPTS) -> Any:
        from botocore.config import Config

        return Config(
            connect_timeout=self.settings.timeout,
            read_timeout=self.settings.timeout,
            # total_max_attempts counts the first request; botocore's max_attempts does not.
            retries={"total_max_attempts": attempts, "mode": "standard"},
        )


def quiet_wire_logs() -> None:
    """Keep botocore's request and response dumps out of every log, whatever level a host
    program sets: at DEBUG they would print a new key's secret (and leakstop's signature)."""
    for name in _WIRE_LOGGERS:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)
