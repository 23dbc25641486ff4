"""Cloud and hosting platforms with a bearer-token account endpoint."""

from __future__ import annotations

from leakstop.verify.checks import by_status, simple

VERIFIERS = (
    # docs.digitalocean.com API: GET /v2/account.
    simple("digitalocean", "https://api.digitalocean.com/v2/account"),
    # devcenter.heroku.com Platform API: GET /account, version 3 in Accept.
    simple(
        "heroku",
        "https://api.heroku.com/account",
        extra={"Accept": "application/vnd.heroku+json; version=3"},
    ),
    # developers.cloudflare.com: GET /user/tokens/verify; an unknown token gets 400 or 401.
    simple(
        "cloudflare",
        "https://api.cloudflare.com/client/v4/user/tokens/verify",
        read=by_status((400, 401, 403)),
    ),
    simple("linode", "https://api.linode.com/v4/profile"),
    simple("vercel", "https://api.vercel.com/v2/user"),
    simple("netlify", "https://api.netlify.com/api/v1/user"),
    # docs.doppler.com: GET /v3/me describes the token used.
    simple("doppler", "https://api.doppler.com/v3/me"),
)
