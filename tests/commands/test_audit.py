"""`leakstop audit …` as a user runs it: the tamper cases verify catches (each with the
command that shows it), queries, exports, stats, anomalies, reports and retention."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Action, Source
from leakstop.cli import main

KEY = "correct horse battery staple, audit edition"
ALICE = Context("alice", Source.CLI)
BOB = Context("bob", Source.ACTION)


@pytest.fixture
def folder(private_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A keyed log over three days: reads, a failed rotation, a rotation, a revocation."""
    monkeypatch.setenv("LEAKSTOP_AUDIT_KEY", KEY)
    monkeypatch.chdir(tmp_path)
    audit = private_home / "audit"
    days = iter(
        datetime(2026, 11, 28, 9, 0, tzinfo=timezone.utc) + timedelta(hours=h)
        for h in (0, 1, 2, 25, 26, 49, 50, 51)
    )
    log = AuditLog.open(audit, KEY.encode(), clock=lambda: next(days))
    log.append(Action.SECRET_CREATED, "billing/api-key", ALICE, details={"version": 1})
    log.append(Action.SECRET_READ, "billing/api-key", BOB)
    log.append(Action.SECRET_READ, "billing/api-key", ALICE)
    log.append(Action.ROTATION_FAILED, "billing/api-key", BOB, success=False, error="db down")
    log.append(Action.ROTATION_COMPLETED, "billing/api-key", BOB, details={"version": 2})
    log.append(
        Action.FINDING_DETECTED, "f" * 32, BOB, details={"managed_secret": "billing/api-key"}
    )
    log.append(Action.REVOKED, "billing/api-key", BOB, details={"finding": "f" * 32})
    log.append(Action.SECRET_READ, "db/password", ALICE)
    log.close()
    return audit


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _day(folder: Path, day: str) -> Path:
    return folder / f"audit-2026-{day}.jsonl"


def test_an_intact_log_verifies_with_a_count(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "verify"]) == 0
    assert "✓ 8 records in 3 day files verified (seq 1–8)" in capsys.readouterr().out


def _edit(folder: Path) -> None:
    path = _day(folder, "11-28")
    path.write_bytes(path.read_bytes().replace(b'"actor":"bob"', b'"actor":"eve"', 1))


def _delete(folder: Path) -> None:
    path = _day(folder, "11-28")
    lines = _lines(path)
    path.write_bytes(b"".join(lines[:1] + lines[2:]))


def _reorder(folder: Path) -> None:
    path = _day(folder, "11-28")
    lines = _lines(path)
    path.write_bytes(b"".join([lines[1], lines[0], lines[2]]))


def _insert(folder: Path) -> None:
    path = _day(folder, "11-28")
    lines = _lines(path)
    path.write_bytes(b"".join([lines[0], lines[1], lines[1], lines[2]]))


def _truncate_a_day(folder: Path) -> None:
    path = _day(folder, "11-29")
    path.write_bytes(_lines(path)[0])


def _delete_a_day(folder: Path) -> None:
    _day(folder, "11-29").unlink()


def _drop_the_newest(folder: Path) -> None:
    path = _day(folder, "11-30")
    path.write_bytes(b"".join(_lines(path)[:-1]))


def _forge(folder: Path) -> None:
    """Rewrite a record and seal it again with a key the forger made up."""
    forger = AuditLog.open(folder.parent / "forger", b"not the key")
    forged = forger.append(Action.SECRET_READ, "billing/api-key", Context("mallory", Source.CLI))
    forger.close()
    path = _day(folder, "11-30")
    lines = _lines(path)
    original = json.loads(lines[2])
    document = json.loads(forged.line())
    document.update(seq=original["seq"], prev=original["prev"], timestamp=original["timestamp"])
    from leakstop.audit.record import canonical, from_json

    record = from_json(document)
    from leakstop.audit.chain import seal

    document["mac"] = seal(record, b"not the key")
    path.write_bytes(b"".join([*lines[:2], canonical(document) + b"\n"]))


@pytest.mark.parametrize(
    ("tamper", "why"),
    [
        (_edit, "does not match its mac"),
        (_delete, "missing"),
        (_reorder, "reordered"),
        (_insert, "reordered, duplicated or inserted"),
        (_truncate_a_day, "missing"),
        (_delete_a_day, "missing"),
        (_drop_the_newest, "head.json says the log ends at seq 8"),
        (_forge, "does not match its mac"),
    ],
    ids=[
        "edited",
        "deleted",
        "reordered",
        "inserted",
        "truncated day",
        "deleted day",
        "newest removed",
        "forged without the key",
    ],
)
def test_verify_names_the_first_bad_record_and_exits_1(
    folder: Path,
    capsys: pytest.CaptureFixture[str],
    tamper,
    why: str,  # type: ignore[no-untyped-def]
) -> None:
    tamper(folder)
    assert main(["audit", "verify"]) == 1
    captured = capsys.readouterr()
    assert "audit log tampered with: " in captured.err
    assert why in captured.err
    assert "audit-2026-" in captured.err or "head.json" in captured.err
    assert "Traceback" not in captured.err


def test_a_torn_tail_is_reported_then_repaired_and_recorded(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _day(folder, "11-30")
    with path.open("ab") as handle:
        handle.write(b'{"action":"secret_read","actor":"al')
    assert main(["audit", "verify"]) == 0
    assert "incomplete record" in capsys.readouterr().err
    assert main(["audit", "repair"]) == 0
    assert "Moved a torn record (35 bytes)" in capsys.readouterr().out
    assert main(["audit", "verify"]) == 0
    capsys.readouterr()
    assert main(["audit", "query", "--action", "log_repaired", "-f", "json"]) == 0
    (record,) = json.loads(capsys.readouterr().out)
    assert record["details"]["bytes"] == 35


def test_query_filters_and_formats(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["audit", "query", "--secret", "billing/api-key", "--actor", "bob", "-f", "json"]) == 0
    )
    records = json.loads(capsys.readouterr().out)
    assert [r["action"] for r in records] == [
        "secret_read",
        "rotation_failed",
        "rotation_completed",
        "revoked",
    ]
    assert main(["audit", "query", "--failed", "-f", "csv"]) == 0
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert [(r["action"], r["error"]) for r in rows] == [("rotation_failed", "db down")]
    assert main(["audit", "query", "--since", "2026-11-30", "--action", "secret_read"]) == 0
    table = capsys.readouterr().out
    assert "db/password" in table
    assert "billing/api-key" not in table


def test_bad_filters_are_one_line(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "query", "--since", "yesterday-ish"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("leakstop: error: ")


def test_export_stats_report(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out.csv"
    assert main(["audit", "export", "-f", "csv", "-o", str(target), "--actor", "alice"]) == 0
    assert len(list(csv.DictReader(target.read_text().splitlines()))) == 3
    capsys.readouterr()
    assert main(["audit", "stats", "-f", "json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["records"] == 8
    assert main(["audit", "report", "--secret", "billing/api-key"]) == 0
    report = capsys.readouterr().out
    assert "`billing/api-key`" in report
    assert "Last rotation" in report


def test_anomalies_are_recorded_once(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".leakstop.yaml").write_text(
        "version: 1\naudit:\n  anomalies:\n    failed_attempts: {count: 1, window: 1h}\n"
    )
    assert main(["audit", "anomalies", "--record", "-f", "json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found
    assert main(["audit", "anomalies", "--record"]) == 0  # nothing new to record
    capsys.readouterr()
    assert main(["audit", "query", "--action", "anomaly", "-f", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == len(found)
    assert main(["audit", "verify"]) == 0


def test_archive_and_prune_keep_the_chain_verifiable(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "archive", "--older-than", "1d"]) == 0
    assert (folder / "audit-2026-11-28.jsonl.gz").exists()
    assert main(["audit", "verify"]) == 0
    assert main(["audit", "prune", "--older-than", "3d"]) == 0
    assert not (folder / "audit-2026-11-28.jsonl.gz").exists()
    assert main(["audit", "verify"]) == 0
    capsys.readouterr()
    assert main(["audit", "query", "--action", "log_pruned", "-f", "json"]) == 0
    (pruned,) = json.loads(capsys.readouterr().out)
    assert pruned["details"]


def test_verify_without_a_log_says_where_it_looked(
    private_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "verify"]) == 2
    assert f"no audit log at {private_home / 'audit'}" in capsys.readouterr().err


def test_configured_sinks_get_each_record_and_a_dead_one_is_recorded(
    private_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    httpserver_ipv4,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A SIEM over HTTP receives every record a command writes; a sink that is down loses
    nothing: the local log has the record and a `sink_failed` record says what was not sent."""
    from tests.conftest import GITHUB_TOKEN

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SIEM_KEY", "siem signing key")
    httpserver_ipv4.expect_request("/audit", method="POST").respond_with_data("ok")
    (tmp_path / "app.env").write_text(f"TOKEN={GITHUB_TOKEN}\n")
    (tmp_path / ".leakstop.yaml").write_text(
        "version: 1\naudit:\n  sinks:\n"
        f"    - {{type: http, url: '{httpserver_ipv4.url_for('/audit')}', key_env: SIEM_KEY}}\n"
        "    - {type: http, url: 'http://127.0.0.1:9/dead', retries: 0, timeout: 0.5}\n"
    )
    assert main(["respond", "--dry-run", "-j", "1"]) == 0
    (request, _response) = httpserver_ipv4.log[0]
    sent = json.loads(request.get_data())
    assert sent["action"] == "finding_detected"
    assert request.headers["X-Leakstop-Signature"].startswith("sha256=")
    assert GITHUB_TOKEN not in request.get_data(as_text=True)
    capsys.readouterr()
    assert main(["audit", "query", "--action", "sink_failed", "-f", "json"]) == 0
    (failed,) = json.loads(capsys.readouterr().out)
    assert "127.0.0.1:9" in json.dumps(failed["details"])
    assert main(["audit", "verify"]) == 0


def test_the_format_choices_are_the_writers() -> None:
    """`leakstop audit` lists its formats without importing the writers (start-up time)."""
    import argparse

    from leakstop.audit.anomalies import ANOMALY_FORMATS
    from leakstop.audit.output import RECORD_FORMATS
    from leakstop.audit.report import REPORT_FORMATS
    from leakstop.audit.stats import STATS_FORMATS
    from leakstop.cli import build_parser

    parser = build_parser([])
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    audit = sub.choices["audit"]
    actions = next(a for a in audit._actions if isinstance(a, argparse._SubParsersAction))

    def formats(name: str) -> list[str]:
        option = next(a for a in actions.choices[name]._actions if "--format" in a.option_strings)
        return list(option.choices or [])

    assert formats("query") == list(RECORD_FORMATS)
    assert formats("stats") == list(STATS_FORMATS)
    assert formats("anomalies") == list(ANOMALY_FORMATS)
    assert formats("report") == list(REPORT_FORMATS)


def test_starting_leakstop_imports_no_audit_machinery() -> None:
    import subprocess
    import sys

    code = (
        # Every command registered, as for `--help`: a scan imports fewer still.
        "import sys, leakstop.cli; leakstop.cli.build_parser([]); "
        "print(sorted(m for m in sys.modules "
        "if m.startswith(('leakstop.audit.', 'urllib.request'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['leakstop.audit.record']"
