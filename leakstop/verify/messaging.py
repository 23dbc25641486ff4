"""Messaging and e-mail: Slack, Twilio, SendGrid, Mailgun, Telegram, Discord, Postmark,
Intercom, Twitch."""

from __future__ import annotations

import re
import urllib.parse

from leakstop.verify.base import CheckContext, Outcome, Unverifiable, invalid, unknown, verified
from leakstop.verify.checks import (
    HttpCheck,
    basic_auth,
    basic_user,
    by_status,
    simple,
    status_outcome,
)
from leakstop.verify.http import Request, Response
from leakstop.verify.pairing import Credential

#: api.slack.com/methods/auth.test: errors that mean the token does not work.
_SLACK_DEAD = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
)


def _slack_read(response: Response) -> Outcome:
    # Slack answers 200 either way; `ok` and `error` in the body say which.
    body = response.json()
    if response.status != 200 or not isinstance(body, dict):
        return status_outcome(response)
    if body.get("ok") is True:
        return verified(f"{response.host} auth.test ok")
    error = str(body.get("error", ""))
    safe = re.sub(r"[^a-z_]", "", error)[:40]
    if error in _SLACK_DEAD:
        return invalid(f"{response.host} auth.test: {safe}")
    return unknown(f"{response.host} auth.test: {safe or 'no error given'}")


def _twilio_request(credential: Credential, context: CheckContext) -> Request:
    sid = credential.companion_secret("sid")
    if sid is None:
        raise Unverifiable("needs its API key SID (SK...) in the same file")
    # twilio.com/docs/iam/api-keys: an API key SID and secret authenticate as Basic auth.
    headers = {"Authorization": basic_auth(sid, credential.primary.secret)}
    return Request("GET", "https://api.twilio.com/2010-04-01/Accounts.json?PageSize=1", headers)


def _telegram_request(credential: Credential, context: CheckContext) -> Request:
    # core.telegram.org/bots/api: the token is part of the URL, /bot<token>/getMe.
    token = urllib.parse.quote(credential.primary.secret, safe=":")
    return Request("GET", f"https://api.telegram.org/bot{token}/getMe")


_DISCORD_WEBHOOK = re.compile(
    r"https://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/api(?:/v[0-9]{1,2})?"
    r"/webhooks/([0-9]{17,20})/([A-Za-z0-9_-]{68})"
)


def _discord_webhook_request(credential: Credential, context: CheckContext) -> Request:
    match = _DISCORD_WEBHOOK.fullmatch(credential.primary.secret)
    if match is None:
        raise Unverifiable("not a Discord webhook URL")
    # discord.com/developers/docs/resources/webhook: GET /webhooks/{id}/{token} reads it,
    # posting nothing; always sent to discord.com whichever alias the URL used.
    webhook_id, token = match.groups()
    return Request("GET", f"https://discord.com/api/v10/webhooks/{webhook_id}/{token}")


VERIFIERS = (
    HttpCheck(
        "slack",
        frozenset({"slack.com"}),
        lambda credential, context: Request(
            "POST",
            "https://slack.com/api/auth.test",
            {
                "Authorization": f"Bearer {credential.primary.secret}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
            b"",
        ),
        _slack_read,
    ),
    HttpCheck("twilio", frozenset({"api.twilio.com"}), _twilio_request, by_status((401,))),
    # docs.sendgrid.com: GET /v3/scopes lists the key's own scopes.
    simple("sendgrid", "https://api.sendgrid.com/v3/scopes"),
    # documentation.mailgun.com: Basic auth, user "api"; GET /v3/domains reads.
    basic_user("mailgun", "https://api.mailgun.net/v3/domains?limit=1", "api"),
    HttpCheck(
        "telegram",
        frozenset({"api.telegram.org"}),
        _telegram_request,
        # 404 is Telegram's answer for a token it does not know.
        by_status((401, 404)),
    ),
    simple("discord", "https://discord.com/api/v10/users/@me", template="Bot {secret}"),
    HttpCheck(
        "discord-webhook",
        frozenset({"discord.com"}),
        _discord_webhook_request,
        by_status((401, 403, 404)),
    ),
    # postmarkapp.com developer docs: GET /server with the server token.
    simple("postmark", "https://api.postmarkapp.com/server", "X-Postmark-Server-Token", "{secret}"),
    simple("intercom", "https://api.intercom.io/me"),
    # dev.twitch.tv "Validating tokens": GET /oauth2/validate, "Authorization: OAuth ...".
    simple("twitch", "https://id.twitch.tv/oauth2/validate", template="OAuth {secret}"),
)
