"""OpenBao's jwt auth set up as an operator would for GitHub Actions: trust an OIDC issuer
(found through its discovery document) and admit one repository's jobs per role."""

from __future__ import annotations

from collections.abc import Mapping

from tests.rotator.providers.bao import BaoServer
from tests.rotator.providers.oidc_issuer import OidcIssuer

#: What leakstop needs to rotate KV v2 secrets under `billing/` (values, metadata, siblings).
ROTATOR_POLICY = """
path "secret/data/billing/*" { capabilities = ["create", "read", "update", "delete"] }
path "secret/metadata/billing/*" { capabilities = ["create", "read", "update", "delete", "list"] }
path "secret/delete/billing/*" { capabilities = ["update"] }
path "secret/undelete/billing/*" { capabilities = ["update"] }
path "secret/destroy/billing/*" { capabilities = ["update"] }
"""


def configure_jwt_auth(server: BaoServer, issuer: OidcIssuer) -> None:
    """Enable `jwt` auth trusting `issuer`, and the rotator policy for its roles."""
    admin = server.admin
    admin.sys.create_or_update_acl_policy(name="billing-rotator", policy=ROTATOR_POLICY)
    admin.sys.enable_auth_method("jwt")
    # OpenBao accepts plain http on 127.0.0.1 for discovery (and for `jwks_url`); in
    # production both are https://token.actions.githubusercontent.com.
    admin.adapter.post(
        "/v1/auth/jwt/config",
        json={"oidc_discovery_url": issuer.url, "bound_issuer": issuer.url},
    )


def add_jwt_role(
    server: BaoServer, role: str, audience: str, bound_claims: Mapping[str, str]
) -> None:
    """A role admitting tokens for `audience` whose claims equal `bound_claims`, with the
    rotator policy."""
    server.admin.adapter.post(
        f"/v1/auth/jwt/role/{role}",
        json={
            "role_type": "jwt",
            "user_claim": "sub",
            "bound_audiences": [audience],
            "bound_claims": dict(bound_claims),
            "token_policies": ["billing-rotator"],
            "token_ttl": "10m",
        },
    )
