"""Provider credentials named by `*_env` options are masked in GitHub Actions."""

from __future__ import annotations

import io
from pathlib import Path

from leakstop.config import load_config
from leakstop.github.credential_masks import credential_variables, mask_credentials

CONFIG = """version: 1
providers:
  vault:
    type: vault
    url: "http://127.0.0.1:9"
    auth: {method: approle, role_id_env: ACME_ROLE_ID, secret_id_env: ACME_SECRET_ID}
  db: {type: postgres, dsn_env: ACME_DB_DSN}
  gh: {type: github}
audit:
  sinks:
    - {type: http, url: "https://siem.example/in", key_env: ACME_SIEM_KEY}
"""


def test_every_env_option_at_any_depth_is_masked(tmp_path: Path) -> None:
    path = tmp_path / ".leakstop.yaml"
    path.write_text(CONFIG)
    config = load_config(path, with_rules=False)
    assert {
        "ACME_ROLE_ID",
        "ACME_SECRET_ID",
        "ACME_DB_DSN",
        "ACME_SIEM_KEY",
        "LEAKSTOP_MASTER_KEY",
        # What vault and github read when no option names a variable.
        "VAULT_TOKEN",
        "GITHUB_TOKEN",
    } <= set(credential_variables(config))
    environ = {
        "GITHUB_ACTIONS": "true",
        "ACME_SECRET_ID": "secret-id-Hk29sLq",
        "ACME_DB_DSN": "postgresql://admin:Pw9xQ@db/app",
        "LEAKSTOP_MASTER_KEY": "master-key-Zr81",
        "GITHUB_TOKEN": "github-token-Wq72",
    }
    out = io.StringIO()
    assert mask_credentials(config, out, environ) == 4
    assert sorted(out.getvalue().splitlines()) == [
        "::add-mask::github-token-Wq72",
        "::add-mask::master-key-Zr81",
        "::add-mask::postgresql://admin:Pw9xQ@db/app",
        "::add-mask::secret-id-Hk29sLq",
    ]
    outside = io.StringIO()
    assert mask_credentials(config, outside, {**environ, "GITHUB_ACTIONS": ""}) == 0
    assert outside.getvalue() == ""
