"""What each `leakstop store` action does: the handlers `commands/store.py` dispatches to,
imported only when a store command runs.

Values come from stdin (or `--generate`) and go to stdout (`get`) only: never argv, stderr, a
log line or an audit record.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from leakstop.audit.context import from_environment
from leakstop.audit.log import AuditLog
from leakstop.audit.setup import open_log
from leakstop.commands.base import Outcome, response_config, say
from leakstop.config.secrets import rotation_intervals
from leakstop.durations import parse_duration
from leakstop.errors import StoreError, UsageError
from leakstop.home import home
from leakstop.store import LocalStore, output
from leakstop.store.generate import generate
from leakstop.store.masterkey import master_key, new_master_key

Handler = Callable[[argparse.Namespace], Outcome]


@contextmanager
def _audit(args: argparse.Namespace) -> Iterator[AuditLog]:
    """The configured audit log (config `audit.dir` and sinks), closed at the end."""
    config = response_config(args.config)
    audit_log = open_log(config.audit)
    try:
        yield audit_log
    finally:
        audit_log.close()


@contextmanager
def _store(args: argparse.Namespace) -> Iterator[LocalStore]:
    with _audit(args) as audit_log:
        yield LocalStore.open(
            home(),
            args.org,
            master_key(args.org),
            audit_log,
            from_environment(args.org),
            subject=getattr(args, "name", ""),
        )


def _init(args: argparse.Namespace) -> Outcome:
    with _audit(args) as audit_log:
        store = LocalStore.init(
            home(), args.org, master_key(args.org), audit_log, from_environment(args.org)
        )
    say(f"Created org {args.org} in {store.paths.root}.")
    return Outcome.CLEAN


def _set(args: argparse.Namespace) -> Outcome:
    if args.value_on_command_line:
        raise UsageError(
            "a value is never taken from the command line (other users can read it there): "
            "pipe it on stdin, or use --generate"
        )
    if args.generate and (args.json or args.raw):
        raise UsageError("--generate makes the value: it takes no --json or --raw")
    if args.expect_version is not None and args.expect_version < 0:
        raise UsageError("--expect-version takes 0 (a new secret) or a version number")
    value: bytes | dict[str, Any]
    if args.generate:
        value = generate(args.length, args.charset)
    else:
        value = _value_from_stdin(args.name, as_json=args.json, raw=args.raw)
    with _store(args) as store:
        expected = args.expect_version
        if expected is None:
            # Check-and-set on what this command saw: a writer in between is a conflict.
            expected = store.latest_version(args.name)
        elif expected == 0:
            expected = None
        version = store.write(args.name, value, expected)
    say(f"Stored {args.name} version {version.number} (current).")
    return Outcome.CLEAN


def _get(args: argparse.Namespace) -> Outcome:
    if os.environ.get("GITHUB_ACTIONS") == "true" and sys.stdout.isatty():
        raise StoreError(
            f"refusing to print {args.name} to a terminal inside GitHub Actions: capture it, "
            f"e.g. X=$(leakstop store get {args.name})"
        )
    with _store(args) as store:
        value = store.read(args.name, version=args.version, label=args.label)
    if isinstance(value, dict):
        if args.field is not None:
            if args.field not in value:
                raise StoreError(f"{args.name} has no field {args.field!r}")
            field = value[args.field]
            text = field if isinstance(field, str) else json.dumps(field, ensure_ascii=False)
            data = text.encode("utf-8")
        elif args.json:
            data = json.dumps(value, ensure_ascii=False, sort_keys=True).encode("utf-8")
        else:
            raise StoreError(f"{args.name} holds a JSON object: add --json or --field KEY")
    else:
        if args.field is not None:
            raise StoreError(f"{args.name} is not a JSON object: it has no fields")
        data = value
        if args.json:
            try:
                data = json.dumps(value.decode("utf-8"), ensure_ascii=False).encode("utf-8")
            except UnicodeDecodeError:
                raise StoreError(f"{args.name} is not text: it cannot be shown as JSON") from None
    if sys.stdout.isatty():
        data += b"\n"  # a prompt after the value on a terminal; captures strip it anyway
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
    return Outcome.CLEAN


def _list(args: argparse.Namespace) -> Outcome:
    with _store(args) as store:
        secrets = store.list_secrets(include_deleted=args.deleted)
    output.write_secrets(secrets, args.format, sys.stdout)
    return Outcome.CLEAN


def _versions(args: argparse.Namespace) -> Outcome:
    with _store(args) as store:
        info = store.describe(args.name)
    output.write_versions(info, args.format, sys.stdout)
    return Outcome.CLEAN


def _delete(args: argparse.Namespace) -> Outcome:
    with _store(args) as store:
        store.delete(args.name, purge=args.purge)
    if args.purge:
        say(f"Purged {args.name}: every value is erased (backups still hold theirs).")
    else:
        say(f"Deleted {args.name}; `leakstop store rollback {args.name} --to N` revives it.")
    return Outcome.CLEAN


def _rollback(args: argparse.Namespace) -> Outcome:
    with _store(args) as store:
        store.rollback(args.name, args.to)
    say(f"{args.name}: version {args.to} is current again.")
    return Outcome.CLEAN


def _rotate_key(args: argparse.Namespace) -> Outcome:
    with _store(args) as store:
        result = store.rotate_master_key(new_master_key())
    finished = "Finished the interrupted rotation: " if result.resumed else ""
    say(
        f"{finished}{result.secrets} secrets re-encrypted under key generation "
        f"{result.generation} ({result.iterations:,} PBKDF2 iterations) in "
        f"{result.seconds:.1f} s. Only the new master key opens org {args.org} now: set "
        "LEAKSTOP_MASTER_KEY to it."
    )
    return Outcome.CLEAN


def _backup(args: argparse.Namespace) -> Outcome:
    with _store(args) as store:
        info = store.backup(args.name)
    say(f"Backup {info.name}: {info.secrets} secrets, still encrypted, in {info.path}.")
    return Outcome.CLEAN


def _backups(args: argparse.Namespace) -> Outcome:
    with _store(args) as store:
        found = store.backups()
    output.write_backups(found, args.format, sys.stdout)
    return Outcome.CLEAN


def _restore(args: argparse.Namespace) -> Outcome:
    with _store(args) as store:
        plan = store.restore(args.backup, dry_run=args.dry_run)
    output.write_plan(plan, not args.dry_run, sys.stdout)
    return Outcome.CLEAN


def _prune(args: argparse.Namespace) -> Outcome:
    try:
        age = parse_duration(args.older_than)
    except ValueError as exc:
        raise UsageError(f"--older-than: {exc}") from None
    with _store(args) as store:
        deleted = store.prune_backups(age)
    say(f"Deleted {len(deleted)} backups older than {args.older_than} (the newest is kept).")
    return Outcome.CLEAN


def _check(args: argparse.Namespace) -> Outcome:
    secrets = response_config(args.config).secrets
    policies = rotation_intervals([s for s in secrets if s.org == args.org])
    with _audit(args) as audit_log:
        try:
            store = LocalStore.open(
                home(), args.org, master_key(args.org), audit_log, from_environment(args.org)
            )
        except StoreError as exc:
            say(f"✗ org {args.org}: the store cannot be opened: {exc}")
            return Outcome.FAILED
        report = store.check(policies=policies)
    output.write_health(args.org, report, args.format, sys.stdout)
    return Outcome.CLEAN if report.healthy else Outcome.FAILED


def _value_from_stdin(name: str, *, as_json: bool, raw: bool) -> bytes | dict[str, Any]:
    if sys.stdin is None:
        raise UsageError("no value: pipe it on stdin, or use --generate")
    if sys.stdin.isatty():
        data = getpass.getpass(f"value for {name} (not shown): ").encode("utf-8")
    else:
        data = sys.stdin.buffer.read()
        if not raw:
            data = data.removesuffix(b"\n").removesuffix(b"\r")
    if not data:
        raise UsageError("no value on stdin: pipe it in, or use --generate")
    if not as_json:
        return data
    try:
        value = json.loads(data)
    except ValueError:
        raise UsageError("stdin is not JSON (--json wants one JSON object)") from None
    if not isinstance(value, dict):
        raise UsageError("--json wants one JSON object ({...}) on stdin")
    return value


HANDLERS: dict[str, Handler] = {
    "init": _init,
    "set": _set,
    "get": _get,
    "list": _list,
    "versions": _versions,
    "delete": _delete,
    "rollback": _rollback,
    "rotate-key": _rotate_key,
    "backup": _backup,
    "backups": _backups,
    "restore": _restore,
    "prune-backups": _prune,
    "check": _check,
}
