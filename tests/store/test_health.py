"""`check`: counts, the oldest secret, overdue secrets, and every way the store or its audit
log can be unhealthy."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from leakstop.audit.log import AuditLog
from leakstop.store import LocalStore
from leakstop.store.health import check


def test_a_healthy_store_is_counted(store: LocalStore) -> None:
    store.write("a", b"1", None)
    store.write("b", {"k": "v"}, None)
    store.write("a", b"2", 1)
    store.write("c", b"3", None)
    store.delete("c")
    report = store.check({})
    assert report.healthy, report.problems
    assert (report.secrets, report.deleted, report.versions) == (2, 1, 4)
    assert report.oldest is not None
    assert report.oldest[0] == "b"
    assert report.overdue == ()
    assert report.audit_records == 6
    assert any("1,000 PBKDF2 iterations" in w for w in report.warnings)


def test_overdue_follows_the_policies_given(store: LocalStore) -> None:
    store.write("a", b"1", None)
    store.write("b", b"1", None)
    later = datetime.now(timezone.utc) + timedelta(days=31)
    report = check(store, {"a": timedelta(days=30), "b": timedelta(days=90)}, now=later)
    assert report.overdue == ("a",)
    assert report.healthy


def test_every_damaged_file_is_a_problem(store: LocalStore) -> None:
    for name in ("a", "b", "c"):
        store.write(name, b"v", None)
    store.paths.secret("a").write_bytes(b"{")
    path = store.paths.secret("c")
    path.write_bytes(path.read_bytes().replace(b'"current":1', b'"current":2'))
    report = store.check({})
    assert not report.healthy
    assert len(report.problems) == 2
    assert "a.json is damaged" in report.problems[0]
    assert "c.json was changed outside leakstop" in report.problems[1]
    assert report.secrets == 1


def test_a_broken_audit_chain_is_a_problem(store: LocalStore, audit_log: AuditLog) -> None:
    store.write("a", b"v", None)
    day_file = next(audit_log.folder.glob("audit-*.jsonl"))
    day_file.write_bytes(day_file.read_bytes().replace(b'"actor":"alice"', b'"actor":"eve"', 1))
    report = store.check({})
    assert not report.healthy
    assert report.problems[0].startswith("the audit log does not verify")
