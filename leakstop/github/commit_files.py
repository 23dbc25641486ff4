"""A config file as a given commit has it, with the rule files it names, copied out of git
under a folder of ours: how the Action reads config it must not take from the checkout (a
pull request's base, the default branch)."""

from __future__ import annotations

from pathlib import Path

from leakstop import gitcli
from leakstop.errors import LeakstopError, SourceError
from leakstop.yamlfile import load_yaml


def copy_config(repo: Path, commit: str, name: str, folder: Path) -> Path | None:
    """Write `name` as it is in `commit` at `folder/name`, and each file its `rule_files:`
    names beside it; return its path, or None when the commit has no such file."""
    text = gitcli.show_file(repo, commit, name)
    if text is None:
        return None
    config_path = write_under(folder, name, text)
    for rule_file in _rule_files(text, name):
        rule_text = gitcli.show_file(repo, commit, str(Path(name).parent / rule_file))
        if rule_text is not None:
            write_under(config_path.parent, rule_file, rule_text)
    return config_path


def write_under(folder: Path, name: str, data: bytes) -> Path:
    """Write `data` at `folder/name`; a name that would leave `folder` is refused."""
    target = (folder / name).resolve()
    if not target.is_relative_to(folder.resolve()):
        raise SourceError(f"{name!r} points outside the repository")
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
