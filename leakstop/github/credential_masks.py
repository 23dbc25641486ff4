"""Masks for the credentials a run reads from the environment, so that no later line of the
job's log shows them, whatever prints them (a provider's own error text, a shell step after
ours)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Mapping
from typing import TextIO

from leakstop.config import Config
from leakstop.github.workflow import add_masks

#: Credentials leakstop itself reads from the environment.
OWN_CREDENTIALS = ("LEAKSTOP_MASTER_KEY", "LEAKSTOP_NEW_MASTER_KEY", "LEAKSTOP_AUDIT_KEY")
#: What the cloud SDKs read on their own when no `*_env` option names a variable.
SDK_CREDENTIALS = {
    "aws": ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"),
    "azure-keyvault": ("AZURE_CLIENT_SECRET",),
}


def credential_variables(config: Config) -> list[str]:
    """The environment variables holding credentials for this config: those its `*_env`
    options name (providers at any depth, audit sinks), the variables a provider type reads
    when none is named, and leakstop's own keys."""
    names: list[str] = list(OWN_CREDENTIALS)
    for provider in config.providers:
        names.extend(_default_variables(provider.type))
        names.extend(_env_names(provider.options))
    for sink in config.audit.sinks:
        names.extend(
            value
            for field in dataclasses.fields(sink)
            if field.name.endswith("_env") and isinstance(value := getattr(sink, field.name), str)
        )
    return list(dict.fromkeys(names))


def mask_credentials(config: Config, out: TextIO, environ: Mapping[str, str] = os.environ) -> int:
    """`::add-mask::` each set credential variable's value (GitHub Actions only); returns how
    many masks were written."""
    values = (environ[name] for name in credential_variables(config) if environ.get(name))
    return add_masks(values, out, environ)


def _default_variables(provider_type: str) -> tuple[str, ...]:
    """The variables a provider type reads when its options name none (their defaults)."""
    if provider_type == "vault":
        from leakstop.rotator.providers.vault_options import AuthSettings

        auth = AuthSettings()
        return (auth.token_env, auth.role_id_env, auth.secret_id_env)
    if provider_type == "github":
        from leakstop.rotator.providers.github_options import GitHubSettings

        return (GitHubSettings().token_env,)
    return SDK_CREDENTIALS.get(provider_type, ())


def _env_names(options: Mapping[str, object]) -> Iterator[str]:
    for key, value in options.items():
        if isinstance(value, Mapping):
            yield from _env_names(value)
        elif isinstance(key, str) and key.endswith("_env") and isinstance(value, str):
            yield value
