"""The assignment idioms real code uses (issue 16): each written as a real file of its language
and scanned through `execute`, the way `leakstop scan` runs.

Every idiom has a literal (the exact secret must be reported) and clean variants of the same
line (an environment-variable reference, a placeholder, an empty default) that must not be.
The files are written once and scanned in one run, so the table costs one scan.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from leakstop.finding import Finding
from leakstop.scanner.rule_check import available_engines
from leakstop.scanner.session import ScanRequest, execute

#: Random values of no issuer's format (secrets.choice over letters and digits).
PW = "jnCTs1k23kgPc9uVh4"
TOKEN = "JphQ2UdlTn7oD3Y0pE"
KEY = "PXE5OdOs95DaygoVaU"
AWS_SECRET = "RssweZghwQBOgPQfnfs4UcpydftqG5IZQWgAdBFg"
COMPOSE = "services:\n  db:\n    environment:\n      POSTGRES_PASSWORD: {}"
#: What wp-admin/setup-config.php generates: 64 characters, punctuation included.
WP_SALT = "Zr9<u=Tm~2qL|vX8!dK#p@4w)Hc6{nB^y.Jf1%sG-e7[aQ3+oM5]iE;zU0&lR:hW"


@dataclass(frozen=True)
class Idiom:
    name: str
    path: str
    literal: str
    secret: str
    #: The same line with the literal replaced by what must not be reported.
    clean: tuple[str, ...]


def _notebook(line: str) -> str:
    """A Jupyter notebook holding `line` as a code cell's source: JSON-escaped on disk."""
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "source": ["import os\n", line]}
    return json.dumps({"cells": [cell], "nbformat": 4, "nbformat_minor": 5}, indent=1)


IDIOMS = [
    # Fallback defaults: the literal after the variable's name is the secret.
    Idiom(
        "js-or-default",
        "src/db.js",
        f"const password = process.env.DB_PASSWORD || '{PW}';",
        PW,
        (
            "const password = process.env.DB_PASSWORD;",
            "const password = process.env.DB_PASSWORD || '';",
            "const password = process.env.DB_PASSWORD || 'changeme';",
            "const password = process.env.DB_PASSWORD || fallbackPassword;",
        ),
    ),
    Idiom(
        "ts-nullish-default",
        "src/client.ts",
        f'const apiToken = process.env.API_TOKEN ?? "{TOKEN}";',
        TOKEN,
        (
            "const apiToken = process.env.API_TOKEN;",
            'const apiToken = process.env.API_TOKEN ?? "";',
            'const apiToken = process.env.API_TOKEN ?? "<your-api-token>";',
        ),
    ),
    Idiom(
        "ruby-or-assign",
        "config/initializers/secrets.rb",
        f"ENV['SECRET_KEY_BASE'] ||= '{KEY}'",
        KEY,
        (
            "ENV['SECRET_KEY_BASE'] ||= ENV.fetch('RAILS_SECRET')",
            "ENV['SECRET_KEY_BASE'] ||= ''",
        ),
    ),
    Idiom(
        "ruby-fetch-default",
        "config/stripe.rb",
        f"Stripe.api_key = ENV.fetch('STRIPE_API_KEY', '{KEY}')",
        KEY,
        (
            "Stripe.api_key = ENV.fetch('STRIPE_API_KEY')",
            "Stripe.api_key = ENV.fetch('STRIPE_API_KEY', nil)",
            "Stripe.api_key = ENV.fetch('STRIPE_API_KEY', '')",
        ),
    ),
    Idiom(
        "python-setdefault",
        "app/settings.py",
        f'os.environ.setdefault("DJANGO_SECRET_KEY", "{KEY}")',
        KEY,
        (
            'os.environ.setdefault("DJANGO_SECRET_KEY", "")',
            'os.environ.setdefault("DJANGO_SECRET_KEY", "change-me")',
        ),
    ),
    Idiom(
        "python-setdefault-nested",
        "app/factory.py",
        f'app.config.from_mapping(SECRET_KEY=os.environ.setdefault("FLASK_SECRET_KEY", "{KEY}"))',
        KEY,
        ('app.config.from_mapping(SECRET_KEY=os.environ.setdefault("FLASK_SECRET_KEY", ""))',),
    ),
    Idiom(
        "python-getenv-default",
        "app/db.py",
        f'PASSWORD = os.getenv("DB_PASSWORD", "{PW}")',
        PW,
        (
            'PASSWORD = os.getenv("DB_PASSWORD")',
            'PASSWORD = os.getenv("DB_PASSWORD", "")',
            'PASSWORD = os.getenv("DB_PASSWORD", default_password)',
        ),
    ),
    Idiom(
        "python-environ-get-default",
        "app/db.py",
        f'conn = connect(password=os.environ.get("DB_PASSWORD", "{PW}"))',
        PW,
        (
            'conn = connect(password=os.environ.get("DB_PASSWORD"))',
            'conn = connect(password=os.environ.get("DB_PASSWORD", ""))',
        ),
    ),
    Idiom(
        "python-or-default",
        "app/db.py",
        f'password = os.environ.get("DB_PASSWORD") or "{PW}"',
        PW,
        (
            'password = os.environ.get("DB_PASSWORD") or ""',
            'password = os.environ.get("DB_PASSWORD") or getpass.getpass()',
        ),
    ),
    Idiom(
        "php-elvis-default",
        "config/db.php",
        f"$password = getenv('DB_PASSWORD') ?: '{PW}';",
        PW,
        (
            "$password = getenv('DB_PASSWORD') ?: null;",
            "$password = getenv('DB_PASSWORD') ?: '';",
        ),
    ),
    Idiom(
        "java-getordefault",
        "src/main/java/Db.java",
        f'String password = System.getenv().getOrDefault("DB_PASSWORD", "{PW}");',
        PW,
        (
            'String password = System.getenv("DB_PASSWORD");',
            'String password = System.getenv().getOrDefault("DB_PASSWORD", "");',
        ),
    ),
    Idiom(
        "shell-default",
        "bin/entrypoint.sh",
        f'export PGPASSWORD="${{DB_PASSWORD:-{PW}}}"',
        PW,
        (
            'export PGPASSWORD="${DB_PASSWORD}"',
            'export PGPASSWORD="${DB_PASSWORD:-}"',
            'export PGPASSWORD="${DB_PASSWORD:?DB_PASSWORD is required}"',
            'export PGPASSWORD="${DB_PASSWORD:-$FALLBACK_PASSWORD}"',
        ),
    ),
    Idiom(
        "dockerfile-default",
        "Dockerfile",
        f"ENV API_TOKEN=${{API_TOKEN:-{TOKEN}}}",
        TOKEN,
        ("ENV API_TOKEN=${API_TOKEN}", "ENV API_TOKEN=${API_TOKEN:-}"),
    ),
    Idiom(
        "compose-default",
        "docker-compose.yml",
        COMPOSE.format(f"${{POSTGRES_PASSWORD:={PW}}}"),
        PW,
        (
            COMPOSE.format("${POSTGRES_PASSWORD}"),
            COMPOSE.format("${POSTGRES_PASSWORD:-changeme}"),
        ),
    ),
    Idiom(
        "spring-default",
        "src/main/resources/application.yml",
        f"spring:\n  datasource:\n    password: ${{DB_PASSWORD:{PW}}}",
        PW,
        (
            "spring:\n  datasource:\n    password: ${DB_PASSWORD}",
            "spring:\n  datasource:\n    password: ${DB_PASSWORD:}",
        ),
    ),
    # JS/TS template literals.
    Idiom(
        "ts-template-literal",
        "src/seed.ts",
        f"const adminPassword = `{PW}`;",
        PW,
        (
            "const adminPassword = `${process.env.ADMIN_PASSWORD}`;",
            "const adminPassword = ``;",
        ),
    ),
    Idiom(
        "js-template-bearer",
        "src/api.js",
        f"fetch(url, {{headers: {{Authorization: `Bearer {TOKEN}`}}}});",
        TOKEN,
        (
            "fetch(url, {headers: {Authorization: `Bearer ${token}`}});",
            "fetch(url, {headers: {Authorization: `Bearer ${process.env.API_TOKEN}`}});",
        ),
    ),
    # PHP define() and the WordPress keys and salts.
    Idiom(
        "wordpress-auth-key",
        "wp-config.php",
        f"define( 'AUTH_KEY',         '{WP_SALT}' );",
        WP_SALT,
        (
            "define( 'AUTH_KEY',         'put your unique phrase here' );",
            "define( 'AUTH_KEY',         getenv('WP_AUTH_KEY') );",
        ),
    ),
    Idiom(
        "wordpress-salt",
        "wp-config.php",
        f"define('NONCE_SALT', '{WP_SALT}');",
        WP_SALT,
        ("define('NONCE_SALT', 'put your unique phrase here');",),
    ),
    Idiom(
        "php-define-password",
        "wp-config.php",
        f"define( 'DB_PASSWORD', '{PW}' );",
        PW,
        ("define( 'DB_PASSWORD', getenv('DB_PASSWORD') );", "define( 'DB_PASSWORD', '' );"),
    ),
    # .NET configuration.
    Idiom(
        "dotnet-appsetting",
        "Web.config",
        f'<appSettings>\n  <add key="ApiKey" value="{KEY}" />\n</appSettings>',
        KEY,
        (
            '<appSettings>\n  <add key="ApiKey" value="" />\n</appSettings>',
            '<appSettings>\n  <add key="ApiKey" value="#{ApiKey}" />\n</appSettings>',
        ),
    ),
    Idiom(
        "dotnet-connection-string",
        "Web.config",
        '<add name="Default" connectionString="Server=db;Database=app;User Id=app;'
        f'Password={PW};" providerName="System.Data.SqlClient" />',
        PW,
        (
            '<add name="Default" connectionString="Server=db;Database=app;'
            'Integrated Security=True;" providerName="System.Data.SqlClient" />',
        ),
    ),
    Idiom(
        "appsettings-connection-string",
        "appsettings.json",
        '{"ConnectionStrings": {"Default": '
        f'"Server=db;Database=app;User Id=app;Password={PW};TrustServerCertificate=True"}}}}',
        PW,
        ('{"ConnectionStrings": {"Default": "Server=db;Database=app;Trusted_Connection=True"}}',),
    ),
    # PowerShell.
    Idiom(
        "powershell-securestring",
        "deploy.ps1",
        f"$secure = ConvertTo-SecureString '{PW}' -AsPlainText -Force",
        PW,
        (
            "$secure = ConvertTo-SecureString $env:ADMIN_PASSWORD -AsPlainText -Force",
            '$secure = ConvertTo-SecureString "$env:ADMIN_PASSWORD" -AsPlainText -Force',
        ),
    ),
    Idiom(
        "powershell-securestring-string",
        "deploy.ps1",
        f'$secure = ConvertTo-SecureString -String "{PW}" -AsPlainText -Force',
        PW,
        ("$secure = ConvertTo-SecureString -String $password -AsPlainText -Force",),
    ),
    Idiom(
        "powershell-pscredential",
        "deploy.ps1",
        "$cred = New-Object PSCredential('svc-deploy', "
        f"(ConvertTo-SecureString '{PW}' -AsPlainText -Force))",
        PW,
        (
            "$cred = New-Object PSCredential('svc-deploy', "
            "(ConvertTo-SecureString $env:SVC_PASSWORD -AsPlainText -Force))",
        ),
    ),
    # Command lines.
    Idiom(
        "aws-configure-set",
        "scripts/setup.sh",
        f"aws configure set aws_secret_access_key {AWS_SECRET} --profile ci",
        AWS_SECRET,
        ('aws configure set aws_secret_access_key "$AWS_SECRET_ACCESS_KEY" --profile ci',),
    ),
    Idiom(
        "cli-password-equals",
        "scripts/backup.sh",
        f"mysqldump --user=backup --password={PW} app > app.sql",
        PW,
        ('mysqldump --user=backup --password="$DB_PASSWORD" app > app.sql',),
    ),
    Idiom(
        "cli-password-space",
        "scripts/setup.sh",
        f"rabbitmqadmin --username app --password {PW} declare queue name=jobs",
        PW,
        (
            'rabbitmqadmin --username app --password "$RABBIT_PASSWORD" declare queue name=jobs',
            "rabbitmqadmin --username app --password <password> declare queue name=jobs",
        ),
    ),
    Idiom(
        "mysql-short-p",
        "scripts/backup.sh",
        f"mysql -uroot -p{PW} app < schema.sql",
        PW,
        ('mysql -uroot -p"$DB_PASSWORD" app < schema.sql', "mysql -uroot -p app < schema.sql"),
    ),
    Idiom(
        "cli-token",
        "scripts/bootstrap.sh",
        f"gh auth login --hostname git.corp.internal --token {TOKEN}",
        TOKEN,
        ('gh auth login --hostname git.corp.internal --token "$GH_TOKEN"',),
    ),
    Idiom(
        "cli-api-key-equals",
        "Makefile",
        f"deploy:\n\tdeploy-cli push --api-key={KEY} --env prod",
        KEY,
        ("deploy:\n\tdeploy-cli push --api-key=$(DEPLOY_API_KEY) --env prod",),
    ),
    Idiom(
        "here-string-login",
        "scripts/push.sh",
        f"docker login -u ci-bot --password-stdin reg.internal <<< '{PW}'",
        PW,
        ('docker login -u ci-bot --password-stdin reg.internal <<< "$REGISTRY_PASSWORD"',),
    ),
    Idiom(
        "echo-pipe-login",
        "scripts/push.sh",
        f"echo '{PW}' | docker login -u ci-bot --password-stdin reg.internal",
        PW,
        ('echo "$REGISTRY_PASSWORD" | docker login -u ci-bot --password-stdin reg.internal',),
    ),
    # Jupyter notebooks: the source lines are JSON strings, their quotes escaped.
    Idiom(
        "notebook-assignment",
        "notebooks/explore.ipynb",
        _notebook(f'api_key = "{KEY}"\n'),
        KEY,
        (_notebook('api_key = os.environ["API_KEY"]\n'), _notebook('api_key = "<your-api-key>"\n')),
    ),
    Idiom(
        "notebook-environ",
        "notebooks/explore.ipynb",
        _notebook(f'os.environ["DB_PASSWORD"] = "{PW}"\n'),
        PW,
        (_notebook('os.environ["DB_PASSWORD"] = getpass.getpass()\n'),),
    ),
    Idiom(
        "notebook-getenv-default",
        "notebooks/explore.ipynb",
        _notebook(f'token = os.getenv("SERVICE_TOKEN", "{TOKEN}")\n'),
        TOKEN,
        (_notebook('token = os.getenv("SERVICE_TOKEN")\n'),),
    ),
    # Values (and names) in other alphabets.
    Idiom(
        "non-ascii-value",
        "app/config.py",
        'password = "Contraseña-2024!"',
        "Contraseña-2024!",
        ('password = os.environ["PASSWORD"]',),
    ),
    Idiom(
        "non-ascii-env",
        ".env",
        "DB_PASSWORD=Contraseña-2024!",
        "Contraseña-2024!",
        ("DB_PASSWORD=", "DB_PASSWORD=${VAULT_DB_PASSWORD}"),
    ),
    Idiom(
        "cyrillic-name-and-value",
        "config/app.yml",
        'пароль: "Секрет42Юг"',
        "Секрет42Юг",
        ('пароль: ""', 'пароль: "${PASSWORD}"'),
    ),
]


def _write(root: Path, folder: str, path: str, text: str) -> str:
    relative = f"{folder}/{path}"
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text + "\n", encoding="utf-8")
    return relative


@pytest.fixture(scope="module", params=available_engines())
def scanned(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[Finding]]:
    """Findings by file, for every literal and clean variant written under one root, on each
    engine (Hyperscan once missed `x.setdefault("SECRET_KEY", ...)` that the keywords found)."""
    root = tmp_path_factory.mktemp("idioms")
    for idiom in IDIOMS:
        _write(root, f"literal/{idiom.name}", idiom.path, idiom.literal)
        for number, clean in enumerate(idiom.clean):
            _write(root, f"clean/{idiom.name}/{number}", idiom.path, clean)
    scan = ScanRequest(paths=(root,), use_git=False, jobs=1, engine=request.param)
    _prepared, result = execute(scan)
    by_file: dict[str, list[Finding]] = {}
    for finding in result.findings:
        by_file.setdefault(finding.location.path, []).append(finding)
    return by_file


def _findings(scanned: dict[str, list[Finding]], relative: str) -> list[Finding]:
    return [f for path, found in scanned.items() if path.endswith(relative) for f in found]


#: Idioms whose rule lives in a file another change rewrote; the fix is described in the
#: merge note (authorization-header-token: a backtick or an escaped quote may open the value).
PENDING: set[str] = set()


@pytest.mark.parametrize(
    "idiom",
    [
        pytest.param(idiom, marks=pytest.mark.xfail(strict=True, reason="pending merge"))
        if idiom.name in PENDING
        else idiom
        for idiom in IDIOMS
    ],
    ids=lambda i: i.name,
)
def test_the_literal_is_reported(scanned: dict[str, list[Finding]], idiom: Idiom) -> None:
    findings = _findings(scanned, f"literal/{idiom.name}/{idiom.path}")
    assert [f.secret for f in findings] == [idiom.secret], [f.rule_id for f in findings]


@pytest.mark.parametrize(
    ("idiom", "number"),
    [(idiom, number) for idiom in IDIOMS for number in range(len(idiom.clean))],
    ids=lambda value: value.name if isinstance(value, Idiom) else str(value),
)
def test_a_reference_placeholder_or_empty_value_is_not(
    scanned: dict[str, list[Finding]], idiom: Idiom, number: int
) -> None:
    findings = _findings(scanned, f"clean/{idiom.name}/{number}/{idiom.path}")
    assert [(f.rule_id, f.location.line) for f in findings] == []
