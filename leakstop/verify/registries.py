"""Package registries: npm, RubyGems, PyPI, Docker Hub."""

from __future__ import annotations

from dataclasses import dataclass

from leakstop.verify.base import CheckContext, Outcome, Unverifiable
from leakstop.verify.checks import simple
from leakstop.verify.pairing import Credential


@dataclass(frozen=True)
class NoReadOnlyCheck:
    """A verifier for issuers with no read-only way to test a token: always unknown, and
    never contacts anything (empty `hosts`)."""

    name: str
    why: str
    hosts: frozenset[str] = frozenset()

    def check(self, credential: Credential, context: CheckContext) -> Outcome:
        raise Unverifiable(self.why)


VERIFIERS = (
    # docs.npmjs.com registry API: GET /-/whoami.
    simple("npm", "https://registry.npmjs.org/-/whoami"),
    # guides.rubygems.org API: GET /api/v1/gems.json lists the key owner's gems.
    simple("rubygems", "https://rubygems.org/api/v1/gems.json", template="{secret}"),
    # PyPI API tokens only upload; trying an upload would be a write, so no check is made.
    NoReadOnlyCheck("pypi", "PyPI offers no read-only check for upload tokens"),
    # Docker Hub logs a token in only together with its user or organisation name, which
    # the token does not contain.
    NoReadOnlyCheck("docker-hub", "Docker Hub needs the account name with the token"),
)
