"""Masks for the provider credentials a run reads from the environment, so that no later
line of the job's log shows them, whatever prints them (a provider's own error text, a
shell step after ours)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import TextIO

from leakstop.config import Config
from leakstop.github.workflow import add_masks

#: Credentials leakstop itself reads from the environment.
OWN_CREDENTIALS = ("LEAKSTOP_MASTER_KEY", "LEAKSTOP_NEW_MASTER_KEY", "LEAKSTOP_AUDIT_KEY")


def credential_variables(config: Config) -> list[str]:
    """The environment variables the config names in `*_env` options (any depth), and
    leakstop's own keys."""
    names: list[str] = list(OWN_CREDENTIALS)
    for provider in config.providers:
        names.extend(_env_names(provider.options))
    return list(dict.fromkeys(names))


def mask_credentials(config: Config, out: TextIO, environ: Mapping[str, str] = os.environ) -> int:
    """`::add-mask::` each set credential variable's value (GitHub Actions only); returns how
    many masks were written."""
    values = (environ[name] for name in credential_variables(config) if environ.get(name))
    return add_masks(values, out, environ)


def _env_names(options: Mapping[str, object]) -> Iterator[str]:
    for key, value in options.items():
        if isinstance(value, Mapping):
            yield from _env_names(value)
        elif isinstance(key, str) and key.endswith("_env") and isinstance(value, str):
            yield value
