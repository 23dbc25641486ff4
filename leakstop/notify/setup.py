"""The notifications a command sends through, as the config and the environment describe."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.config.notifications import NotifierSettings
from leakstop.notify.dispatch import Notifications
from leakstop.notify.registry import build_notifiers


def open_notifications(
    settings: Sequence[NotifierSettings],
    audit_log: AuditLog,
    context: Context,
    environ: Mapping[str, str] = os.environ,
) -> Notifications:
    """Every configured notifier (none: an empty `Notifications` that sends nothing)."""
    return Notifications(build_notifiers(settings, environ), audit_log, context)
