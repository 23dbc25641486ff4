"""False alarms that real trees are full of (issue 16 item 4), family by family.

Each case is a line from the kind of file it occurs in, scanned as that file, with a real
secret on the next line: the line must not be reported, and the secret must still be.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os

import pytest

from leakstop.finding import Finding
from leakstop.rules.validators import VALIDATORS
from leakstop.scanner import examples, placeholders, ui_text
from leakstop.scanner.detector import Detector
from leakstop.scanner.sources import Chunk
from leakstop.verify.pairing import one_per_credential
from tests.conftest import AWS_KEY_ID, AWS_SECRET, GITHUB_TOKEN

#: A password a person could have chosen (random letters, digits and a symbol).
PASSWORD = "AkWY6AEnhM!AXhf"

#: How a real secret sits in each kind of file, to put next to the false alarm.
_REAL_LINE = {
    ".json": f'"db_password": "{PASSWORD}",',
    ".yml": f'db_password: "{PASSWORD}"',
    ".yaml": f'db_password: "{PASSWORD}"',
    ".properties": f"db.password={PASSWORD}",
    ".env": f"DB_PASSWORD={PASSWORD}",
    ".py": f'DB_PASSWORD = "{PASSWORD}"',
    ".js": f'const dbPassword = "{PASSWORD}";',
    ".mjs": f'const dbPassword = "{PASSWORD}";',
    ".ts": f'const dbPassword = "{PASSWORD}";',
    ".sh": f'export DB_PASSWORD="{PASSWORD}"',
    ".bat": f"set DB_PASSWORD={PASSWORD}",
    ".ps1": f'$dbPassword = "{PASSWORD}"',
    ".php": f"    'db_password' => '{PASSWORD}',",
    ".md": f"The staging database password is `{PASSWORD}`.",
}


def _real_line(path: str) -> tuple[str, str]:
    """The line holding a real secret for a file like `path`, and that secret. Generic rules
    skip generated files (minified bundles, source maps): an issuer's token is found there."""
    generated = path.endswith((".min.js", ".map"))
    line = None if generated else _REAL_LINE.get(os.path.splitext(path)[1])
    if line is None:
        return f"# deploy token: {GITHUB_TOKEN}", GITHUB_TOKEN
    return line, PASSWORD


def _scan(detector: Detector, path: str, text: str) -> list[Finding]:
    return detector.detect(Chunk(path, text.encode()))


FAMILIES: dict[str, list[tuple[str, str]]] = {
    "ui text in locale files, any script": [
        ("locales/ru/common.json", '"password": "Введите пароль",'),
        ("locales/ru/common.json", '"password": "Пароль",'),
        ("src/locales/ja/auth.json", '"passwordHint": "パスワードを入力してください",'),
        ("public/i18n/en.json", '"forgotPassword": "Forgot password?",'),
        (
            "config/locales/de.yml",
            '    password_short: "Das Passwort muss mindestens 8 Zeichen haben."',
        ),
        ("src/main/resources/messages_es.properties", "login.password=Contraseña"),
        (
            "resources/lang/en/passwords.php",
            "    'password' => 'Passwords must be at least eight characters.',",
        ),
        ("locales/fr.json", '"newPassword": "Nouveau mot de passe",'),
        ("settings.json", '"pwd_empty": "密码不能为空",'),
        ("config.yaml", 'token_expired: "Ваш токен истёк, войдите снова"'),
        ("dist/pl-PL.mjs", "    passwordLabel: 'Hasło',"),
        ("dist/da-DK.mjs", "    apiKeyTitle: 'API-nøgle',"),
        (
            "dist/ja-JP.js",
            "    passwordTooShort: 'パスワードが短すぎます。8文字以上である必要があります。',",
        ),
    ],
    "css and dom selectors": [
        ("src/pages/login.js", "const passwordSelector = '#add-password';"),
        ("e2e/pages/login.ts", "  passwordInput: 'input[name=password]',"),
        ("cypress/selectors.json", '"password": "#login-form .password-field",'),
        ("pages/signin.py", 'PASSWORD_FIELD = "form#signin > input.pwd-input"'),
    ],
    "url paths and route names": [
        ("src/routes.js", "  resetPassword: '/account/reset-password',"),
        ("config.yaml", "password_page: /api/v1/users/{user_id}/password"),
        ("app/router.ts", "  forgotPassword: '/auth/password/:token',"),
        ("config/routes.yml", "password: auth.password.update"),
        ("src/app.ts", "const passwordPage = '#/settings/change-password';"),
        (
            "wstrust.py",
            'SAML_TOKEN = "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV1.1"',
        ),
    ],
    "variable references in every syntax": [
        ("deploy.sh", "DB_PASSWORD='\"'$DB_PASS'\"'"),
        ("deploy.sh", 'curl -d "password=$DB_PASSWORD" https://api.internal/login'),
        ("run.bat", "set DB_PASSWORD=%DB_PASSWORD%"),
        ("config/database.yml", "  password: <%= ENV['DATABASE_PASSWORD'] %>"),
        ("chart/values.yaml", '  password: "{{ .Values.global.dbPassword }}"'),
        ("config.json", '"ApiSecret": "__API_SECRET__",'),
        ("config.json", '"db_password": "@DB_PASSWORD@",'),
        ("setup.ps1", '$password = "$env:DB_PASSWORD"'),
        ("docker-compose.yml", "      - DB_PASSWORD=$${DB_PASSWORD}"),
        ("views/config.js", "const apiSecret = '<%= apiSecret %>';"),
        ("haproxy.yaml", 'stats_password: "%{STATS_PASSWORD}"'),
    ],
    "sequential, keyboard and stock placeholders": [
        (".env", "API_KEY=a1b2c3d4e5f6g7h8i9j0"),
        ("config.json", '"secret_key": "ABCDEFGHIJKLMNOPQRSTUVWX",'),
        (".env", "SECRET_TOKEN=1234567890abcdef1234567890"),
        ("settings.py", 'SECRET_KEY = "qwertyuiopasdfghjkl123"'),
        (".env", "ACCESS_TOKEN=abcabcabcabcabcabc"),
        (".env", "REQUEST_SECRET=1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d"),
        ("payment.env", "STRIPE_SECRET_KEY=sk_live_1234567890abcdefghijklmn"),
        (".env", "DB_PASSWORD=P@55w0rd!"),
        (".env", "ADMIN_PASSWORD=password2"),
        ("openssl.sh", "openssl pkcs12 -export -in c.pem -passout pass:sample -out c.p12"),
        ("make_certs.py", '    "-passout", "pass:somepass",'),
        ("make_certs.py", '    "-passin", "pass:testpassword1",'),
        ("test_auth.py", '    PASSWORD = "test123"'),
        ("lib/Net/FTP.pm", "    $pass = '-anonymous@' unless defined $pass;"),
        ("config.ini", "password = *all*authentication*tokens*updated*successfully*"),
    ],
    "code, not values": [
        ("dist/parser.min.js", "if((e.token=e.token===1074790415?1:0)&&q)return"),
        ("dist/http.mjs", "    this.withCredentials = !!options.withCredentials;"),
        ("dist/formatDistance.js", "  const tokenValue = options?.addSuffix ? a : b;"),
        ("dist/antd.min.js", "t=Qt(l,a,e,{deprecatedTokens:null==s?void 0:s.deprecatedTokens});"),
        ("azure/client.py", "    :type credential: ~azure.core.credentials.TokenCredential"),
        ("docs/util.md", "The source argument for a token is `args[token.index]`."),
        (
            "cognito/models.py",
            "    Authorization: AWS4-HMAC-SHA256 "
            "Credential=mock_access_key/20220524/us-east-1/cognito-idp/aws4_request",
        ),
        ("postgresql.conf", "#password_encryption = scram-sha-256   # or md5"),
        ("lib/CPAN/HTTP/Credentials.pm", "    my $password = $CPAN::Config->{proxy_pass};"),
        ("lib/Test2/Hub.pm", "    my $token = $self->{token};"),
        ("lib/index.js", "const UNEXPECTED_TOKEN = /^Unexpected token ([^ ]+)/"),
    ],
    "documented example keys": [
        ("credentials", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE"),
        ("credentials", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        ("checkout.js", "const stripe = require('stripe')('sk_test_4eC39HqLyjWDarjtT1zdp7dc');"),
        ("client.py", 'headers = {"Authorization": "Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW"}'),
        ("client.py", 'headers = {"Authorization": "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="}'),
    ],
    # Found on the real-tree evaluation (benchmarks/accuracy/real_trees.py): npm and PyPI.
    "type annotations and number literals in code": [
        ("types.ts", "export type PassphraseBlob = Buffer|Uint8Array|Blob|string;"),
        (
            "client.d.ts",
            "getCredentials(cb: (err: Error|null, credentials: Credentials|null) => void): void;",
        ),
        ("lib.dom.ts", "    readonly STENCIL_PASS_DEPTH_FAIL: 0x8816;"),
    ],
    "api routes in code": [
        ("api.ts", '    RESET_PASSWORD = "/v1/accounts:resetPassword",'),
        ("routes.py", 'CHANGE_PASSWORD_URL = "/api/users/{user_id}/password"'),
    ],
    "minified code between string literals": [
        (
            "bundle.js",
            'function f(s,t,e,i){new Error("MFA token: "+s),{code:t.errorCode}))}e(null,i)}',
        ),
        ("vendor.js", 'case"ExpiredToken":e.error.retryable=!0,e.request.haltHandlersOnError()'),
        ("app.min.js", 'var config={password:"kXq9vR2mTz7wLp4B"};'),
        (
            "app.js.map",
            '{"version":3,"sourcesContent":["const password = \\"kXq9vR2mTz7wLp4B\\";"]}',
        ),
    ],
    "template substitutions": [
        ("cloud-config-aws.ini.template", "aws_secret_key: @SECRET_KEY"),
        ("cloud-config-aws.ini.template", "security_token: @SECURITY_TOKEN"),
    ],
}

_CASES = [(family, path, line) for family, cases in FAMILIES.items() for path, line in cases]


@pytest.mark.parametrize(
    ("family", "path", "line"), _CASES, ids=[f"{f}:{p}:{n}" for n, (f, p, _l) in enumerate(_CASES)]
)
def test_false_alarm_is_silent_and_real_secret_beside_it_is_found(
    detector: Detector, family: str, path: str, line: str
) -> None:
    real_line, secret = _real_line(path)
    findings = _scan(detector, path, f"{line}\n{real_line}\n")
    assert [f.location.line for f in findings if f.location.line == 1] == [], family
    assert [f.secret for f in findings if f.location.line == 2] == [secret]


def test_a_random_value_in_a_locale_file_is_still_reported(detector: Detector) -> None:
    text = '"title": "Anmelden",\n"api_secret": "q7Zt2Vx9Lk4Rw8Mn3Bp6",\n'
    findings = _scan(detector, "locales/de/common.json", text)
    assert [(f.location.line, f.secret) for f in findings] == [(2, "q7Zt2Vx9Lk4Rw8Mn3Bp6")]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256(payload: dict[str, object], key: bytes) -> str:
    head = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64url(json.dumps(payload).encode())
    signature = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64url(signature)}"


@pytest.mark.parametrize(
    ("token", "documented"),
    [
        (_hs256({"user": "alice", "role": "reader"}, b"secret"), True),
        (_hs256({"user": "alice"}, b"your-256-bit-secret"), True),
        (_hs256({"sub": "1234567890", "name": "John Doe", "iat": 1516239022}, b"k9!x"), True),
        (_hs256({"user": "alice", "role": "reader"}, b"Vq8Rw2LmT5zXk9Np"), False),
    ],
)
def test_jwts_signed_with_documentation_keys_are_examples(
    detector: Detector, token: str, documented: bool
) -> None:
    assert examples.is_documented_example(token) is documented
    found = _scan(detector, "README.md", f"Authorization: Bearer {token}\n")
    assert bool(found) is not documented


def _private_key_json() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return pem.replace("\n", "\\n")


def test_gcp_key_file_is_one_finding_the_private_key(detector: Detector) -> None:
    text = (
        "{\n"
        '  "type": "service_account",\n'
        '  "project_id": "billing-export-prod",\n'
        '  "private_key_id": "3f1e9a0c27d84b6e95a1c0d7f2b8e4a6c9d3f5b1",\n'
        f'  "private_key": "{_private_key_json()}",\n'
        '  "client_email": "exporter@billing-export-prod.iam.gserviceaccount.com"\n'
        "}\n"
    )
    findings = _scan(detector, "keys/exporter.json", text)
    assert [f.rule_id for f in findings] == ["private-key-pkcs8"]


def test_gcp_key_id_alone_is_still_reported(detector: Detector) -> None:
    text = (
        '{"type": "service_account", '
        '"private_key_id": "3f1e9a0c27d84b6e95a1c0d7f2b8e4a6c9d3f5b1", "private_key": ""}\n'
    )
    findings = _scan(detector, "keys/exporter.json", text)
    assert [f.rule_id for f in findings] == ["gcp-service-account-key-id"]


def test_aws_key_id_next_to_its_secret_is_reported_once(detector: Detector) -> None:
    text = (
        "[default]\n"
        f"aws_access_key_id = {AWS_KEY_ID}\n"
        f"aws_secret_access_key = {AWS_SECRET}\n"
        "[other]\n"
        "aws_access_key_id = AKIAZ7QWMBLNVK5RCXD3\n"
    )
    findings = _scan(detector, ".aws/credentials", text)
    assert sorted(f.rule_id for f in findings) == [
        "aws-access-key-id",
        "aws-access-key-id",
        "aws-secret-access-key",
    ]
    reported = one_per_credential(findings)
    assert [(f.rule_id, f.location.line) for f in reported] == [
        ("aws-secret-access-key", 3),
        ("aws-access-key-id", 5),
    ]
    assert "with:aws-access-key-id" in reported[0].tags


def _b64(document: dict[str, object]) -> str:
    return base64.b64encode(json.dumps(document, separators=(",", ":")).encode()).decode()


@pytest.mark.parametrize(
    ("validator", "good", "bad"),
    [
        (
            "grafana-api-key",
            _b64({"k": "Jq3Lm8Vx2Rt7Wz4Np9Bc6Kd1Hs5Fg0Ya", "n": "deploy", "id": 12}),
            _b64({"k": "Jq3Lm8Vx2Rt7Wz4Np9Bc6Kd1Hs5Fg0Ya", "scope": "all"}),
        ),
        (
            "grafana-cloud-token",
            "glc_" + _b64({"o": "552031", "n": "stack-1-write", "k": "Tz5Qw8Lp2Vx7Rm4Kn9Bd3Hc6"}),
            "glc_" + _b64({"org": "552031", "name": "stack-1-write"}),
        ),
        (
            "sentry-org-token",
            "sntrys_"
            + _b64({"iat": 1739573950, "url": "https://sentry.io", "org": "acme"})
            + "_"
            + "Rk2Lm9Vx4Tz7Wq3Np8Bc5Hd1Fs6Gy0Ka2Lm9Vx4Tz7",
            "sntrys_"
            + _b64({"alg": "HS256", "typ": "JWT", "sub": "acme"})
            + "_"
            + "Rk2Lm9Vx4Tz7Wq3Np8Bc5Hd1Fs6Gy0Ka2Lm9Vx4Tz7",
        ),
        (
            "onepassword-service-account",
            "ops_" + _b64({"signInAddress": "my.1password.com", "email": "x@y.z"}),
            "ops_" + _b64({"email": "x@y.z", "secret": "Tz5Qw8Lp2Vx7"}),
        ),
        (
            "mapbox-token",
            "sk."
            + _b64url(b'{"u":"acme","a":"Zx8Kq2Vm5Lt9Rw3Np7Bc4"}')
            + ".Hd1Fs6Gy0Ka2Lm9Vx4Tz7Q",
            "sk." + _b64url(b'{"u":"acme"}') + ".Hd1Fs6Gy0Ka2Lm9Vx4Tz7Q",
        ),
    ],
)
def test_base64_json_tokens_need_their_issuers_fields(validator: str, good: str, bad: str) -> None:
    check = VALIDATORS[validator]
    assert check(good)
    assert not check(bad)


@pytest.mark.parametrize(
    "value",
    [
        "a1b2c3d4e5f6g7h8",
        "ABCDEFGHIJKL",
        "1234567890abcdef",
        "zyxwvutsrqpo",
        "qwertyuiop12",
        "1qaz2wsx3edc",
        "ab12ab12ab12",
        "1a2b3c4d-5e6f-7a8b",
    ],
)
def test_sequences_are_placeholders(value: str) -> None:
    assert placeholders.is_sequence_placeholder(value)


@pytest.mark.parametrize(
    ("body", "filler"),
    [
        ("1234567890abcdefghijklmn", True),
        ("a1b2c3d4e5f6g7h8i9j0", True),
        ("qwertyuiopasdfgh", True),
        # A number in a token (a Telegram bot id) may well count up or down.
        ("7654321098AAH4kX9vQ2mLw7Tz8bYc3dHs5jKf1gNpRqe", False),
        ("Jq3Lm8Vx2Rt7Wz4Np9Bc6Kd1", False),
    ],
)
def test_issuer_token_bodies(body: str, filler: bool) -> None:
    assert placeholders.is_sequence_placeholder(body, strict=True) is filler


@pytest.mark.parametrize(
    "value",
    ["4f9d2c7b1e8a6f3d0c5b9e2a7d4f1c8b", "Xk4pRz8wQm12", "q7Zt2Vx9Lk4Rw8Mn3Bp6", "1212121212aZ"],
)
def test_random_values_are_not_sequences(value: str) -> None:
    assert not placeholders.is_sequence_placeholder(value)


def test_random_hex_bodies_are_almost_never_sequences() -> None:
    rng = __import__("random").Random(16)
    bodies = ["".join(rng.choice("0123456789abcdef") for _ in range(32)) for _ in range(5000)]
    assert sum(placeholders.is_sequence_placeholder(b, strict=True) for b in bodies) == 0


@pytest.mark.parametrize(
    ("value", "stock"),
    [
        ("password2", True),
        ("P@55w0rd!", True),
        ("s3cr3t", True),
        ("hunter2", True),
        ("mynewpassword", True),
        ("Letmein123", True),
        ("Summer2024!Deploy", False),
        (PASSWORD, False),
        ("h4rdT0Gu3ss", False),
        ("test123", True),
        ("Pa$$w0rd-2024", True),
    ],
)
def test_stock_passwords(value: str, stock: bool) -> None:
    assert placeholders.is_stock_password(value) is stock


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("Введите пароль", True),
        ("パスワードを入力してください", True),
        ("Forgot password?", True),
        ("Mot de passe (8 caractères minimum)", True),
        ("x9 kq", False),
        ("Bearer q7Zt2Vx9Lk4Rw8Mn3Bp6", False),
        ("Lösenord", True),
        ("Секрет42Юг", False),
        ("密码至少8位", True),
        ("Xk4ñpRz8wQm12", False),
        (PASSWORD, False),
    ],
)
def test_natural_text(value: str, text: bool) -> None:
    assert ui_text.is_natural_text(value) is text


@pytest.mark.parametrize(
    ("path", "locale"),
    [
        ("locales/ru/common.json", True),
        ("app/i18n/de.yml", True),
        ("Base.lproj/Main.strings", True),
        ("po/de.po", True),
        ("src/main/resources/messages_de.properties", True),
        ("Properties/Resources.resx", True),
        ("resources/lang/en/auth.php", True),
        ("public/en-US.json", True),
        ("config/db.yml", False),
        ("settings.json", False),
        (".env", False),
    ],
)
def test_locale_paths(path: str, locale: bool) -> None:
    assert ui_text.is_locale_path(path) is locale
