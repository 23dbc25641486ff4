"""Decoy-rich files of the accuracy corpus: lockfiles, vendored and minified code, test fixtures,
certificates and public keys, templates and placeholders, encrypted secrets, build metadata.

Every value here that a scanner could mistake for a credential is a labelled decoy (or, where
a reasonable security engineer could go either way, a labelled *neutral* item that is neither
rewarded nor penalised).  Nothing here is a secret.  Standard library only.
"""

from __future__ import annotations


from corpus_core import INF, Doc, File, M, emit_json, emit_yaml
from secretgen import ECKey, b64

AWS_EXAMPLE_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
JWT_IO_EXAMPLE = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0Ij"
                  "oxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
NPM_PKGS = ["react", "react-dom", "scheduler", "loose-envify", "js-tokens", "axios", "follow-redirects",
            "form-data", "asynckit", "combined-stream", "delayed-stream", "mime-types", "mime-db", "proxy-from-env",
            "zod", "date-fns", "lodash", "clsx", "classnames", "uuid", "nanoid", "express", "body-parser", "bytes",
            "content-type", "debug", "ms", "depd", "destroy", "http-errors", "inherits", "setprototypeof",
            "statuses", "toidentifier", "iconv-lite", "safer-buffer", "on-finished", "ee-first", "qs", "side-channel",
            "raw-body", "unpipe", "type-is", "media-typer", "cookie", "cookie-signature", "encodeurl", "escape-html",
            "etag", "finalhandler", "parseurl", "fresh", "merge-descriptors", "methods", "path-to-regexp",
            "proxy-addr", "forwarded", "ipaddr.js", "range-parser", "send", "serve-static", "utils-merge", "vary"]
PY_PKGS = ["requests", "urllib3", "idna", "certifi", "charset-normalizer", "sqlalchemy", "greenlet", "alembic",
           "mako", "markupsafe", "flask", "werkzeug", "jinja2", "itsdangerous", "click", "blinker", "stripe",
           "typing-extensions", "pydantic", "pydantic-core", "annotated-types", "boto3", "botocore", "s3transfer",
           "jmespath", "python-dateutil", "six", "structlog", "redis", "celery", "kombu", "vine", "amqp",
           "billiard"]
GO_MODS = ["github.com/go-chi/chi/v5", "github.com/jackc/pgx/v5", "github.com/jackc/pgpassfile",
           "github.com/jackc/pgservicefile", "github.com/jackc/puddle/v2", "github.com/rs/zerolog",
           "github.com/mattn/go-colorable", "github.com/mattn/go-isatty", "github.com/prometheus/client_golang",
           "github.com/prometheus/client_model", "github.com/prometheus/common", "github.com/prometheus/procfs",
           "github.com/beorn7/perks", "github.com/cespare/xxhash/v2", "github.com/golang-jwt/jwt/v5",
           "github.com/google/uuid", "golang.org/x/crypto", "golang.org/x/sync", "golang.org/x/sys",
           "golang.org/x/text", "google.golang.org/protobuf", "gopkg.in/yaml.v3", "github.com/stretchr/testify",
           "github.com/davecgh/go-spew", "github.com/pmezard/go-difflib"]


def ver(r):
    return f"{r.randrange(0, 9)}.{r.randrange(0, 30)}.{r.randrange(0, 20)}"


def add(cx, path, build, **kw):
    if path in cx.files:
        return None
    return cx.add(File(path, build, **kw))


# ------------------------------------------------------------------------------------------ lockfiles


def lockfiles(cx):
    r, v = cx.r, cx.v
    n = min(len(NPM_PKGS), 40 * cx.scale)
    pkgs = {"": {"name": "acme-web", "version": "3.8.0", "dependencies": {"react": "^18.2.0", "axios": "^1.6.7"}}}
    for name in NPM_PKGS[:n]:
        vv = ver(r)
        sri = v.sri("sha512")
        pkgs[f"node_modules/{name}"] = {"version": vv, "resolved": f"https://registry.npmjs.org/{name}/-/{name}-{vv}.tgz",
                                        "integrity": M(sri, cx.decoy("integrity-hash", sri, note="npm lockfile"))}
        if r.random() < 0.3:
            pkgs[f"node_modules/{name}"]["license"] = "MIT"
    d = emit_json({"name": "acme-web", "version": "3.8.0", "lockfileVersion": 3, "requires": True, "packages": pkgs})
    add(cx, "services/web/package-lock.json", d, life=(3, INF))

    lines = Doc()
    for name in PY_PKGS[: min(len(PY_PKGS), 20 * cx.scale)]:
        vv = ver(r)
        lines.add(["[[package]]", f'name = "{name}"', f'version = "{vv}"', 'description = ""', "optional = false",
                   'python-versions = ">=3.8"', "files = ["])
        for whl in (f"{name.replace('-', '_')}-{vv}-py3-none-any.whl", f"{name}-{vv}.tar.gz"):
            h = v.sha256_hex()
            lines.add(f'    {{file = "{whl}", hash = "sha256:{h}"}},', cx.decoy("integrity-hash", h, note="poetry.lock"))
        lines.add(["]", ""])
    lines.add(["[metadata]", 'lock-version = "2.0"', 'python-versions = "^3.11"',
               f'content-hash = "{v.sha256_hex()}"'])
    lines.marks.append((len(lines.lines) - 1, cx.decoy("integrity-hash", "content-hash"), 1))
    add(cx, "services/billing/poetry.lock", lines)

    gs = Doc()
    for mod in GO_MODS[: min(len(GO_MODS), 18 * cx.scale)]:
        vv = "v" + ver(r)
        h1, h2 = b64(v.rbytes(32)), b64(v.rbytes(32))
        gs.add(f"{mod} {vv} h1:{h1}", cx.decoy("integrity-hash", h1, note="go.sum"))
        gs.add(f"{mod} {vv}/go.mod h1:{h2}", cx.decoy("integrity-hash", h2, note="go.sum"))
    add(cx, "services/gateway/go.sum", gs)

    tl = Doc()
    tl.add(["# This file is maintained automatically by \"terraform init\".", "# Manual edits may be lost in future updates.", ""])
    for prov in ("hashicorp/aws", "hashicorp/random", "hashicorp/google", "digitalocean/digitalocean"):
        tl.add([f'provider "registry.terraform.io/{prov}" {{', f'  version     = "{ver(r)}"', "  hashes = ["])
        h = b64(v.rbytes(32))
        tl.add(f'    "h1:{h}",', cx.decoy("checksum", h, note="terraform provider hash"))
        for _ in range(3):
            z = v.hexs(64)
            tl.add(f'    "zh:{z}",', cx.decoy("checksum", z, note="terraform provider hash"))
        tl.add(["  ]", "}", ""])
    add(cx, "infra/terraform/.terraform.lock.hcl", tl, life=(2, INF))

    pk = []
    for name in ["guzzlehttp/guzzle", "monolog/monolog", "symfony/console", "vlucas/phpdotenv", "stripe/stripe-php"]:
        ref, sha = v.git_sha(), v.hexs(40)
        pk.append({"name": name, "version": "v" + ver(r),
                   "source": {"type": "git", "url": f"https://github.com/{name}.git",
                              "reference": M(ref, cx.decoy("git-sha", ref, note="composer.lock"))},
                   "dist": {"type": "zip", "url": f"https://api.github.com/repos/{name}/zipball/{ref[:12]}",
                            "shasum": M(sha, cx.decoy("checksum", sha, note="composer.lock"))}})
    add(cx, "services/portal/composer.lock", emit_json({"_readme": ["This file locks the dependencies"],
                                                         "content-hash": v.hexs(32), "packages": pk}, indent=4))


# ------------------------------------------------------------------------------------ vendored code


def minified(cx, name: str, n_blobs: int, tracked=True):
    r, v = cx.r, cx.v
    d = Doc()
    d.add(f"/*! {name} v{ver(r)} | (c) Example Contributors | MIT License */")
    for _ in range(n_blobs):
        ident = lambda: "".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(r.randrange(1, 3)))  # noqa
        blob = b64(v.rbytes(r.choice([48, 64, 96, 120])))
        kind = r.randrange(3)
        if kind == 0:
            code = (f'!function(e,t){{"use strict";var {ident()}="{blob}",{ident()}=function(n){{return n.split("")'
                    f'.map(function(c){{return c.charCodeAt(0)^{r.randrange(7, 90)}}})}};e.{ident()}={ident()}}}'
                    f'(window,document);')
        elif kind == 1:
            code = (f'var {ident()}={{font:"data:font/woff2;base64,{blob}",k:"{v.hexs(40)}",'
                    f't:{r.randrange(100, 9999)}}};function {ident()}(a,b){{return a&&b?a[b]:void 0}}')
        else:
            code = (f'{ident()}.prototype.{ident()}=function(){{var h="{v.hexs(64)}",s="{blob}";'
                    f'return this.{ident()}(h,s)}};')
        d.add(code, cx.decoy("minified-js", blob, note=f"vendored {name}"))
    d.add("//# sourceMappingURL=" + name.replace(".js", ".js.map"))
    return d


def vendored(cx):
    r, f, _v = cx.r, cx.f, cx.v
    for name in ["chart.umd.min.js", "analytics-sdk.min.js", "editor.bundle.min.js"]:
        add(cx, f"services/web/static/vendor/{name}", minified(cx, name, 4 + 2 * cx.scale), life=(3, INF))
    for mod, fname in [("github.com/acme-oss/retry", "retry.go"), ("github.com/acme-oss/retry", "backoff.go"),
                       ("github.com/rs/zerolog", "log.go")]:
        add(cx, f"services/gateway/vendor/{mod}/{fname}", Doc().add(f.go_file(fname[:-3], 3)))
    add(cx, "services/gateway/vendor/modules.txt",
        Doc().add([f"# {m} v{ver(r)}\n## explicit; go 1.21\n{m}" for m in GO_MODS[:6]]))
    for p in ["guzzlehttp/guzzle/src/Client.php", "monolog/monolog/src/Monolog/Logger.php"]:
        lines = ["<?php", "", "namespace Vendor;", ""] + sum((f.php_function() for _ in range(3)), [])
        add(cx, f"services/portal/vendor/{p}", Doc().add(lines))
    # untracked node_modules in the developer's working copy (git-ignored)
    for name in ["left-pad", "ms", "debug"]:
        add(cx, f"services/web/node_modules/{name}/index.js",
            Doc().add(["'use strict';", "module.exports = function (str, len, ch) {", "  str = String(str);",
                       "  ch = ch || ' ';", "  while (str.length < len) str = ch + str;", "  return str;", "};"]),
            tracked=False)
    for name in ["@acme-oss/sdk/dist/index.min.js", "chart.js/dist/chart.umd.js", "lottie-web/build/player/lottie.min.js"]:
        add(cx, f"services/web/node_modules/{name}", minified(cx, name.rsplit("/", 1)[-1], 3 + 2 * cx.scale),
            tracked=False)
    rd = Doc().add(["# aws-sdk-lite", "", "Configure credentials in the environment:", "", "```sh"])
    rd.add(f"export AWS_ACCESS_KEY_ID={AWS_EXAMPLE_ID}",
           cx.decoy("aws-example-key", AWS_EXAMPLE_ID, "aws", note="AWS documentation example in a vendored README"),
           0, 2)
    rd.add([f"export AWS_SECRET_ACCESS_KEY={AWS_EXAMPLE_SECRET}", "```"])
    add(cx, "services/web/node_modules/aws-sdk-lite/README.md", rd, tracked=False)
    # a vendored package's own test fixture key: debatable -> neutral
    key = cx.rsa(1024).pkcs1_pem()
    nd = Doc().add(key.split("\n"), cx.neutral("vendored-test-key", key, note="test fixture shipped inside a "
                                                                             "third-party package"), 0,
                   key.count("\n") + 1)
    add(cx, "services/web/node_modules/jws/test/fixtures/private.pem", nd, tracked=False)


# ----------------------------------------------------------------------------------- tests, fixtures


def tests(cx):
    r, v = cx.r, cx.v
    d = Doc()
    d.add(['"""Token validation must reject malformed and example credentials."""', "", "import pytest", "",
           "from app.security.tokens import looks_like_github_token, parse_jwt", ""])
    d.add(["", "@pytest.mark.parametrize(", '    "token",', "    ["])
    for _ in range(2 + cx.scale):
        bad = v.github(r.choice(["ghp_", "gho_", "ghs_"]), good=False)
        d.add(f'        "{bad}",', cx.decoy("github-bad-checksum", bad, "github",
                                           note="GitHub-format token with wrong CRC32: never issued"))
        d.add('        "ghp_short",')
    d.add(["    ],", ")", "def test_rejects_bad_checksum(token):", "    assert not looks_like_github_token(token)", ""])
    d.add(["", "def test_parses_documentation_example():"])
    d.add(f'    claims = parse_jwt("{JWT_IO_EXAMPLE}", verify=False)',
          cx.decoy("jwt-example", JWT_IO_EXAMPLE, "jwt", note="the jwt.io documentation example"))
    d.add(['    assert claims["name"] == "John Doe"', "", "", "def test_aws_example_keys_are_ignored():"])
    d.add(f'    creds = {{"aws_access_key_id": "{AWS_EXAMPLE_ID}",', cx.decoy("aws-example-key", AWS_EXAMPLE_SECRET,
                                                                            "aws", note="AWS documentation example"),
          0, 2)
    d.add([f'             "aws_secret_access_key": "{AWS_EXAMPLE_SECRET}"}}', "    assert not is_live(creds)", ""])
    add(cx, "services/billing/tests/test_token_validation.py", d)

    # more token-format tests in other languages: checksum-invalid look-alikes and documentation examples
    js = Doc().add(["import { describe, expect, it } from 'vitest';", "import { isGithubToken, decodeJwt } from "
                    "'../tokens';", "", "describe('isGithubToken', () => {"])
    for _ in range(1 + cx.scale):
        bad = v.github(r.choice(["ghp_", "gho_", "ghu_"]), good=False)
        js.add(f"  it('rejects a token whose checksum does not match', () => expect(isGithubToken('{bad}')).toBe(false));",
               cx.decoy("github-bad-checksum", bad, "github", note="CRC32 check digits wrong: never issued"))
        js.add("")
    js.add("  it('decodes the jwt.io example', () => {")
    js.add(f"    expect(decodeJwt('{JWT_IO_EXAMPLE}').name).toBe('John Doe');",
           cx.decoy("jwt-example", JWT_IO_EXAMPLE, "jwt", note="the jwt.io documentation example"))
    js.add(["  });", "});"])
    add(cx, "services/web/src/server/__tests__/tokens.test.ts", js, life=(3, INF))
    go = Doc().add(["package auth", "", 'import "testing"', "", "func TestRejectsBadChecksum(t *testing.T) {",
                    "	for _, tok := range []string{"])
    for _ in range(1 + cx.scale):
        bad = v.github(r.choice(["ghp_", "ghs_"]), good=False)
        go.add(f'		"{bad}",', cx.decoy("github-bad-checksum", bad, "github", note="CRC32 check digits wrong"))
        go.add('		"ghp_tooshort",')
    go.add(["	} {", "		if ValidGitHubToken(tok) {", '			t.Errorf("accepted %q", tok)', "		}", "	}", "}"])
    add(cx, "services/gateway/internal/auth/github_test.go", go)

    # a realistic private key used by the unit tests (debatable -> neutral)
    key = cx.rsa().pkcs1_pem()
    kd = Doc().add(key.split("\n"), cx.neutral("test-fixture-key", key, note="private key generated for unit tests "
                                                                           "(tests/fixtures)"), 0, key.count("\n") + 1)
    add(cx, "services/billing/tests/fixtures/test_signing_key.pem", kd)
    ec = ECKey(cx.kr).sec1_pem()
    gd = Doc().add(["package auth", "", "// testKey is used only by the unit tests below.", "const testKey = `" +
                    ec.split("\n")[0]])
    gd.mark(len(gd.lines) - 1, cx.neutral("test-fixture-key", ec, note="EC key in a _test.go file"), ec.count("\n") + 1)
    gd.add(ec.split("\n")[1:-1] + [ec.split("\n")[-1] + "`", "",
                                   "func TestSignVerify(t *testing.T) {", "\tk := mustParse(t, testKey)",
                                   "\tif _, err := sign(k, []byte(\"payload\")); err != nil {",
                                   "\t\tt.Fatal(err)", "\t}", "}"])
    add(cx, "services/gateway/internal/auth/jwt_test.go", gd)

    # a login test with a throwaway test-user password (debatable -> neutral)
    pw = cx.r.choice(["correct-horse-battery-staple", "Test1234!", "hunter2hunter2"])
    td = Doc().add(["import { render, screen } from '@testing-library/react';", "import userEvent from "
                    "'@testing-library/user-event';", "import { LoginForm } from '../LoginForm';", "",
                    "test('submits credentials', async () => {", "  render(<LoginForm onSubmit={submit} />);",
                    "  await userEvent.type(screen.getByLabelText('Email'), 'qa@example.com');"])
    td.add(f"  await userEvent.type(screen.getByLabelText('Password'), '{pw}');",
           cx.neutral("test-user-password", pw, note="password typed into a mocked form in a unit test"))
    td.add(["  expect(submit).toHaveBeenCalled();", "});"])
    add(cx, "services/web/src/components/__tests__/LoginForm.test.tsx", td, life=(3, INF))

    # fixtures with password hashes
    users = []
    for name in ["alice", "bob", "carol", "dave"][: 2 + cx.scale]:
        h = v.bcrypt()
        users.append({"id": v.uuid4(), "email": f"{name}@example.com",
                      "password_hash": M(h, cx.decoy("bcrypt-hash", h, "generic-password", note="fixture hash")),
                      "role": "member", "created_at": "2024-01-02T10:00:00Z"})
    add(cx, "services/billing/tests/fixtures/users.json", emit_json({"users": users}))


# --------------------------------------------------------------------------- certificates, public keys


def keys_and_certs(cx):
    _r, v = cx.r, cx.v
    ca = cx.rsa()
    cert = ca.certificate_pem(cx.kr, "Acme Internal Root CA", "Acme Corp", 2024)
    add(cx, "certs/ca.crt", Doc().add(cert.split("\n"), cx.decoy("certificate", cert, "private-key"), 0,
                                      cert.count("\n") + 1), life=(2, INF))
    leaf = cx.rsa()
    c2 = leaf.certificate_pem(cx.kr, "api.acme-corp.io", "Acme Corp", 2024)
    add(cx, "certs/api.acme-corp.io.crt", Doc().add(c2.split("\n"), cx.decoy("certificate", c2, "private-key"), 0,
                                                    c2.count("\n") + 1), life=(2, INF))
    pub = leaf.public_pem()
    add(cx, "services/gateway/keys/jwt-verify.pub.pem",
        Doc().add(pub.split("\n"), cx.decoy("public-key", pub, "private-key"), 0, pub.count("\n") + 1))
    ecp = ECKey(cx.kr).public_pem()
    jd = emit_json({"issuer": "https://auth.acme-corp.io/", "audience": "orders",
                    "verification_key": M(ecp, cx.decoy("public-key", ecp, "private-key", note="JSON-escaped public key"))})
    add(cx, "services/orders/config/jwt.json", jd)
    k = cx.rsa()
    _sec, pgp_pub = k.pgp_blocks("Acme Release Signing <release@acme-corp.io>", 1704700000)
    add(cx, "ops/release/signing-key.pub.asc", Doc().add(pgp_pub.split("\n"), cx.decoy("public-key", pgp_pub,
                                                                                       "private-key"), 0,
                                                         pgp_pub.count("\n") + 1), life=(2, INF))
    ak = Doc().add("# bastion access — public keys only")
    for who in ["dana", "marco", "priya", "tom"]:
        line = cx.rsa(1024).ssh_public_line(f"{who}@laptop") if who == "dana" else \
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + b64(v.rbytes(32))[1:] + f" {who}@laptop"
        ak.add("")
        ak.add(line, cx.decoy("public-key", line, "private-key", note="SSH public key"))
    add(cx, "ops/bastion/authorized_keys", ak, life=(2, INF))
    cm = emit_yaml({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "trust-bundle",
                                                                          "namespace": "production"},
                    "data": {"ca.crt": M(cert, cx.decoy("certificate", cert, "private-key", note="CA bundle"))}})
    add(cx, "deploy/k8s/ingress/trust-bundle.yaml", cm, life=(2, INF))


# ------------------------------------------------------------------------- templates and placeholders


def templates(cx):
    _r, _v = cx.r, cx.v
    d = Doc().add(["# Copy to .env and fill in real values. Never commit the real file.", ""])
    ex = [("DATABASE_URL", "postgresql://app:<password>@localhost:5432/app", "database"),
          ("STRIPE_SECRET_KEY", "sk_live_" + "x" * 24, "stripe"), ("SENDGRID_API_KEY", "SG.xxxxxxxx.yyyyyyyy", "sendgrid"),
          ("GITHUB_TOKEN", "<your-github-token>", "github"), ("AWS_ACCESS_KEY_ID", "AKIAXXXXXXXXXXXXXXXX", "aws"),
          ("AWS_SECRET_ACCESS_KEY", "YOUR_SECRET_ACCESS_KEY", "aws"), ("JWT_SECRET", "changeme", "generic-secret"),
          ("SMTP_PASSWORD", "", "generic-password"), ("OPENAI_API_KEY", "sk-...", "openai"),
          ("SLACK_BOT_TOKEN", "xoxb-your-token", "slack")]
    for k, val, like in ex:
        d.add(f"{k}={val}", cx.decoy("placeholder", val, like, note=".env.example"))
        d.add("")
    add(cx, ".env.example", d)
    # helm default values: empty / placeholder
    hv = emit_yaml({"replicaCount": 1, "image": {"repository": "registry.acme-corp.io/acme", "tag": "latest"},
                    "config": {"dbHost": "postgres", "dbUser": "app",
                               "dbPassword": M("", cx.decoy("placeholder", "", "generic-password",
                                                            note="empty default in chart values")),
                               "logLevel": "info",
                               "apiKey": M("changeme", cx.decoy("placeholder", "changeme", "generic-secret")),
                               "region": "us-east-1"}})
    add(cx, "deploy/helm/acme/values.yaml", hv, life=(2, INF))
    # k8s secret whose base64 data is a placeholder
    ph = b64(b"changeme")
    ks = emit_yaml({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "example-credentials"},
                    "type": "Opaque", "data": {"username": b64(b"admin"),
                                               "note": b64(b"replace before applying"),
                                               "password": M(ph, cx.decoy("placeholder", ph, "kubernetes",
                                                                          note="base64 of 'changeme'", tags=["base64"]))}})
    ph_item = ks.marks[0][1]
    ph_item.context = (ks.marks[0][0], len(ks.lines) - 1 - ks.marks[0][0])  # the whole example manifest
    add(cx, "deploy/k8s/examples/secret.example.yaml", ks, life=(2, INF))
    # configuration docs with placeholders and example values
    md = Doc().add(["# Configuration", "", "All services read their settings from environment variables.", "",
                    "| Variable | Example | Description |", "| --- | --- | --- |"])
    rows = [("STRIPE_SECRET_KEY", "sk_test_...", "stripe"), ("DB_PASSWORD", "<db-password>", "generic-password"),
            ("GITHUB_TOKEN", "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "github"),
            ("API_KEY", "YOUR_API_KEY_HERE", "generic-secret")]
    for var, exv, like in rows:
        md.add(f"| `{var}` | `{exv}` | {cx.f.sentence(6)} |", cx.decoy("placeholder", exv, like))
        md.add("| | | |")
    md.add(["", "Reading them in code:", "", "```python"])
    md.add('stripe.api_key = os.environ["STRIPE_SECRET_KEY"]', cx.decoy("env-reference", 'os.environ["STRIPE_SECRET_KEY"]',
                                                                        "stripe"))
    md.add(["", "```", "", "```js"])
    md.add("const token = process.env.GITHUB_TOKEN;", cx.decoy("env-reference", "process.env.GITHUB_TOKEN", "github"))
    md.add(["```", "", "For the JWT format see the example on jwt.io:", ""])
    md.add(f"    {JWT_IO_EXAMPLE}", cx.decoy("jwt-example", JWT_IO_EXAMPLE, "jwt"))
    md.add(["", "AWS documentation uses these example credentials:", "", "```ini", "[default]"])
    md.add(f"aws_access_key_id = {AWS_EXAMPLE_ID}", cx.decoy("aws-example-key", AWS_EXAMPLE_SECRET, "aws"), 0, 2)
    md.add([f"aws_secret_access_key = {AWS_EXAMPLE_SECRET}", "```", ""])
    add(cx, "docs/configuration.md", md)
    # code that reads passwords from somewhere else
    py = Doc().add(['"""Database access helpers."""', "", "import getpass", "import os", "", "import keyring", "",
                    "", "def connect(args):"])
    for expr, kind in [("args.password", "function-call"), ('keyring.get_password("acme-db", args.user)', "function-call"),
                       ("getpass.getpass(\"DB password: \")", "function-call"),
                       ('os.environ.get("DB_PASSWORD")', "env-reference"),
                       ('vault_client.secrets.kv.read_secret_version(path="db")["data"]["data"]["password"]',
                        "function-call")]:
        py.add(f"    password = {expr}", cx.decoy(kind, expr, "generic-password"))
        py.add("    if not password:")
        py.add("        password = None")
    py.add(["    return psycopg.connect(host=args.host, user=args.user, password=password)", "", "",
            "def check_password_strength(password: str) -> bool:", "    return len(password) >= PASSWORD_MIN_LENGTH", ""])
    py.add("PASSWORD_MIN_LENGTH = 12", cx.decoy("password-ui", "12", "generic-password"))
    add(cx, "services/billing/app/db_connect.py", py)
    # i18n strings
    i18n = {"login": {"email": "Email", "password": M("Password", cx.decoy("password-ui", "Password", "generic-password")),
                      "forgot": "Forgot your password?",
                      "passwordHint": M("At least 12 characters", cx.decoy("password-ui", "At least 12 characters",
                                                                           "generic-password")),
                      "submit": "Sign in"},
            "settings": {"apiKeys": M("API keys", cx.decoy("password-ui", "API keys", "generic-secret")),
                         "tokenCreated": "Token created",
                         "secretKeyLabel": M("Secret key", cx.decoy("password-ui", "Secret key", "generic-secret")),
                         "revoke": "Revoke"}}
    add(cx, "services/web/src/i18n/en.json", emit_json(i18n), life=(3, INF))


# ------------------------------------------------------------------------------------ encrypted values


def encrypted(cx):
    r, v = cx.r, cx.v
    hexlines = [v.hexs(80) for _ in range(6 + 2 * cx.scale)]
    vault = "$ANSIBLE_VAULT;1.1;AES256\n" + "\n".join(hexlines)
    add(cx, "deploy/ansible/group_vars/prod/vault.yml",
        Doc().add(vault.split("\n"), cx.decoy("encrypted-value", vault, "generic-password", note="ansible-vault file"),
                  0, len(hexlines) + 1), life=(2, INF))
    sops = {}
    for key in ["db_password", "stripe_secret_key", "jwt_secret", "smtp_password"]:
        val = f"ENC[AES256_GCM,data:{b64(v.rbytes(24))},iv:{b64(v.rbytes(32))},tag:{b64(v.rbytes(16))},type:str]"
        sops[key] = M(val, cx.decoy("encrypted-value", val, "generic-password", note="SOPS"))
        sops[key + "_rotated_at"] = "2024-02-01"
    mac = f"ENC[AES256_GCM,data:{b64(v.rbytes(32))},iv:{b64(v.rbytes(32))},tag:{b64(v.rbytes(16))},type:str]"
    age = "age1" + v.s("qpzry9x8gf2tvdw0s3jn54khce6mua7l", 58)
    sops["sops"] = {"age": [{"recipient": M(age, cx.decoy("public-key", age, "generic-secret", note="age recipient")),
                             "enc": "-----BEGIN AGE ENCRYPTED FILE-----\n" + "\n".join(
                                 b64(v.rbytes(48)) for _ in range(4)) + "\n-----END AGE ENCRYPTED FILE-----\n"}],
                    "lastmodified": "2024-03-01T10:00:00Z",
                    "mac": M(mac, cx.decoy("encrypted-value", mac, note="SOPS mac")), "version": "3.8.1"}
    add(cx, "deploy/secrets/prod.enc.yaml", emit_yaml(sops), life=(4, INF))
    enc = {}
    for key in ["DB_PASSWORD", "STRIPE_SECRET_KEY", "SENDGRID_API_KEY"]:
        val = "Ag" + b64(v.rbytes(r.choice([300, 360])))
        enc[key] = M(val, cx.decoy("encrypted-value", val, "generic-secret", note="Bitnami sealed secret"))
    ss = {"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
          "metadata": {"name": "billing-credentials", "namespace": "production"},
          "spec": {"encryptedData": enc, "template": {"metadata": {"name": "billing-credentials"}}}}
    add(cx, "deploy/k8s/sealed/billing-sealedsecret.yaml", emit_yaml(ss), life=(4, INF))


# ------------------------------------------------------------------------------- build metadata, web


def metadata(cx):
    _r, v = cx.r, cx.v
    pc = {"repos": []}
    for repo, hooks in [("https://github.com/pre-commit/pre-commit-hooks", ["trailing-whitespace", "end-of-file-fixer"]),
                        ("https://github.com/astral-sh/ruff-pre-commit", ["ruff", "ruff-format"]),
                        ("https://github.com/Yelp/detect-secrets", ["detect-secrets"])]:
        sha = v.git_sha()
        pc["repos"].append({"repo": repo, "rev": M(sha, cx.decoy("git-sha", sha, note="pre-commit rev pin")),
                            "hooks": [{"id": h} for h in hooks]})
    add(cx, ".pre-commit-config.yaml", emit_yaml(pc))
    ch = Doc().add(["# Changelog", ""])
    for i in range(4 + 2 * cx.scale):
        sha = v.git_sha()
        ch.add([f"## 3.{8 - i // 2}.{i % 2} — 2024-0{1 + i % 4}-1{i % 9}", ""])
        ch.add(f"- {cx.f.sentence(8)} ([{sha[:7]}](https://github.com/acme-corp/platform/commit/{sha}))",
               cx.decoy("git-sha", sha, note="commit link in a changelog"))
        ch.add(["", f"- {cx.f.sentence(9)}", ""])
    add(cx, "CHANGELOG.md", ch, life=(7, INF))
    bi = v.uuid4()
    sha = v.git_sha()
    add(cx, "services/web/src/version.json", emit_json({"version": "3.8.0",
                                                         "commit": M(sha, cx.decoy("git-sha", sha)), "branch": "main",
                                                         "buildNumber": 1842, "builtAt": "2024-02-15T16:00:00Z",
                                                         "buildId": M(bi, cx.decoy("uuid", bi))}), life=(3, INF))
    cs = Doc()
    for fn in ["acme-cli-linux-amd64.tar.gz", "acme-cli-darwin-arm64.tar.gz", "acme-cli-windows-amd64.zip"]:
        h = v.sha256_hex()
        cs.add(f"{h}  {fn}", cx.decoy("checksum", h, note="release checksums"))
    add(cx, "tools/release/SHA256SUMS", cs, life=(1, INF))
    # web assets
    png = v.png_base64(300)
    sri1, sri2 = v.sri("sha384"), v.sri("sha384")
    html = Doc().add(["<!doctype html>", '<html lang="en">', "<head>", '  <meta charset="utf-8">'])
    html.add(f'  <link rel="icon" href="data:image/png;base64,{png}">', cx.decoy("base64-image", png))
    html.add("  <title>Acme</title>")
    html.add(f'  <script src="https://cdn.jsdelivr.net/npm/chart.js@4.4.1/dist/chart.umd.min.js" integrity="{sri1}" '
             'crossorigin="anonymous"></script>', cx.decoy("integrity-hash", sri1, note="subresource integrity"))
    html.add('  <meta name="viewport" content="width=device-width, initial-scale=1">')
    html.add(f'  <link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/normalize.css@8/normalize.min.css" '
             f'integrity="{sri2}" crossorigin="anonymous">', cx.decoy("integrity-hash", sri2))
    html.add(["</head>", "<body>", '  <div id="root"></div>', '  <script type="module" src="/src/main.tsx"></script>',
              "</body>", "</html>"])
    add(cx, "services/web/public/index.html", html, life=(3, INF))
    css = Doc().add([".logo {", "  width: 32px;", "  height: 32px;"])
    png2 = v.png_base64(500)
    css.add(f"  background-image: url(\"data:image/png;base64,{png2}\");", cx.decoy("base64-image", png2))
    css.add(["}", "", ".btn-primary {", "  background: #1f6feb;", "  color: #fff;", "}"])
    add(cx, "services/web/src/styles/main.css", css, life=(3, INF))
    # Stripe object ids and public DSN in frontend code
    fe = Doc().add(["import * as Sentry from '@sentry/react';", "import { loadStripe } from '@stripe/stripe-js';", ""])
    dsn = f"https://{v.hexs(32)}@o{v.digits(6)}.ingest.sentry.io/{v.digits(7)}"
    fe.add(f"Sentry.init({{ dsn: '{dsn}', tracesSampleRate: 0.1 }});",
           cx.decoy("publishable-key", dsn, "sentry", note="public Sentry DSN in browser code"))
    fe.add("")
    pk = "pk_live_51" + v.with_mixed("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 97)
    fe.add(f"export const stripePromise = loadStripe('{pk}');",
           cx.decoy("publishable-key", pk, "stripe", note="Stripe publishable key in browser code"))
    fe.add("")
    price = "price_1" + v.with_mixed("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 23)
    fe.add(f"export const PRO_PLAN_PRICE_ID = '{price}';", cx.decoy("random-id", price, "stripe"))
    fe.add("")
    ga = "G-" + v.s("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 10)
    fe.add(f"export const GA_MEASUREMENT_ID = '{ga}';", cx.decoy("random-id", ga))
    add(cx, "services/web/src/lib/vendors.ts", fe, life=(3, INF))
    # csproj / sln with GUIDs
    g1, g2 = v.uuid4().upper(), v.uuid4().upper()
    sln = Doc().add(["Microsoft Visual Studio Solution File, Format Version 12.00", "# Visual Studio Version 17"])
    sln.add(f'Project("{{9A19103F-16F7-4668-BE54-9A1E7A4F7556}}") = "Reporting.Api", '
            f'"src\\Reporting.Api\\Reporting.Api.csproj", "{{{g1}}}"', cx.decoy("uuid", g1))
    sln.add("EndProject")
    sln.add(f'Project("{{9A19103F-16F7-4668-BE54-9A1E7A4F7556}}") = "Reporting.Worker", '
            f'"src\\Reporting.Worker\\Reporting.Worker.csproj", "{{{g2}}}"', cx.decoy("uuid", g2))
    sln.add("EndProject")
    add(cx, "services/reporting/Reporting.sln", sln, eol="\r\n", bom=True, life=(5, INF))


def add_all(cx):
    lockfiles(cx)
    vendored(cx)
    tests(cx)
    keys_and_certs(cx)
    templates(cx)
    encrypted(cx)
    metadata(cx)
