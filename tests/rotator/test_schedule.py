"""When a managed secret is due, from its policy and the audit log."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from leakstop.audit.record import Action, Record, Source
from leakstop.config.rotation import RotationPolicy, Unscheduled
from leakstop.config.secrets import ManagedSecret, StoreRef
from leakstop.rotator.schedule import History, Status, due, histories, is_due_now

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)


def _secret(name: str, **policy: object) -> ManagedSecret:
    return ManagedSecret(name=name, store=StoreRef("local"), policy=RotationPolicy(**policy))  # type: ignore[arg-type]


def _made(days_ago: float) -> History:
    return History(made=NOW - timedelta(days=days_ago))


def test_statuses_most_urgent_first() -> None:
    secrets = [
        _secret("fresh", interval=timedelta(days=90)),
        _secret("soon", interval=timedelta(days=90), notify_before=timedelta(days=7)),
        _secret("late", interval=timedelta(days=30)),
        _secret("gone", expires=date(2026, 11, 1)),
        _secret("ending", expires=date(2026, 12, 10), notify_before=timedelta(days=14)),
        _secret("never", interval=Unscheduled.NEVER),
        _secret("unknown", interval=timedelta(days=30)),
    ]
    history = {
        ("default", "fresh"): _made(10),
        ("default", "soon"): _made(85),
        ("default", "late"): _made(31),
        ("default", "never"): _made(900),
    }
    items = due(secrets, history, NOW)
    assert [(i.secret.name, i.status) for i in items] == [
        ("gone", Status.EXPIRED),
        ("late", Status.OVERDUE),
        ("unknown", Status.DUE),
        ("ending", Status.EXPIRING),
        ("soon", Status.UPCOMING),
    ]
    assert [i.secret.name for i in items if is_due_now(i, NOW)] == ["late", "unknown"]


def test_within_widens_the_window() -> None:
    secrets = [_secret("s", interval=timedelta(days=90))]
    history = {("default", "s"): _made(80)}
    assert due(secrets, history, NOW) == []
    (item,) = due(secrets, history, NOW, within=timedelta(days=14))
    assert item.status is Status.DUE
    assert not is_due_now(item, NOW)  # due within the window, not yet


@pytest.mark.parametrize(("read_after", "expected"), [(True, True), (False, False)])
def test_on_access_is_due_after_a_read(read_after: bool, expected: bool) -> None:
    made = NOW - timedelta(hours=5)
    read = made + timedelta(hours=1) if read_after else made - timedelta(hours=1)
    secrets = [_secret("once", interval=Unscheduled.ON_ACCESS)]
    items = due(secrets, {("default", "once"): History(made, read)}, NOW)
    assert bool(items and is_due_now(items[0], NOW)) is expected


def test_histories_take_the_last_made_and_read_of_each_secret() -> None:
    def record(action: Action, secret: str, hours: int, success: bool = True) -> Record:
        moment = NOW - timedelta(hours=hours)
        return Record(
            action,
            secret,
            "a",
            Source.CLI,
            success=success,
            timestamp=moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        )

    records = [
        record(Action.SECRET_CREATED, "x", 50),
        record(Action.SECRET_READ, "x", 40),
        record(Action.ROTATION_COMPLETED, "x", 30),
        record(Action.ROTATION_COMPLETED, "x", 20, success=False),
        record(Action.SECRET_READ, "other", 10),
    ]
    found = histories(records, {"x"})
    assert found == {
        ("default", "x"): History(NOW - timedelta(hours=30), NOW - timedelta(hours=40))
    }
