"""`notifications:` in the config: what loads, and each mistake as one line naming the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakstop.config import parse_config
from leakstop.config.notifications import EventKind, NotifierSettings
from leakstop.errors import ConfigError
from leakstop.finding import Severity


def _load(text: str, tmp_path: Path) -> tuple[NotifierSettings, ...]:
    return parse_config(text, ".leakstop.yaml", tmp_path, with_rules=False).notifications


def test_the_documented_example_loads(tmp_path: Path) -> None:
    slack, hook = _load(
        "notifications:\n"
        "  - name: security-slack\n"
        "    type: slack\n"
        "    url_env: SLACK_SECURITY_WEBHOOK\n"
        "    events: [rotation_failed, rotation_finished, revocation, leak_confirmed, expiring,"
        " anomaly]\n"
        "    min_severity: high\n"
        "  - {name: siem, type: webhook, url_env: SIEM_URL, signing_key_env: SIEM_KEY,"
        " timeout: 2, retries: 0, events: anomaly}\n",
        tmp_path,
    )
    assert slack == NotifierSettings(
        "security-slack", "slack", "SLACK_SECURITY_WEBHOOK", frozenset(EventKind), Severity.HIGH
    )
    assert hook.events == frozenset({EventKind.ANOMALY})
    assert (hook.signing_key_env, hook.timeout, hook.retries) == ("SIEM_KEY", 2.0, 0)
    assert _load("version: 1\n", tmp_path) == ()


def test_min_severity_keeps_the_more_severe() -> None:
    pager = NotifierSettings("p", "slack", "X", min_severity=Severity.HIGH)
    assert pager.wants(EventKind.ANOMALY, Severity.CRITICAL)
    assert pager.wants(EventKind.ANOMALY, Severity.HIGH)
    assert not pager.wants(EventKind.ANOMALY, Severity.MEDIUM)
    only = NotifierSettings("o", "slack", "X", frozenset({EventKind.EXPIRING}))
    assert only.wants(EventKind.EXPIRING, Severity.INFO)
    assert not only.wants(EventKind.ANOMALY, Severity.CRITICAL)


ITEM = "notifications:\n  - {name: a, type: slack, url_env: HOOK"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            ITEM + ", url: 'https://hooks.slack.com/services/T/B/x'}\n",
            "'url' would put the webhook URL",
        ),
        (ITEM + "}\n  - {name: a, type: teams, url_env: OTHER}\n", "two notifiers are called 'a'"),
        (ITEM.replace("slack", "email") + "}\n", "unknown notifier type 'email'"),
        (ITEM.replace("HOOK", "'https://hooks.slack.com/x'") + "}\n", "url_env must name"),
        (ITEM + ", events: [rotation_done]}\n", "unknown event 'rotation_done'"),
        (ITEM + ", events: []}\n", "at least one event"),
        (ITEM + ", min_severity: urgent}\n", "min_severity must be one of"),
        (ITEM + ", signing_key_env: KEY}\n", "signing_key_env is for type webhook"),
        (ITEM + ", retries: 99}\n", "'retries' must be between 0 and 10"),
        ("notifications:\n  - {type: slack, url_env: HOOK}\n", "missing required key 'name'"),
        ("notifications:\n  - {name: Chat, type: slack, url_env: H}\n", "notifier name must be"),
        ("notifications: {a: b}\n", "'notifications' must be a list"),
    ],
)
def test_mistakes_are_one_line_at_their_line(text: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        _load(text, tmp_path)
    assert str(caught.value).startswith(".leakstop.yaml:")
    assert "\n" not in str(caught.value)
    assert "hooks.slack.com" not in str(caught.value)
