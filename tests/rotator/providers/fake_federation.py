"""Local stand-ins for the two token exchanges that turn a GitHub Actions job's OIDC token
into cloud credentials, answering as their documentation describes (the parts leakstop's SDKs
call). Each checks the job token as the cloud would: minted by the local GitHub issuer, for the
expected audience and subject; anything else is refused with the cloud's error shape.

* Entra ID (Microsoft identity platform): the tenant's OpenID configuration and the v2.0 token
  endpoint's client-credentials grant with a JWT client assertion ("federated identity
  credential"); https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow
* Google: STS `POST /v1/token` (RFC 8693 token exchange) and IAM Credentials
  `generateAccessToken` for service account impersonation;
  https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from tests.rotator.providers.https_server import Request, Response, Route
from tests.rotator.providers.oidc_issuer import OidcIssuer

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"


def jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def _form(request: Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.body.decode()).items()}


@dataclass
class FakeEntra:
    """One tenant with one app registration whose federated credential trusts `subject`."""

    issuer: OidcIssuer
    tenant: str
    client_id: str
    subject: str
    #: The access token handed out; the Key Vault stand-in accepts exactly this one.
    access_token: str
    audience: str = "api://AzureADTokenExchange"
    base_url: str = ""
    #: Every client assertion received, to check it was the job's token.
    assertions: list[str] = field(default_factory=list)

    def route(self, request: Request) -> Response | None:
        """The answer to an Entra ID request; None for paths that are not Entra's."""
        prefix = f"/{self.tenant}"
        if request.path == f"{prefix}/v2.0/.well-known/openid-configuration":
            base = f"{self.base_url}{prefix}"
            return Response(
                200,
                {
                    "issuer": f"{base}/v2.0",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                    "jwks_uri": f"{base}/discovery/v2.0/keys",
                    "response_types_supported": ["code", "id_token", "token"],
                    "token_endpoint_auth_methods_supported": [
                        "client_secret_post",
                        "private_key_jwt",
                    ],
                },
            )
        if request.path == f"{prefix}/oauth2/v2.0/token" and request.method == "POST":
            return self._token(_form(request))
        return None

    def _token(self, form: dict[str, str]) -> Response:
        assertion = form.get("client_assertion", "")
        self.assertions.append(assertion)
        if form.get("client_id") != self.client_id:
            return _aad_error(400, "unauthorized_client", "AADSTS700016: Application not found")
        if form.get("client_assertion_type") != JWT_BEARER or assertion not in self.issuer.minted:
            return _aad_error(401, "invalid_client", "AADSTS700024: Client assertion is not valid")
        claims = jwt_claims(assertion)
        if claims.get("aud") != self.audience or claims.get("sub") != self.subject:
            return _aad_error(
                400,
                "invalid_request",
                "AADSTS700213: No matching federated identity record found for presented "
                f"assertion subject '{claims.get('sub')}'",
            )
        return Response(
            200,
            {
                "token_type": "Bearer",
                "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": self.access_token,
            },
        )


def _aad_error(status: int, error: str, description: str) -> Response:
    return Response(
        status,
        {
            "error": error,
            "error_description": description,
            "error_codes": [int(description[6:12])],
            "trace_id": secrets.token_hex(8),
            "correlation_id": secrets.token_hex(8),
        },
    )


def combined(*routes: Any) -> Route:
    """One server answering for several fakes: the first route that knows the path."""

    def route(request: Request) -> Response:
        for handler in routes:
            answer = handler(request)
            if answer is not None:
                return answer
        return Response(404, {"error": "no such path"})

    return route


@dataclass
class FakeGoogleFederation:
    """Google STS and IAM Credentials for one workload identity provider whose attribute
    condition admits one repository; `service_account` may be impersonated by it."""

    issuer: OidcIssuer
    provider: str
    repository: str
    service_account: str
    #: The token Secret Manager accepts: what impersonation (or direct federation) yields.
    access_token: str
    federated_token: str = field(default_factory=lambda: f"ya29.fed-{secrets.token_hex(12)}")
    exchanges: list[dict[str, str]] = field(default_factory=list)

    def route(self, request: Request) -> Response | None:
        if request.path == "/v1/token" and request.method == "POST":
            return self._exchange(_form(request))
        suffix = f"/v1/projects/-/serviceAccounts/{self.service_account}:generateAccessToken"
        if request.path == suffix and request.method == "POST":
            if request.headers.get("authorization") != f"Bearer {self.federated_token}":
                return _google_error(401, "UNAUTHENTICATED", "Request had invalid credentials.")
            return Response(
                200, {"accessToken": self.access_token, "expireTime": "2099-01-01T00:00:00Z"}
            )
        return None

    def _exchange(self, form: dict[str, str]) -> Response:
        self.exchanges.append(form)
        token = form.get("subject_token", "")
        if (
            form.get("grant_type") != TOKEN_EXCHANGE
            or form.get("audience") != f"//iam.googleapis.com/{self.provider}"
            or token not in self.issuer.minted
        ):
            return _sts_error("invalid_grant", "The audience or subject token is invalid.")
        claims = jwt_claims(token)
        if claims.get("aud") != f"https://iam.googleapis.com/{self.provider}":
            return _sts_error("invalid_grant", "The audience in ID Token does not match.")
        if claims.get("repository") != self.repository:
            return _sts_error(
                "unauthorized_client",
                "The given credential is rejected by the attribute condition.",
            )
        return Response(
            200,
            {
                "access_token": self.federated_token,
                "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
                "token_type": "Bearer",
                "expires_in": 3600,
            },
        )


def _sts_error(error: str, description: str) -> Response:
    return Response(400, {"error": error, "error_description": description})


def _google_error(status: int, code: str, message: str) -> Response:
    return Response(status, {"error": {"code": status, "message": message, "status": code}})
