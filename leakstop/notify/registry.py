"""One payload renderer per notifier `type:`, and the configured notifiers built from the
config and the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from leakstop.config.notifications import NotifierSettings
from leakstop.notify import slack, teams, webhook
from leakstop.notify.notifier import Render, WebhookNotifier
from leakstop.notify.transport import RetryPolicy, url_problem

RENDERERS: Mapping[str, Render] = {
    "slack": slack.payload,
    "teams": teams.payload,
    "webhook": webhook.payload,
}


def build_notifiers(
    settings: Sequence[NotifierSettings],
    environ: Mapping[str, str] = os.environ,
    policy: RetryPolicy | None = None,
) -> list[WebhookNotifier]:
    """A notifier per entry of `notifications:`. A missing variable or a URL leakstop will
    not use is not raised here: that notifier's sends fail, each reported and audited."""
    notifiers = []
    for entry in settings:
        url = environ.get(entry.url_env) or None
        problem = f"${entry.url_env} is not set" if url is None else url_problem(url)
        key = None
        if entry.signing_key_env is not None:
            text = environ.get(entry.signing_key_env)
            if not text:
                problem = problem or f"${entry.signing_key_env} (the signing key) is not set"
            else:
                key = text.encode("utf-8")
        notifiers.append(
            WebhookNotifier(
                entry, RENDERERS[entry.type], url, signing_key=key, problem=problem, policy=policy
            )
        )
    return notifiers
