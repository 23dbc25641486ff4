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
from leakstop.errors import LeakstopError, SourceError, UsageError
from leakstop.github.guard import default_branch
from leakstop.yamlfile import load_yaml

log = logging.getLogger(__name__)


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
        text = gitcli.show_file(repo, commit, candidate)
        if text is None:
            continue
        folder = temp / "default-branch"
        config_path = _write_under(folder, candidate, text)
        for rule_file in _rule_files(text, candidate):
            rule_text = gitcli.show_file(repo, commit, str(Path(candidate).parent / rule_file))
            if rule_text is not None:
                _write_under(config_path.parent, rule_file, rule_text)
        log.info("using the config of the default branch %s (%s)", branch, commit[:12])
        return config_path
    raise UsageError(
        f"cannot read the config from the default branch {branch}: {' or '.join(names)} is "
        "not there (in GitHub Actions the managed secrets come from the default branch only)"
    )


def _write_under(folder: Path, name: str, data: bytes) -> Path:
    target = (folder / name).resolve()
    if not target.is_relative_to(folder.resolve()):
        raise UsageError(f"{name!r} points outside the repository")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def _rule_files(config_text: bytes, name: str) -> list[str]:
    try:
        data = load_yaml(config_text, name)
    except LeakstopError:
        return []  # loading the config reports the error with its file and line
    files = data.get("rule_files") if isinstance(data, dict) else None
    return [str(item) for item in files] if isinstance(files, list) else []
