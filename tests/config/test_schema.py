"""`leakstop/config/schema.json` and the config parser agree: on the README's examples, on a
table of good configs and on a table of bad ones; and the schema names every key the code reads."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from leakstop.allowlist import ALLOWLIST_KEYS
from leakstop.config import CONFIG_KEYS, parse_config
from leakstop.config.audit import AUDIT_KEYS, SINK_TYPES, AnomalySettings
from leakstop.config.notifications import NOTIFIER_KEYS, NOTIFIER_TYPES, EventKind
from leakstop.config.providers import PROVIDER_TYPES
from leakstop.config.rotation import INTERVAL_KEYWORDS, POLICY_KEYS
from leakstop.config.secrets import GENERATE_KEYS, SECRET_KEYS, Charset
from leakstop.errors import ConfigError
from leakstop.finding import Severity
from leakstop.rules.loader import RULE_KEYS
from leakstop.rules.model import ResponseAction
from leakstop.rules.validators import VALIDATORS

README = Path(__file__).parents[2] / "README.md"
#: The README sections whose YAML blocks are `.leakstop.yaml` content (the others show
#: workflows and pre-commit files).
CONFIG_SECTIONS = ("Configuration", "Audit trail", "Notifications")


def _schema() -> dict[str, Any]:
    text = resources.files("leakstop.config").joinpath("schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


SCHEMA = _schema()
VALIDATOR = jsonschema.Draft202012Validator(
    SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)
DEFS = SCHEMA["$defs"]


def _as_editors_see_it(value: Any) -> Any:
    """YAML 1.1 (PyYAML) reads 2027-06-30 as a date; editors' YAML 1.2 and JSON see a string."""
    if isinstance(value, dict):
        return {key: _as_editors_see_it(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_editors_see_it(item) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def _schema_errors(text: str) -> list[str]:
    data = _as_editors_see_it(yaml.safe_load(text))
    return [error.message for error in VALIDATOR.iter_errors(data)]


def _parse(text: str, base: Path) -> None:
    # Rule files a config names exist beside it, as they would in a repository.
    data = yaml.safe_load(text) or {}
    for rule_file in data.get("rule_files", []):
        target = base / rule_file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("version: 1\nrules: []\n")
    parse_config(text, ".leakstop.yaml", base_dir=base)


def readme_config_blocks() -> list[str]:
    sections = re.split(r"^## ", README.read_text("utf-8"), flags=re.MULTILINE)
    blocks = []
    for section in sections:
        if section.split("\n", 1)[0].strip() in CONFIG_SECTIONS:
            blocks += re.findall(r"^```yaml\n(.*?)^```", section, flags=re.MULTILINE | re.DOTALL)
    return blocks


def test_the_schema_is_a_valid_2020_12_schema() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_the_readme_examples_are_found() -> None:
    blocks = readme_config_blocks()
    assert len(blocks) >= 4
    joined = "\n".join(blocks)
    for key in ("rules:", "allowlist:", "audit:", "providers:", "secrets:", "yaml-language-server"):
        assert key in joined


@pytest.mark.parametrize("block", readme_config_blocks())
def test_readme_examples_pass_the_schema_and_the_parser(block: str, tmp_path: Path) -> None:
    assert _schema_errors(block) == []
    _parse(block, tmp_path)


GOOD = [
    "",
    "version: 1\nextends: none\nrules:\n  - id: a\n    description: d\n    regex: 'a[0-9]{8}'\n"
    "    keywords: a\n    severity: low\n    validator: jwt\n"
    "    respond: {provider: aws, action: rotate}\n"
    "    verify: {verifier: aws-sts}\n    allowlists: [{paths: x/}]\n"
    "    examples: {positive: [a12345678, {text: a12345678, secret: a12345678}],\n"
    "               negative: [{text: b}]}\n",
    "max_file_size: 0\n",
    "max_file_size: 512 KiB\n",
    "max_file_size: None\n",
    "disabled_rules: generic-password\n",
    "audit:\n  anomalies:\n    unusual_hours: {start: '07:00', end: '20:00'}\n"
    "  sinks: [{type: http, url: 'http://127.0.0.1:9/x', timeout: 0.5, retries: 0}]\n",
    "audit:\n  sinks:\n    - {type: git}\n"
    "    - {type: git, branch: audit/trail-2026, remote: 'https://github.com/acme/audit.git',"
    " token_env: AUDIT_PUSH_TOKEN}\n"
    "    - {type: git, remote: upstream}\n    - {type: git, remote: /srv/git/audit.git}\n"
    "    - {type: git, remote: 'git@github.com:acme/audit.git'}\n"
    "    - {type: git, remote: 'ssh://git@git.example:2222/acme/audit.git'}\n"
    "    - {type: git, remote: 'file:///srv/git/audit.git'}\n",
    "providers:\n  v: {type: vault, token: null, key: {name: k}, token_env: VAULT_TOKEN, "
    "headers: [{name: x}], ttl: 3}\n",
    "providers:\n  local: {type: local}\n",
    "providers:\n  v: {type: vault, url: 'https://vault.acme.example',\n"
    "      auth: {method: jwt, role: leakstop-billing, audience: 'https://vault.acme.example'}}\n",
    "secrets:\n  - name: a/b.c_d-e\n    store: {provider: local, key: field}\n"
    "    policy: {interval: on_access}\n",
    "providers:\n  aws: {type: aws, region: us-east-1}\nsecrets:\n  - name: ci/deployer\n"
    "    store: {provider: aws, secret_id: ci/deployer, key: pair}\n"
    "    issuer: {provider: aws, iam_user: deployer, retire: deactivate}\n",
    "secrets:\n  - name: a\n    store: {provider: local}\n"
    "    policy: {interval: never, notify_before: 14d, expires: '2027-06-30', grace: 0s}\n",
    "secrets:\n  - name: a\n    store: {provider: local}\n    policy: {interval: 1D12H}\n"
    "    generate: {length: 8, charset: digits, prefix: 'x-'}\n    owners: me\n",
    "secrets:\n  - name: a\n    store: {provider: local}\n    handler: pkg.mod:Class.method\n"
    "    org: acme_eu\n    tags: {env: prod}\n",
    "notifications:\n  - {name: s, type: slack, url_env: S, events: [anomaly, expiring],\n"
    "     min_severity: high, timeout: 2.5, retries: 0}\n"
    "  - {name: t, type: teams, url_env: T, events: leak_confirmed}\n"
    "  - {name: w, type: webhook, url_env: W, signing_key_env: K}\n",
    "providers:\n  gh: {type: github, api_url: 'https://ghe.example.com/api/v3'}\n"
    "  hook: {type: webhook, url: 'https://h.example.com/x', hmac_key_env: HOOK_KEY}\n"
    "  tool: {type: command, command: [/usr/bin/rotate, --env, prod], timeout: 30s}\n"
    "secrets:\n  - name: ci/a\n    store: {provider: gh, repository: o/r, secret: DEPLOY_TOKEN}\n"
    "    issuer: {provider: hook, service: billing}\n"
    "  - name: ci/b\n    store: {provider: gh, org: o, secret: NPM_TOKEN, visibility: private}\n"
    "    issuer: {provider: tool}\n"
    "  - name: ci/c\n    store: {provider: local}\n    issuer: {provider: gh}\n",
    # In a store reference `secret` names the place (Secret Manager), not a credential.
    "providers:\n  kv: {type: azure-keyvault, vault_url: 'https://billing.vault.azure.net'}\n"
    "  gsm: {type: gcp-secretmanager, project: my-project, auth: {method: token, "
    "token_env: GSM_TOKEN}}\n"
    "secrets:\n  - name: a\n    store: {provider: kv, name: billing-db-password}\n"
    "  - name: b\n    store: {provider: gsm, secret: billing-db}\n",
]


@pytest.mark.parametrize("text", GOOD)
def test_good_configs_pass_both(text: str, tmp_path: Path) -> None:
    assert _schema_errors(text) == []
    _parse(text, tmp_path)


SECRET = "secrets:\n  - name: a\n    store: {provider: local}\n"
BAD = [
    "version: 2\n",
    "extends: everything\n",
    "rulez: []\n",
    "max_file_size: huge\n",
    "max_file_size: 1.5\n",
    "fingerprint: {salt: x, pepper: y}\n",
    "allowlist: {paths: [a], regex: [b]}\n",
    "rules:\n  - {id: Bad_Id, description: d, regex: x, keywords: [x]}\n",
    "rules:\n  - {id: a, description: d, regex: x}\n",
    "rules:\n  - {id: a, description: d, regex: x, keywords: [x], severity: urgent}\n",
    "rules:\n  - {id: a, description: d, regex: x, keywords: [x], validator: nope}\n",
    "rules:\n  - {id: a, description: d, regex: x, keywords: [x], respond: {provider: aws}}\n",
    "rules:\n  - {id: a, description: d, regex: x, keywords: [x],\n"
    "     examples: {positive: [{txt: a}]}}\n",
    "audit: {folder: x}\n",
    "audit: {anomalies: {failed_attempts: {count: 0}}}\n",
    "audit: {anomalies: {unusual_hours: {start: '25:00', end: '20:00'}}}\n",
    "audit: {sinks: [{type: kafka}]}\n",
    "audit: {sinks: [{type: http, url: 'ftp://x'}]}\n",
    "audit: {sinks: [{type: postgres, dsn_env: 'not a name'}]}\n",
    "audit: {sinks: [{type: git, branch: '-delete'}]}\n",
    "audit: {sinks: [{type: git, branch: 'a b'}]}\n",
    "audit: {sinks: [{type: git, token_env: 'ghp-not-a-name'}]}\n",
    "audit: {sinks: [{type: git, remote: 'https://x-access-token:abc@github.com/a/b'}]}\n",
    "audit: {sinks: [{type: git, remote: 'not a remote'}]}\n",
    "audit: {sinks: [{type: git, remote: 'ssh://git:pw@git.example/a.git'}]}\n",
    "audit: {sinks: [{type: git, branches: main}]}\n",
    "audit: {anomalies: {concurrent_access: {window: soon}}}\n",
    "providers: [vault]\n",
    "providers:\n  v: {url: x}\n",
    "providers:\n  v: {type: hashicorp}\n",
    "providers:\n  Vault: {type: vault}\n",
    "providers:\n  local: {type: vault}\n",
    "providers:\n  v: {type: vault, token: hvs.x}\n",
    "providers:\n  v: {type: vault, auth: {method: approle, secret_id: x}}\n",
    "providers:\n  v: {type: vault, Client-Secret: x}\n",
    "providers:\n  v: {type: webhook, api_key: 123456}\n",
    "providers:\n  aws: {type: aws}\nsecrets:\n  - name: a\n"
    "    store: {provider: aws, secret_id: a}\n    issuer: {provider: aws, secret_id: x}\n",
    "providers:\n  db: {type: postgres, dsn_env: 'postgresql://u@h/db'}\n",
    "secrets: {a: b}\n",
    "secrets:\n  - store: {provider: local}\n",
    "secrets:\n  - name: a\n",
    "secrets:\n  - {name: Billing, store: {provider: local}}\n",
    "secrets:\n  - {name: a//b, store: {provider: local}}\n",
    "secrets:\n  - {name: a, store: {mount: x}}\n",
    SECRET + "    owner: [me]\n",
    SECRET + "    generate: {length: 7}\n",
    SECRET + "    generate: {charset: emoji}\n",
    SECRET + "    generate: {prefix: 'a b'}\n",
    SECRET + "    handler: pkg.mod.fn\n",
    SECRET + "    generate: {length: 12}\n    handler: m:f\n",
    SECRET + "    policy: {interval: sometimes}\n",
    SECRET + "    policy: {interval: Monthly}\n",
    SECRET + "    policy: {interval: 0d}\n",
    SECRET + "    policy: {interval: 90d, notify_before: 0s}\n",
    SECRET + "    policy: {grace: soon}\n",
    SECRET + "    policy: {expires: '2027-02-30'}\n",
    SECRET + "    policy: {expires: 'next year'}\n",
    SECRET + "    policy: {auto_rotate: sure}\n",
    SECRET + "    policy: {every: 90d}\n",
    SECRET + "    tags: {tier: 1}\n",
    SECRET + "    org: Acme\n",
    "secrets:\n  - {name: a, store: {provider: local, token: abc}}\n",
    "notifications: {s: {type: slack}}\n",
    "notifications:\n  - {name: s, type: slack}\n",
    "notifications:\n  - {name: s, type: email, url_env: S}\n",
    "notifications:\n  - {name: s, type: slack, url: 'https://hooks.slack.com/x'}\n",
    "notifications:\n  - {name: s, type: slack, url_env: 'https://hooks.slack.com/x'}\n",
    "notifications:\n  - {name: S, type: slack, url_env: S}\n",
    "notifications:\n  - {name: s, type: slack, url_env: S, events: [everything]}\n",
    "notifications:\n  - {name: s, type: slack, url_env: S, events: []}\n",
    "notifications:\n  - {name: s, type: slack, url_env: S, min_severity: urgent}\n",
    "notifications:\n  - {name: s, type: webhook, url_env: S, retries: 11}\n",
    "providers:\n  hook: {type: webhook, hmac_key: abc}\n",
    "providers:\n  gh: {type: github, token: ghp_x}\n",
    "secrets:\n  - {name: a, store: {provider: local, client_secret: abc}}\n",
    "providers:\n  kv: {type: azure}\n",
    "providers:\n  gsm: {type: gcp-secretmanager, client_secret: abc}\n",
    "providers:\n  gsm: {type: gcp-secretmanager}\n"
    "secrets:\n  - {name: a, store: {provider: gsm, secret: b}, issuer: {provider: gsm, "
    "secret_id: abc}}\n",
]


@pytest.mark.parametrize("text", BAD)
def test_bad_configs_fail_both(text: str, tmp_path: Path) -> None:
    assert _schema_errors(text) != []
    with pytest.raises(ConfigError):
        _parse(text, tmp_path)


CREDENTIAL_NAMES = ["password", "token", "secret", "key", "dsn", "client_secret", "API-KEY"]
CREDENTIAL_NAMES += ["Secret_Id", "db_password"]
OTHER_NAMES = ["token_env_name", "kms_key_id", "monkey", "tokens", "keys", "role", "secret_ids"]


@pytest.mark.parametrize("name", CREDENTIAL_NAMES + OTHER_NAMES)
def test_schema_and_parser_agree_on_credential_names(name: str, tmp_path: Path) -> None:
    text = f"providers:\n  v: {{type: vault, nested: {{{name}: abcdef}}}}\n"
    schema_ok = _schema_errors(text) == []
    try:
        _parse(text, tmp_path)
        parser_ok = True
    except ConfigError:
        parser_ok = False
    assert schema_ok == parser_ok == (name in OTHER_NAMES)


def _properties(definition: dict[str, Any]) -> set[str]:
    return set(definition["properties"])


def test_the_schema_names_every_key_the_code_reads() -> None:
    assert _properties(SCHEMA) == set(CONFIG_KEYS)
    assert _properties(DEFS["rule"]) == set(RULE_KEYS)
    assert _properties(DEFS["allowlist"]) == set(ALLOWLIST_KEYS)
    assert _properties(DEFS["audit"]) == set(AUDIT_KEYS)
    anomalies = DEFS["audit"]["properties"]["anomalies"]
    assert _properties(anomalies) == {field.name for field in dataclasses.fields(AnomalySettings)}
    sinks = DEFS["audit"]["properties"]["sinks"]["items"]["oneOf"]
    assert [sink["properties"]["type"]["const"] for sink in sinks] == list(SINK_TYPES)
    assert _properties(DEFS["secret"]) == set(SECRET_KEYS)
    assert _properties(DEFS["policy"]) == set(POLICY_KEYS)
    assert _properties(DEFS["generate"]) == set(GENERATE_KEYS)
    assert _properties(DEFS["notifier"]) == set(NOTIFIER_KEYS)


def test_the_schema_lists_every_choice_the_code_accepts() -> None:
    rule = DEFS["rule"]["properties"]
    assert rule["severity"]["enum"] == [severity.value for severity in Severity]
    assert rule["validator"]["enum"] == list(VALIDATORS)
    assert rule["respond"]["properties"]["action"]["enum"] == [a.value for a in ResponseAction]
    assert DEFS["provider"]["properties"]["type"]["enum"] == list(PROVIDER_TYPES)
    assert DEFS["generate"]["properties"]["charset"]["enum"] == [c.value for c in Charset]
    interval = DEFS["policy"]["properties"]["interval"]["anyOf"][0]
    assert interval["enum"] == list(INTERVAL_KEYWORDS)
    notifier = DEFS["notifier"]["properties"]
    assert notifier["type"]["enum"] == list(NOTIFIER_TYPES)
    assert notifier["events"]["anyOf"][0]["enum"] == [e.value for e in EventKind]
    assert notifier["min_severity"]["enum"] == [s.value for s in Severity]


def test_every_schema_object_is_closed_or_open_on_purpose() -> None:
    # Provider options are open by design: each provider module checks its own.
    open_on_purpose = {
        "/properties/providers",
        "/properties/providers/properties/local",
        "/$defs/optionMap",
        "/$defs/provider",
        "/$defs/storeRef",
        "/$defs/issuerRef",
    }
    checked = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            if "properties" in node and path not in open_on_purpose:
                assert node.get("additionalProperties") is False, path
                checked.append(path)
            for key, child in node.items():
                walk(child, f"{path}/{key}")
        elif isinstance(node, list):
            for index, child in enumerate(node):
                walk(child, f"{path}/{index}")

    walk(SCHEMA, "")
    assert "" in checked
    assert "/$defs/secret" in checked
