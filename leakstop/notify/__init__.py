"""Notifications: Slack, Microsoft Teams and generic webhooks told about rotations,
revocations, confirmed leaks, expiring secrets and audit anomalies.

`event.py` is the one type every notifier renders; `events.py` builds it from what the rotator
and the audit log produce; `slack.py`, `teams.py`, `webhook.py` each render it as their
service documents; `transport.py` POSTs with bounded retries; `dispatch.py` sends one event to
every notifier that wants it and audits each send. Nothing here sees a secret value: events
carry names, rule ids, places, redactions and fingerprints only.
"""
