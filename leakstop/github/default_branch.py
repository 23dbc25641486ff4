"""The config as the default branch has it, for the commands that act on credentials inside
GitHub Actions: the commit being scanned may be anyone's, so neither its `secrets:` inventory
nor its providers decide what is rotated, nor where."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from leakstop import gitcli
from leakstop.config import CONFIG_NAMES
from leakstop.errors import SourceError, UsageError
from leakstop.github import workflow
from leakstop.github.commit_files import copy_config
from leakstop.github.guard import default_branch, event_payload

log = logging.getLogger(__name__)


def actions_config(start: Path, config: Path | None) -> Path:
    """The config for respond and rotations inside GitHub Actions: the default branch's,
    copied under $RUNNER_TEMP. `start`: a folder of the checkout; `config`: --config, which
    must then name a file of the repository. Raises UsageError (one line)."""
    repo = gitcli.toplevel(start)
    if repo is None:
        raise UsageError(
            f"not a git repository: {start} (in GitHub Actions the config is read from the "
            "default branch: run in the checkout that actions/checkout made)"
        )
    temp = workflow.runner_temp() / "leakstop"
    temp.mkdir(parents=True, exist_ok=True)
    return default_branch_config(repo, event_payload(), temp, _name_in(repo, config))


def default_branch_config(
    repo: Path, payload: Mapping[str, Any], temp: Path, name: str | None = None
) -> Path:
    """Write the default branch's config (and the rule files it names) under `temp`; return
    its path. `name`: the config's path in the repository (default: .leakstop.yaml).

    Raises UsageError (one line) when the default branch or its config cannot be read.
    """
    branch = default_branch(payload)
    gitcli.revision(branch, "the default branch")
    remote = f"refs/remotes/origin/{branch}"
    try:
        gitcli.fetch(repo, ["--depth=1"], [f"+refs/heads/{branch}:{remote}"])
    except SourceError as exc:
        if gitcli.commit_id(repo, remote) is None:
            raise UsageError(
                f"cannot read the config from the default branch {branch}: {exc}"
            ) from None
        log.warning("cannot fetch %s; using the local origin/%s", branch, branch)
    commit = gitcli.commit_id(repo, remote)
    if commit is None:
        raise UsageError(f"cannot read the config from the default branch {branch}: no {remote}")
    names = [name] if name else list(CONFIG_NAMES)
    for candidate in names:
        config_path = copy_config(repo, commit, candidate, temp / "default-branch")
        if config_path is not None:
            log.info("using the config of the default branch %s (%s)", branch, commit[:12])
            return config_path
    raise UsageError(
        f"cannot read the config from the default branch {branch}: {' or '.join(names)} is "
        "not there (in GitHub Actions the managed secrets come from the default branch only)"
    )


def _name_in(repo: Path, config: Path | None) -> str | None:
    """--config as a path in the repository (the name to read from the default branch)."""
    if config is None:
        return None
    try:
        return config.resolve().relative_to(repo.resolve()).as_posix()
    except ValueError:
        raise UsageError(
            f"--config {config}: in GitHub Actions the config is read from the default "
            "branch, so it must be a file of the repository"
        ) from None
