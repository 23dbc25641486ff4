"""A branch of a git repository as an audit sink: the trail outlives an ephemeral CI runner.

`send` only buffers; `close` pushes the run's records in one commit to `branch` (default
`leakstop-audit`) of the remote: the repository around the working directory's `origin`, or
another remote's name, or a URL. The branch holds day files and `head.json` in the layout of
a local log, so `leakstop audit verify --dir <a clone of the branch>` checks it. The branch is
a second log merged from every run (see `relink`): each run's copies are sealed again after
the branch's last record, with `LEAKSTOP_AUDIT_KEY`.

Races: two runs that push at once both land. A push refused as not a fast-forward (another
run pushed first) is redone from a fresh fetch of the branch: the copies re-linked after the
other run's records, then pushed again, up to `attempts` times. Nothing is ever force-pushed.

The work happens in a temporary repository of its own (removed at close), never in the user's
checkout. Repository operations go through GitPython (`Repo.init`, the index, commits,
`git.Git` for fetch and push with their exit status and porcelain output).

The token (the variable `token_env` names; in Actions the job's token with `contents: write`)
is only sent to an https remote, as an `Authorization` header given to git through
`GIT_CONFIG_COUNT` variables of its process: it is never on a command line, in a URL, in the
temporary repository's `.git/config`, or in a message. Credentials written in a remote's URL
are dropped; git never prompts.
"""

from __future__ import annotations

import base64
import configparser
import logging
import os
import random
import re
import shutil
import tempfile
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from leakstop.audit.anchor import ANCHOR_NAME
from leakstop.audit.record import Record
from leakstop.audit.sinks import SinkError
from leakstop.audit.sinks.relink import append_copies
from leakstop.config.audit import GitSinkSettings
from leakstop.errors import AuditIntegrityError
from leakstop.gitcli import END_OF_OPTIONS, is_branch_name, is_remote_name
from leakstop.textsafe import sanitize

if TYPE_CHECKING:
    import git

log = logging.getLogger(__name__)

#: Pushes tried before giving up on a branch that other runs keep moving.
ATTEMPTS = 6
#: Who the audit commits are by.
AUTHOR_NAME = "leakstop audit"
AUTHOR_EMAIL = "leakstop-audit@users.noreply.invalid"
_DAY_FILES = re.compile(r"^audit-\d{4}-\d{2}-\d{2}\.jsonl$")
#: What an audit branch may hold: day files (archived ones too), its anchor, a README.
_AUDIT_FILES = re.compile(r"^(?:audit-\d{4}-\d{2}-\d{2}\.jsonl(?:\.gz)?|head\.json|README\.md)$")
_MAX_MESSAGE = 300
#: How a refused push reads when another run's push got there first: the branch moved (not a
#: fast-forward), or both reached the server at once and the other held the ref's lock
#: (measured with four processes on a local bare repository: "failed to update ref").
_RACES = ("fetch first", "non-fast-forward", "failed to update ref", "cannot lock ref")


class GitSink:
    """Buffers records and pushes them at `close` to `settings.branch`.

    `key` seals the copies (the log's `LEAKSTOP_AUDIT_KEY`); `token` is sent to an https
    remote only. `cwd` is where `remote` as a name is looked up (default: the working
    directory); `scratch` is where the temporary repository goes (default: the system's).
    Connects to nothing until `close`.
    """

    def __init__(
        self,
        settings: GitSinkSettings,
        key: bytes | None,
        token: str | None,
        *,
        cwd: Path | None = None,
        scratch: Path | None = None,
        attempts: int = ATTEMPTS,
    ) -> None:
        self._settings = settings
        self._key = key
        self._token = token or None
        self._cwd = cwd
        self._scratch = scratch
        self._attempts = attempts
        self._records: list[Record] = []
        self.name = sanitize(f"git {_without_credentials(settings.remote)} {settings.branch}")

    def __repr__(self) -> str:
        return f"GitSink({self.name!r})"

    def send(self, record: Record) -> None:
        """Keep `record` for the push at `close`."""
        self._records.append(record)

    def close(self) -> None:
        """Push the buffered records in one commit; raises SinkError (one line, naming the
        records that did not land) when they cannot be pushed. Does nothing without records."""
        records, self._records = self._records, []
        if not records:
            return
        span = f"{len(records)} records (seq {records[0].seq}–{records[-1].seq})"
        try:
            pushed = self._push(records)
        except SinkError as exc:
            raise SinkError(f"audit sink {self.name}: {exc}; {span} not pushed") from exc
        log.info("audit sink %s: pushed %s as %d new records", self.name, span, pushed)

    def _push(self, records: Sequence[Record]) -> int:
        if not is_branch_name(self._settings.branch):
            raise SinkError(f"{self._settings.branch!r} is not a git branch name")
        try:
            import git  # noqa: F401 - GitPython refuses to import without a git program
        except ImportError as exc:
            raise SinkError("git is not installed, or GitPython cannot run it") from exc
        url = self._remote_url()
        environment = _git_environment(url, self._token)
        scratch = Path(tempfile.mkdtemp(prefix="leakstop-audit-", dir=self._scratch))
        try:
            for attempt in range(1, self._attempts + 1):
                folder = scratch / str(attempt)
                outcome = self._attempt(folder, url, environment, records)
                if outcome is not None:
                    return outcome
                if attempt < self._attempts:
                    # Runs that lost the same race should not all fetch again at once.
                    wait = random.uniform(0.05, 0.25) * attempt
                    log.info(
                        "audit sink %s: another run pushed first; re-linking on top of it "
                        "(attempt %d of %d)",
                        self.name,
                        attempt + 1,
                        self._attempts,
                    )
                    time.sleep(wait)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        raise SinkError(
            f"the branch moved under every one of {self._attempts} pushes (other runs "
            "pushing); not forced"
        )

    def _attempt(
        self, folder: Path, url: str, environment: Mapping[str, str], records: Sequence[Record]
    ) -> int | None:
        """One fetch, re-link, commit and push. The number of copies pushed, or None when the
        push was refused as not a fast-forward (fetch and try again)."""
        import git

        branch = self._settings.branch
        try:
            repo = git.Repo.init(folder)
        except git.GitError as exc:
            raise SinkError(f"cannot make a temporary repository ({self._say(exc)})") from exc
        try:
            repo.git.update_environment(**environment)
            tip = self._fetch(repo, url, branch)
            if tip is not None:
                repo.git.checkout("--quiet", "-B", "audit", tip)
                self._check_is_audit_branch(repo)
            try:
                copies = append_copies(folder, records, self._key)
            except AuditIntegrityError as exc:
                raise SinkError(f"the branch's log cannot be continued: {exc}") from exc
            except OSError as exc:
                raise SinkError(f"cannot write the temporary clone: {exc}") from exc
            if not copies:
                return 0  # all already there: an earlier push landed after all
            names = sorted(
                p.name for p in folder.iterdir() if _DAY_FILES.match(p.name) and p.is_file()
            )
            repo.index.add([*names, ANCHOR_NAME])
            author = git.Actor(AUTHOR_NAME, AUTHOR_EMAIL)
            message = f"audit: {len(copies)} records, seq {copies[0].seq}–{copies[-1].seq}"
            repo.index.commit(message, author=author, committer=author)
            return len(copies) if self._push_once(repo, url, branch) else None
        except git.GitError as exc:
            raise SinkError(self._say(exc)) from exc
        finally:
            repo.close()

    def _check_is_audit_branch(self, repo: git.Repo) -> None:
        """Refuse a branch that holds anything but an audit log (a misconfigured `main`):
        audit commits there would land in the code and trigger its workflows."""
        tracked = str(repo.git.ls_files("-z")).split("\0")
        other = sorted(name for name in tracked if name and not _AUDIT_FILES.match(name))
        if other:
            raise SinkError(
                f"the branch {self._settings.branch!r} holds other files ({other[0]!r}…): it "
                "is not an audit branch; configure a branch of its own"
            )

    def _fetch(self, repo: git.Repo, url: str, branch: str) -> str | None:
        """The branch's tip, fetched (only the last commit); None when the branch is new."""
        ref = f"refs/heads/{branch}"
        status, out, err = _run(repo, "ls-remote", END_OF_OPTIONS, url, ref)
        if status != 0:
            raise SinkError(f"cannot reach the remote ({self._first_line(err)})")
        if not out.strip():
            return None
        status, _out, err = _run(
            repo,
            "fetch",
            "--quiet",
            "--no-tags",
            "--depth=1",
            END_OF_OPTIONS,
            url,
            f"+{ref}:refs/remotes/audit/tip",
        )
        if status != 0:
            raise SinkError(f"cannot fetch the branch ({self._first_line(err)})")
        return "refs/remotes/audit/tip"

    def _push_once(self, repo: git.Repo, url: str, branch: str) -> bool:
        """Push HEAD to the branch: True when it landed, False when refused as not a
        fast-forward; raises SinkError for any other refusal (a hook, permissions, the
        remote down)."""
        status, out, err = _run(
            repo, "push", "--porcelain", END_OF_OPTIONS, url, f"HEAD:refs/heads/{branch}"
        )
        # Porcelain: "<flag>\t<from>:<to>\t<summary>"; "!" is a refused ref.
        for line in out.splitlines():
            parts = line.split("\t")
            if len(parts) == 3 and parts[1].endswith(f":refs/heads/{branch}"):
                if parts[0] != "!":
                    return True
                summary = parts[2]
                if any(reason in summary for reason in _RACES):
                    return False
                raise SinkError(f"the remote refused the push ({self._clean(summary)})")
        if status == 0:
            return True
        raise SinkError(f"cannot push ({self._first_line(err)})")

    def _remote_url(self) -> str:
        """The URL to push to, without credentials: `remote` itself, or the URL the remote of
        that name has in the repository around `cwd`."""
        remote = self._settings.remote
        if not is_remote_name(remote):
            return _without_credentials(remote)
        import git

        where = self._cwd or Path.cwd()
        try:
            repo = git.Repo(where, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise SinkError(
                f"{where} is not in a git repository, so the remote {remote!r} is unknown; "
                "give the remote's URL"
            ) from None
        try:
            with repo.config_reader() as config:
                url = str(config.get_value(f'remote "{remote}"', "url"))
        except (configparser.Error, KeyError, ValueError):
            raise SinkError(f"the repository has no remote {remote!r}") from None
        finally:
            repo.close()
        return _without_credentials(url)

    def _say(self, exc: BaseException) -> str:
        stderr = getattr(exc, "stderr", None)
        return self._first_line(stderr if isinstance(stderr, str) else str(exc))

    def _first_line(self, text: str) -> str:
        for line in text.splitlines():
            line = line.strip().strip("'").strip()
            if line and not line.startswith(("stderr:", "cmdline:")):
                return self._clean(line.removeprefix("fatal: ").removeprefix("error: "))
        return "no message from git"

    def _clean(self, text: str) -> str:
        """One line for a message: the token (should git ever echo it) masked, cut short."""
        if self._token:
            text = text.replace(self._token, "***")
        if len(text) > _MAX_MESSAGE:
            text = text[: _MAX_MESSAGE - 1] + "…"
        return sanitize(text)


def _run(repo: git.Repo, *args: str) -> tuple[int, str, str]:
    """`git ARGS` in `repo` with the sink's environment: exit status, stdout, stderr (its
    failures are ours to word, so GitPython raises nothing here)."""
    status, out, err = repo.git.execute(
        ["git", *args], with_extended_output=True, with_exceptions=False
    )
    return int(status or 0), str(out), str(err)


def _git_environment(url: str, token: str | None) -> dict[str, str]:
    """Variables for every git process of the sink: never prompt (a CI job would hang), run
    none of the user's global hooks, and send the token as an https header scoped to the
    remote's origin."""
    settings = [("core.hooksPath", os.devnull)]
    parts = urllib.parse.urlsplit(url)
    if token and parts.scheme == "https" and parts.hostname:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode("ascii")
        # Scoped like actions/checkout's header: sent only to this scheme and host.
        origin = f"https://{parts.netloc}/"
        settings.append((f"http.{origin}.extraHeader", f"Authorization: Basic {basic}"))
    environment = {
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_COUNT": str(len(settings)),
    }
    for index, (name, value) in enumerate(settings):
        environment[f"GIT_CONFIG_KEY_{index}"] = name
        environment[f"GIT_CONFIG_VALUE_{index}"] = value
    return environment


def _without_credentials(url: str) -> str:
    """`url` without credentials: no user:password@ in an http(s) or file URL (a token
    someone wrote there), no password in an ssh URL (its user, as in scp-like
    git@host:path, is a login name, not a secret)."""
    parts = urllib.parse.urlsplit(url)
    if not parts.scheme or "@" not in parts.netloc:
        return url
    userinfo, host = parts.netloc.rsplit("@", 1)
    user = userinfo.split(":", 1)[0]
    keep = f"{user}@" if parts.scheme in ("ssh", "git+ssh") and user else ""
    return urllib.parse.urlunsplit(parts._replace(netloc=keep + host))
