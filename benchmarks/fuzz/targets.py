"""The fuzz targets: each entry point leakstop feeds untrusted bytes, called the way the
product calls it, with the errors it documents caught (anything else is a crash)."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from leakstop.errors import ConfigError, RuleError, StoreError


def _detector() -> Callable[[bytes], None]:
    from leakstop.rules import load_builtin_rules
    from leakstop.scanner.detector import Detector
    from leakstop.scanner.engine import build_engine

    detector = Detector(engine=build_engine(load_builtin_rules()))

    def target(data: bytes) -> None:
        for finding in detector.place(detector.hits(data, "a.env"), "a.env"):
            if finding.secret in finding.redacted:
                raise AssertionError(f"{finding.rule_id}: the redaction shows the secret")

    return target


def _decode() -> Callable[[bytes], None]:
    from leakstop.scanner import decode
    from leakstop.scanner.text import LineIndex, sniff, to_scannable

    def target(data: bytes) -> None:
        list(decode.decodings(data))
        scannable = to_scannable(data, sniff(data))
        index = LineIndex(scannable)
        for offset in range(0, len(scannable) + 1, 7):
            index.position(offset)

    return target


def _config() -> Callable[[bytes], None]:
    from leakstop.config import parse_config

    def target(data: bytes) -> None:
        with contextlib.suppress(ConfigError):
            parse_config(data, ".leakstop.yaml", Path("/nonexistent"), with_rules=False)

    return target


def _rules() -> Callable[[bytes], None]:
    from leakstop.rules.loader import load_rule_document

    def target(data: bytes) -> None:
        with contextlib.suppress(RuleError):
            load_rule_document(data, "rules.yaml")

    return target


def _baseline() -> Callable[[bytes], None]:
    from leakstop import baseline

    folder = Path(tempfile.mkdtemp(prefix="leakstop-fuzz-"))
    path = folder / "baseline.json"

    def target(data: bytes) -> None:
        path.write_bytes(data)
        try:
            loaded = baseline.load(path, password_rules=frozenset(), warn=False)
        except ConfigError:
            return
        baseline.save(loaded, path)

    return target


def _audit() -> Callable[[bytes], None]:
    from datetime import datetime, timezone

    from leakstop.audit.context import Context
    from leakstop.audit.log import AuditLog
    from leakstop.audit.record import Action, Source
    from leakstop.audit.verify import verify

    template = Path(tempfile.mkdtemp(prefix="leakstop-fuzz-audit-")) / "audit"
    moment = datetime(2026, 1, 10, 9, tzinfo=timezone.utc)
    log = AuditLog.open(template, None, clock=lambda: moment)
    for n in range(3):
        log.append(
            Action.SECRET_READ, "billing/key", Context("alice", Source.CLI), details={"n": n}
        )
    work = template.parent / "work"

    def target(data: bytes) -> None:
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(template, work)
        day = next(work.glob("audit-*.jsonl"))
        original = day.read_bytes()
        # The input replaces the log from a point it chooses: a cut, an edit, appended lines.
        cut = data[0] * len(original) // 255 if data else len(original)
        day.write_bytes(original[:cut] + data[1:])
        verify(work, None)

    return target


def _store() -> Callable[[bytes], None]:
    from leakstop.audit.context import Context
    from leakstop.audit.log import AuditLog
    from leakstop.audit.record import Source
    from leakstop.store import LocalStore
    from leakstop.store.paths import org_paths

    master = b"correct horse battery staple"
    actor = Context("alice", Source.API)
    home = Path(tempfile.mkdtemp(prefix="leakstop-fuzz-store-"))
    audit = AuditLog.open(home / "audit", None)
    store = LocalStore.init(home, "default", master, audit, actor, iterations=1000)
    store.write("db", b"value", None)
    path = org_paths(home, "default").secret("db")
    original = path.read_bytes()

    def target(data: bytes) -> None:
        cut = data[0] * len(original) // 255 if data else len(original)
        path.write_bytes(original[:cut] + data[1:])
        with contextlib.suppress(StoreError):
            LocalStore.open(home, "default", master, audit, actor).read("db")

    return target


TARGETS: dict[str, Callable[[], Callable[[bytes], None]]] = {
    "detector": _detector,
    "decode": _decode,
    "config": _config,
    "rules": _rules,
    "baseline": _baseline,
    "audit": _audit,
    "store": _store,
}
