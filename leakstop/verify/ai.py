"""AI platforms: each has a read-only models or account endpoint."""

from __future__ import annotations

from leakstop.verify.checks import simple

VERIFIERS = (
    # platform.openai.com API reference: GET /v1/models.
    simple("openai", "https://api.openai.com/v1/models"),
    # Admin keys only reach the organization endpoints.
    simple("openai-admin", "https://api.openai.com/v1/organization/projects?limit=1"),
    # docs.anthropic.com: GET /v1/models with x-api-key and anthropic-version.
    simple(
        "anthropic",
        "https://api.anthropic.com/v1/models",
        "x-api-key",
        "{secret}",
        extra={"anthropic-version": "2023-06-01"},
    ),
    simple(
        "anthropic-admin",
        "https://api.anthropic.com/v1/organizations/users?limit=1",
        "x-api-key",
        "{secret}",
        extra={"anthropic-version": "2023-06-01"},
    ),
    # huggingface.co/docs/hub/api: GET /api/whoami-v2.
    simple("huggingface", "https://huggingface.co/api/whoami-v2"),
    simple("mistral", "https://api.mistral.ai/v1/models"),
    simple("groq", "https://api.groq.com/openai/v1/models"),
    simple("replicate", "https://api.replicate.com/v1/account"),
    simple("together", "https://api.together.xyz/v1/models"),
    simple("deepseek", "https://api.deepseek.com/models"),
    # docs.x.ai: GET /v1/api-key describes the key used.
    simple("xai", "https://api.x.ai/v1/api-key"),
    # openrouter.ai docs: GET /api/v1/key describes the key used.
    simple("openrouter", "https://openrouter.ai/api/v1/key"),
    simple("elevenlabs", "https://api.elevenlabs.io/v1/user", "xi-api-key", "{secret}"),
    simple("pinecone", "https://api.pinecone.io/indexes", "Api-Key", "{secret}"),
)
