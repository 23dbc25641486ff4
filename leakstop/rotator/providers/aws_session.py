"""boto3 clients for one configured aws provider, made on first use.

leakstop's own credentials come from boto3's default chain only (environment variables,
`AWS_PROFILE`, `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` as GitHub's OIDC set-up writes
them, an instance or task role): never from the config file. A new access key under test gets
a client of its own, with exactly that key and nothing from the chain.
"""

from __future__ import annotations

import logging
from typing import Any

from leakstop.rotator.providers.aws_errors import aws_errors, import_boto3
from leakstop.rotator.providers.aws_options import AwsSettings

#: Loggers whose DEBUG records hold whole responses: CreateAccessKey's has the new secret key.
_WIRE_LOGGERS = ("botocore", "boto3", "urllib3")
#: botocore's own retries per request (its "standard" mode backs off on throttling).
MAX_ATTEMPTS = 3


class AwsSession:
    """The clients of one provider. Connects to nothing until a client is asked for."""

    def __init__(self, provider: str, settings: AwsSettings) -> None:
        self.provider = provider
        self.settings = settings
        self._session: Any = None
        self._clients: dict[str, Any] = {}

    def doing(self, action: str) -> str:
        """The prefix of an error message about `action`."""
        return f"aws {self.provider!r}: {action}"

    def client(self, service: str) -> Any:
        """The boto3 client of `service` (`iam`, `sts`, `secretsmanager`) with leakstop's own
        credentials. Raises ProviderError when boto3 is missing or the client cannot be made."""
        if service not in self._clients:
            with aws_errors(self.doing(f"connect to {service}")):
                if self._session is None:
                    quiet_wire_logs()
                    self._session = import_boto3().Session(region_name=self.settings.region)
                self._clients[service] = self._session.client(
                    service, endpoint_url=self.settings.endpoint_url, config=self._config()
                )
        return self._clients[service]

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
            retries={"max_attempts": attempts, "mode": "standard"},
        )


def quiet_wire_logs() -> None:
    """Keep botocore's request and response dumps out of every log, whatever level a host
    program sets: at DEBUG they would print a new key's secret (and leakstop's signature)."""
    for name in _WIRE_LOGGERS:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)
