from __future__ import annotations

from datetime import date, timedelta

import pytest

from leakstop.config.rotation import (
    INTERVAL_KEYWORDS,
    NAMED_INTERVALS,
    RotationPolicy,
    Unscheduled,
    parse_policy,
)
from leakstop.errors import ConfigError
from leakstop.yamlfile import Fields, load_yaml


def _policy(text: str) -> RotationPolicy:
    def error(message: str, line: int | None) -> ConfigError:
        return ConfigError(message, "f.yaml", line)

    return parse_policy(Fields(load_yaml(text, "f.yaml"), "f.yaml", error, "policy"))


def test_the_issue_example() -> None:
    assert _policy(
        "{interval: 90d, notify_before: 7d, expires: 2027-06-30, grace: 24h, auto_rotate: true}"
    ) == RotationPolicy(
        interval=timedelta(days=90),
        notify_before=timedelta(days=7),
        expires=date(2027, 6, 30),
        grace=timedelta(hours=24),
        auto_rotate=True,
    )


def test_defaults_rotate_never_and_ask_a_person() -> None:
    assert _policy("{}") == RotationPolicy(
        Unscheduled.NEVER, notify_before=None, expires=None, grace=timedelta(0), auto_rotate=False
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90d", timedelta(days=90)),
        ("12h", timedelta(hours=12)),
        ("1d12h", timedelta(hours=36)),
        ("2w", timedelta(weeks=2)),
        ("hourly", timedelta(hours=1)),
        ("daily", timedelta(days=1)),
        ("weekly", timedelta(days=7)),
        ("monthly", timedelta(days=30)),
        ("quarterly", timedelta(days=91)),
        ("never", Unscheduled.NEVER),
        ("on_access", Unscheduled.ON_ACCESS),
    ],
)
def test_intervals(text: str, expected: timedelta | Unscheduled) -> None:
    assert _policy(f"interval: {text}\n").interval == expected


def test_every_keyword_is_either_a_length_or_unscheduled() -> None:
    assert sorted(INTERVAL_KEYWORDS) == sorted(
        [*NAMED_INTERVALS, *(item.value for item in Unscheduled)]
    )


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "interval: sometimes\n",
            1,
            "'interval' must be a duration such as 90d or 12h, or one of never, hourly,",
        ),
        ("interval: Monthly\n", 1, "or one of never"),
        ("interval: 90\n", 1, "got 90"),
        ("interval: 0d\n", 1, "'interval' must be longer than 0"),
        ("interval: 7d\nnotify_before: 7d\n", 2, "'notify_before' must be shorter than 'interval'"),
        ("interval: daily\ngrace: 2d\n", 2, "'grace' must be shorter than 'interval'"),
        ("notify_before: 7d\n", 1, "'notify_before' has nothing to give notice of"),
        ("interval: on_access\nnotify_before: 1h\n", 2, "interval 'on_access' has no schedule"),
        ("interval: 7d\nnotify_before: 0s\n", 2, "'notify_before' must be longer than 0"),
        ("grace: soon\n", 1, "'grace' must be a duration"),
        ("expires: '2027-02-30'\n", 1, "'expires' is not a real date: '2027-02-30'"),
        ("expires: 2027-06-30 12:00:00\n", 1, "without a time"),
        ("expires: next year\n", 1, "'expires' must be a date such as 2027-06-30"),
        ("expires: 20270630\n", 1, "'expires' must be a date"),
        ("auto_rotate: sure\n", 1, "'auto_rotate' must be true or false"),
        ("intervall: 90d\n", 1, "unknown key 'intervall' in policy (did you mean 'interval'?)"),
    ],
)
def test_bad_policies_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        _policy(text)
    assert info.value.line == line, str(info.value)
    assert message in str(info.value)


def test_notice_before_an_expiry_needs_no_schedule() -> None:
    policy = _policy("interval: never\nnotify_before: 14d\nexpires: '2027-06-30'\n")
    assert policy.notify_before == timedelta(days=14)
    assert policy.expires == date(2027, 6, 30)
