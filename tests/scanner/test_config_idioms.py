"""Config-file idioms, end to end: real files written to a folder and scanned through the CLI.

Each case is a file as a tool writes it (.pypirc, .npmrc, pip.conf, Maven settings.xml, nginx,
HAProxy, Envoy, a Kubernetes Secret, ...) with the exact secrets that must be reported; each
near miss (an environment reference, a placeholder, base64 that decodes to no credential) is a
file that must give no finding at all. One scan covers every file.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from leakstop.cli import main


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


PYPI_TOKEN = (
    "pypi-AgEIcHlwaS5vcmcCJGU3NzdjY2MyLWU5YTYtNDRiNC04ZjgwLWZiZmNhMThjODY2ZQACI1sxLCB7InByb2plY3Rz"
    "IjogWyJhY21lLXdpZGdldHMiXX1dAAAGIOt8J1m2T7FCADEhqgClQ9SABSDsJVnK_SiVqGSkuQB6"
)

#: (file, content, {(rule id, secret), ...}): exactly these findings, nothing else.
FOUND: list[tuple[str, str, set[tuple[str, str]]]] = [
    (
        "pypi/.pypirc",
        "[distutils]\nindex-servers =\n    pypi\n    private\n\n"
        f"[pypi]\nusername = __token__\npassword = {PYPI_TOKEN}\n\n"
        "[private]\nrepository = https://nexus.corp.internal/repository/pypi-internal/\n"
        "username = deployer\npassword = Vq8#kT2;mZ!x\n",
        # In a .pypirc the credential-file rule reports it (credfiles.yaml).
        {("pypi-api-token", PYPI_TOKEN), ("pypirc-password", "Vq8#kT2;mZ!x")},
    ),
    (
        "npm/.npmrc",
        "registry=https://npm.corp.internal/\n"
        "//npm.corp.internal/:_authToken=Rk7vQ2xLw9Tz4mNp8bYc3dHs\n"
        f"//nexus.corp.internal/repository/npm/:_auth={b64('ci-bot:Wq7#vT2xLz9')}\n"
        "//npm.pkg.corp.internal/:username=ci\n"
        f"//npm.pkg.corp.internal/:_password={b64('Tz8$kQ3nWv6@')}\n",
        {
            ("npm-registry-auth-token", "Rk7vQ2xLw9Tz4mNp8bYc3dHs"),
            ("npmrc-basic-auth", b64("ci-bot:Wq7#vT2xLz9")),
            ("npmrc-password", b64("Tz8$kQ3nWv6@")),
        },
    ),
    (
        "pip/pip.conf",
        "[global]\nindex-url = https://deploy:Wk4vT9xQz2@nexus.corp.internal/repository/pypi/simple\n"
        "extra-index-url = https://__token__:h7Gq2LmX9vRt@pkgs.corp.internal/simple\n",
        {("basic-auth-url", "Wk4vT9xQz2"), ("basic-auth-url", "h7Gq2LmX9vRt")},
    ),
    (
        "uv/uv.toml",
        '[[index]]\nname = "internal"\n'
        'url = "https://uvbot:Pz5!rK8wQm3@artifactory.corp.internal/api/pypi/pypi/simple"\n',
        {("basic-auth-url", "Pz5!rK8wQm3")},
    ),
    (
        "maven/settings.xml",
        "<settings>\n  <servers>\n    <server>\n      <id>nexus-releases</id>\n"
        "      <username>deployment</username>\n      <password>Hq3!vL9xTz7w</password>\n"
        "    </server>\n  </servers>\n</settings>\n",
        {("generic-xml-credential", "Hq3!vL9xTz7w")},
    ),
    (
        "gradle/gradle.properties",
        "org.gradle.jvmargs=-Xmx2g\nmavenPassword=Lm4%qX9!zT2v\n"
        "artifactoryPassword=Bn7^wQ3;kR8p\nsigning.password=Zx6#tP1&mW4q\n",
        {
            ("generic-password", "Lm4%qX9!zT2v"),
            ("generic-config-password", "Bn7^wQ3;kR8p"),
            ("generic-config-password", "Zx6#tP1&mW4q"),
        },
    ),
    (
        "props/application.properties",
        "db.user=app\ndb.password=Xk9%p^2;Lm#7\n",
        {("generic-config-password", "Xk9%p^2;Lm#7")},
    ),
    (
        "ini/app.ini",
        "[database]\npassword = Rt5;vN8#qW2!x ; rotated by ops\nuser = app\n",
        {("generic-config-password", "Rt5;vN8#qW2!x")},
    ),
    (
        "ini/my.cnf",
        "[client]\nuser=backup\npassword=Hq2'vL9\"xTz,7\n",
        {("mysql-option-file-password", "Hq2'vL9\"xTz,7")},
    ),
    (
        "nginx/upstream.conf",
        "location / {\n"
        f'    proxy_set_header Authorization "Basic {b64("svc-proxy:Kq7vZ2pXw9Lm")}";\n'
        "}\n",
        {("authorization-header-basic", b64("svc-proxy:Kq7vZ2pXw9Lm"))},
    ),
    (
        "apache/vhost.conf",
        f'RequestHeader set Authorization "Basic {b64("reports:Tz4qW7vKx2!")}"\n',
        {("authorization-header-basic", b64("reports:Tz4qW7vKx2!"))},
    ),
    (
        "haproxy/haproxy.cfg",
        "backend app\n"
        f"    http-request set-header Authorization Basic\\ {b64('hauser:Vn5qW8xTz3#')}\n",
        {("authorization-header-basic", b64("hauser:Vn5qW8xTz3#"))},
    ),
    (
        "caddy/Caddyfile",
        "reverse_proxy upstream:8080 {\n"
        f'    header_up Authorization "Basic {b64("caddy:Mx8#pL2vQz7")}"\n}}\n',
        {("authorization-header-basic", b64("caddy:Mx8#pL2vQz7"))},
    ),
    (
        "envoy/envoy.yaml",
        "request_headers_to_add:\n  - header:\n      key: Authorization\n"
        f'      value: "Basic {b64("envoy-svc:Jw3!rT6yUi9")}"\n',
        {("authorization-header-basic", b64("envoy-svc:Jw3!rT6yUi9"))},
    ),
    (
        "scripts/health.sh",
        f'curl -fsS -H "Authorization: Basic {b64("monitor:Gh6!tY2uIo8")}" https://grafana.internal/api/health\n',
        {("authorization-header-basic", b64("monitor:Gh6!tY2uIo8"))},
    ),
    (
        "k8s/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\ntype: Opaque\ndata:\n"
        f"  DATABASE_URL: {b64('postgres://app:Xv9kQ2mLw7Tz@db:5432/orders')}\n"
        f"  REDIS_URL: {b64('redis://:Rq4vT8xLz2Wm@cache:6379/0')}\n"
        f"  AMQP_URL: {b64('amqp://orders:Ku7!bN3mQx@rabbit:5672/')}\n"
        f"  app.conf: {b64(chr(10).join(['user=app', 'password=Fy6#hJ2kLm9', '']))}\n"
        f"  DB_HOST: {b64('db.prod.internal')}\n",
        {
            ("postgres-uri-password", "Xv9kQ2mLw7Tz"),
            ("redis-uri-password", "Rq4vT8xLz2Wm"),
            ("amqp-uri-password", "Ku7!bN3mQx"),
            ("generic-password", "Fy6#hJ2kLm9"),
        },
    ),
    (
        "k8s/kubectl-get.yaml",  # kubectl prints data: before kind:
        f"apiVersion: v1\ndata:\n  MONGO_URL: {b64('mongodb+srv://svc:Hn6vT2xQk8@cluster0.a1b2c.mongodb.net/app')}\n"
        "kind: Secret\nmetadata:\n  name: mongo\n",
        {("mongodb-uri-password", "Hn6vT2xQk8")},
    ),
    (
        "tokens/notes.txt",
        "dapi3f9a1c7e5b2d8046a1f3c9e7b5d20846-3\n7654321098:AAH4kX9vQ2mLw7Tz8bYc3dHs5jKf1gNpRqe\n",
        {
            ("databricks-access-token", "dapi3f9a1c7e5b2d8046a1f3c9e7b5d20846-3"),
            ("telegram-bot-token", "7654321098:AAH4kX9vQ2mLw7Tz8bYc3dHs5jKf1gNpRqe"),
        },
    ),
]

#: (file, content): near misses, no finding at all.
NOT_FOUND: list[tuple[str, str]] = [
    ("near/pypi/.pypirc", "[private]\nusername = deployer\npassword = ${PYPI_PASSWORD}\n"),
    ("near/npm/.npmrc", "//npm.corp.internal/:_authToken=${NPM_TOKEN}\n_auth=${NPM_AUTH}\n"),
    ("near/npm2/.npmrc", f"//npm.corp.internal/:_auth={b64('just some text here')}\n"),
    (
        "near/pip/pip.conf",
        "[global]\nindex-url = https://${PIP_USER}:${PIP_PASSWORD}@nexus.corp.internal/simple\n",
    ),
    ("near/maven/settings.xml", "<server><password>${env.MAVEN_PASSWORD}</password></server>\n"),
    ("near/maven2/settings.xml", "<server><password>{COQLCE6DU6GtcS5P=}</password></server>\n"),
    ("near/gradle/gradle.properties", "signing.password=<your-signing-password>\n"),
    ("near/props/application.properties", "db.password=${DB_PASSWORD:};\n"),
    ("near/ini/app.ini", "[database]\npassword = changeme ; set in production\n"),
    ("near/nginx/upstream.conf", '    proxy_set_header Authorization "Basic $upstream_basic";\n'),
    (
        "near/nginx2/upstream.conf",
        f'    proxy_set_header Authorization "Basic {b64("This is just a note")}";\n',
    ),
    ("near/caddy/Caddyfile", '    header_up Authorization "Basic {env.UPSTREAM_BASIC}"\n'),
    (
        "near/k8s/secret.yaml",
        "kind: Secret\ndata:\n"
        f"  DB_HOST: {b64('db.prod.internal')}\n"
        f"  DATABASE_URL: {b64('postgres://db:5432/orders')}\n"
        f"  TEMPLATE_URL: {b64('postgres://app:${DB_PASSWORD}@db:5432/orders')}\n"
        f"  DEV_URL: {b64('postgres://user:password@localhost:5432/db')}\n",
    ),
    (
        "near/tokens/notes.txt",
        "dapi0123456789abcdef0123456789abcdef\n4143317:AAcZY-JzrMW0MtVOM55XfVKsoHiR3w9WD8j\n",
    ),
]


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[tuple[str, str]]]:
    """{path: {(rule id, secret)}} of one scan over every case's file."""
    root = tmp_path_factory.mktemp("config-idioms")
    for path, content in [(p, c) for p, c, _ in FOUND] + NOT_FOUND:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(content)
    report = root.parent / "config-idioms.json"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.delenv("GITHUB_ACTIONS", raising=False)
        patch.delenv("LEAKSTOP_CONFIG", raising=False)
        argv = [
            "scan",
            "--no-git",
            "-j",
            "1",
            "-f",
            "json",
            "--show-secrets",
            "-o",
            str(report),
            ".",
        ]
        assert main(argv) == 1
    findings: dict[str, set[tuple[str, str]]] = {}
    for finding in json.loads(report.read_text())["findings"]:
        findings.setdefault(finding["path"], set()).add((finding["rule_id"], finding["secret"]))
    return findings


@pytest.mark.parametrize(("path", "content", "expected"), FOUND, ids=[case[0] for case in FOUND])
def test_the_exact_secrets_are_reported(
    scanned: dict[str, set[tuple[str, str]]],
    path: str,
    content: str,
    expected: set[tuple[str, str]],
) -> None:
    assert scanned.get(path, set()) == expected


@pytest.mark.parametrize(("path", "content"), NOT_FOUND, ids=[case[0] for case in NOT_FOUND])
def test_near_misses_are_not_reported(
    scanned: dict[str, set[tuple[str, str]]], path: str, content: str
) -> None:
    assert scanned.get(path, set()) == set()


def test_basic_credentials_are_reported_as_decoding_to_a_password_never_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The finding is the base64 as written; the report says it decodes to a username and a
    password and shows neither the password nor the base64."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("LEAKSTOP_CONFIG", raising=False)
    value = b64("svc-proxy:Kq7vZ2pXw9Lm")
    (tmp_path / "nginx.conf").write_text(f'proxy_set_header Authorization "Basic {value}";\n')
    assert main(["scan", "--no-git", "-j", "1", "-f", "json", "."]) == 1
    out = capsys.readouterr().out
    (finding,) = json.loads(out)["findings"]
    assert finding["rule_id"] == "authorization-header-basic"
    assert "decodes to a username and password" in finding["description"]
    assert "basic-auth" in finding["tags"]
    assert finding["validated"] is True
    assert "Kq7vZ2pXw9Lm" not in out
    assert value not in out
