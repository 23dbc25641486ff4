"""The revocation requests' state machine, folded from audit records (no log on disk)."""

from __future__ import annotations

from typing import Any

import pytest

from leakstop.audit.record import Action, Record, Source
from leakstop.errors import UsageError
from leakstop.rotator.approvals import Order, Status, Target, check_decision, histories

ONE = Order("revoke", "billing/db", (Target("billing/db", "default", "3"),), "leaked", "critical")
TWO = Order(
    "revoke-all",
    "type:postgres",
    (Target("billing/db", "default", "3"), Target("search/db", "eu", "1")),
    "compromised",
    "low",
)


def record(
    action: Action,
    request: str = "rv-1",
    *,
    actor: str = "alice",
    secret: str = "billing/db",
    org: str = "default",
    success: bool = True,
    error: str | None = None,
    **details: Any,
) -> Record:
    return Record(
        action, secret, actor, Source.CLI, org, {"request": request, **details}, success, error
    )


def opened(order: Order = ONE, request: str = "rv-1", waits: bool = True) -> Record:
    action = Action.APPROVAL_REQUESTED if waits else Action.REVOCATION_REQUESTED
    extra = {"why": "severity critical is at or above high"} if waits else {}
    return record(action, request, **order.to_json(), **extra)


def granted(request: str = "rv-1", by: str = "bob") -> Record:
    return record(Action.APPROVAL_GRANTED, request, actor=by, by=by, via="person")


def test_a_request_that_waits_is_pending() -> None:
    (request,) = histories([opened()]).values()
    assert request.status is Status.PENDING
    assert request.order == ONE
    assert request.requester == "alice"
    assert request.approval_needed == "severity critical is at or above high"


def test_approved_then_revoked_is_done() -> None:
    records = [opened(), granted(), record(Action.REVOKED), record(Action.VERSION_DISABLED)]
    request = histories(records)["rv-1"]
    assert request.status is Status.DONE
    assert (request.decided_by, request.via) == ("bob", "person")
    assert request.outcomes["default/billing/db"].revoked


def test_approved_but_not_yet_run_stays_approved() -> None:
    assert histories([opened(), granted()])["rv-1"].status is Status.APPROVED


def test_a_request_needing_no_approval_opens_approved() -> None:
    request = histories([opened(TWO, waits=False)])["rv-1"]
    assert request.status is Status.APPROVED
    assert request.approval_needed is None


def test_every_target_must_be_revoked_for_done() -> None:
    records = [opened(TWO, waits=False), record(Action.REVOKED)]
    assert histories(records)["rv-1"].status is Status.APPROVED  # one of two so far
    records.append(record(Action.REVOKED, secret="search/db", org="eu"))
    assert histories(records)["rv-1"].status is Status.DONE


def test_a_failed_revocation_fails_the_request() -> None:
    failed = record(Action.REVOKED, secret="search/db", org="eu", success=False, error="db down")
    request = histories([opened(TWO, waits=False), record(Action.REVOKED), failed])["rv-1"]
    assert request.status is Status.FAILED
    assert request.outcomes["eu/search/db"].revoked is False
    assert request.outcomes["eu/search/db"].errors == ("db down",)


def test_a_version_the_store_did_not_disable_fails_the_request() -> None:
    undisabled = record(Action.VERSION_DISABLED, success=False, error="store is read-only")
    request = histories([opened(), granted(), record(Action.REVOKED), undisabled])["rv-1"]
    assert request.status is Status.FAILED
    assert request.outcomes["default/billing/db"].revoked is True  # the credential is dead
    assert request.outcomes["default/billing/db"].errors == ("store is read-only",)


def test_rejected_is_final_and_revocations_after_it_do_not_count() -> None:
    records = [
        opened(),
        record(Action.REJECTED, actor="bob", by="bob", reason="a test value"),
        granted(by="carol"),
        record(Action.REVOKED),
    ]
    request = histories(records)["rv-1"]
    assert request.status is Status.REJECTED
    assert (request.decided_by, request.decision_reason) == ("bob", "a test value")
    assert request.outcomes == {}


def test_revocation_records_of_a_pending_request_do_not_count() -> None:
    request = histories([opened(), record(Action.REVOKED)])["rv-1"]
    assert request.status is Status.PENDING
    assert request.outcomes == {}


def test_records_without_a_request_or_of_unknown_requests_are_ignored() -> None:
    plain_revoke = Record(Action.REVOKED, "billing/db", "ops", Source.CLI, details={"version": 1})
    found = histories([plain_revoke, granted("rv-unknown"), opened(request="rv-2")])
    assert list(found) == ["rv-2"]


def test_requests_keep_the_order_they_were_opened_in() -> None:
    found = histories([opened(request="rv-b"), opened(request="rv-a"), granted("rv-a")])
    assert list(found) == ["rv-b", "rv-a"]


def test_another_person_may_approve() -> None:
    requests = histories([opened()])
    assert check_decision("rv-1", requests, "bob", "bob", approving=True).id == "rv-1"


@pytest.mark.parametrize(("by", "actor"), [("alice", "bob"), ("bob", "alice"), (" Alice ", "b")])
def test_the_requester_cannot_approve(by: str, actor: str) -> None:
    with pytest.raises(UsageError, match="cannot approve their own request"):
        check_decision("rv-1", histories([opened()]), by, actor, approving=True)


def test_the_requester_may_withdraw_with_a_rejection() -> None:
    requests = histories([opened()])
    assert check_decision("rv-1", requests, "alice", "alice", approving=False).id == "rv-1"


def test_unknown_and_decided_requests_cannot_be_decided() -> None:
    requests = histories([opened(), granted()])
    with pytest.raises(UsageError, match="no revocation request rv-9 in the audit log"):
        check_decision("rv-9", requests, "bob", "bob", approving=True)
    for approving in (True, False):
        with pytest.raises(UsageError, match="rv-1 is approved by bob, not pending"):
            check_decision("rv-1", requests, "carol", "carol", approving=approving)
