#!/usr/bin/env python3
"""Generate the labelled accuracy corpus for leakstop: a realistic monorepo with git history,
planted secrets of many kinds, hard decoys, and a labels file.

    python generate.py --out DIR [--seed N] [--scale N] [--force]

Writes DIR (a git repository plus an untracked node_modules/) and DIR.labels.json next to it.
Deterministic: the same seed and scale give a byte-identical working tree, identical commit ids
and an identical labels file.  Standard library only (plus the ``git`` command).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from corpus_core import (HEAD, INF, Doc, File, Item, M, build_labels, check_separation,  # noqa: E402
                         emit_json, emit_yaml, render_and_commit)
from filler import NOUNS, Filler, camel, pascal, snake  # noqa: E402
from secretgen import (ECKey, Ed25519Key, RSAKey, Values, b64)  # noqa: E402

AWS_EXAMPLE_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
JWT_IO_EXAMPLE = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0Ij"
                  "oxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def scream(w):
    return "_".join(x.upper() for x in w)


def kebab(w):
    return "-".join(x.lower() for x in w)


# ================================================================================================
# specs: what gets planted where


class Ref:
    """A value read from somewhere else (environment, function, template); rendered per style."""

    def __init__(self, how: str):
        self.how = how  # 'env' | 'func' | 'template'


class Spec:
    """One planted item and the assignment(s) that carry it.

    entries: list of (words, value) where value is a str literal or a Ref.
    life: commits [start, end) in which the item is present; at and after ``end`` the entries are
    replaced by ``after`` (a Ref, rendered as a labelled env-reference decoy) or removed (None).
    """

    def __init__(self, item: Item, entries, life=(0, INF), after: Ref | None = None, meta=None):
        self.item = item
        self.entries = entries
        self.life = life
        self.after = after
        self.meta = meta or {}
        self.after_item: Item | None = None

    def state(self, c: int) -> str:
        if c < self.life[0]:
            return "absent"
        if c < self.life[1]:
            return "present"
        return "after" if self.after is not None else "absent"

    @property
    def is_secret(self):
        return self.item.category == "secret"


# ================================================================================================
# styles: how an assignment is written in each language


class Style:
    cmt = "#"
    q = '"'

    def name(self, w):
        return scream(w)

    def lit(self, w, v: str) -> str:
        return f"{self.name(w)} = {self.q}{v}{self.q}"

    def expr(self, w, how: str) -> str:
        raise NotImplementedError

    def ref(self, w, how: str) -> str:
        return f"{self.name(w)} = {self.expr(w, how)}"

    def multi(self, w, v: str):
        """Multi-line literal: returns (lines, index of first value line, tags)."""
        esc = v.replace("\n", "\\n")
        return [self.lit(w, esc)], 0, ["escaped-newlines"]

    def comment(self, text: str) -> str:
        return f"{self.cmt} {text}"


class Py(Style):
    def expr(self, w, how):
        n = scream(w)
        return {"env": f'os.environ["{n}"]', "func": f'get_secret("{kebab(w)}")',
                "template": f'os.getenv("{n}", "")'}[how]

    def multi(self, w, v):
        lines = v.split("\n")
        return [f'{self.name(w)} = """{lines[0]}', *lines[1:-1], f'{lines[-1]}"""'], 0, ["multiline"]


class Js(Style):
    cmt = "//"
    q = "'"

    def name(self, w):
        return camel(w)

    def lit(self, w, v):
        return f"const {self.name(w)} = {self.q}{v}{self.q};"

    def ref(self, w, how):
        return f"const {self.name(w)} = {self.expr(w, how)};"

    def expr(self, w, how):
        return {"env": f"process.env.{scream(w)}", "func": f"await secrets.get('{kebab(w)}')",
                "template": f"process.env.{scream(w)} ?? ''"}[how]

    def multi(self, w, v):
        lines = v.split("\n")
        return [f"const {self.name(w)} = `{lines[0]}", *lines[1:-1], f"{lines[-1]}`;"], 0, ["multiline"]


class Go(Style):
    cmt = "//"

    def name(self, w):
        return camel(w)

    def lit(self, w, v):
        return f'\t{self.name(w)} = "{v}"'

    def ref(self, w, how):
        return f"\t{self.name(w)} = {self.expr(w, how)}"

    def expr(self, w, how):
        return {"env": f'os.Getenv("{scream(w)}")', "func": f'vault.MustRead("secret/data/{kebab(w)}")',
                "template": f'os.Getenv("{scream(w)}")'}[how]

    def multi(self, w, v):
        lines = v.split("\n")
        return [f"\t{self.name(w)} = `{lines[0]}", *lines[1:-1], f"{lines[-1]}`"], 0, ["multiline"]


class Java(Style):
    cmt = "//"

    def lit(self, w, v):
        return f'    private static final String {self.name(w)} = "{v}";'

    def ref(self, w, how):
        return f"    private static final String {self.name(w)} = {self.expr(w, how)};"

    def expr(self, w, how):
        return {"env": f'System.getenv("{scream(w)}")', "func": f'secretClient.getSecret("{kebab(w)}").getValue()',
                "template": f'System.getProperty("{kebab(w)}")'}[how]


class Rb(Style):
    q = "'"

    def expr(self, w, how):
        return {"env": f"ENV.fetch('{scream(w)}')", "func": f"Rails.application.credentials.dig(:{snake(w)})",
                "template": f"ENV['{scream(w)}']"}[how]

    def multi(self, w, v):
        return [f"{self.name(w)} = <<~PEM", *["  " + x for x in v.split("\n")], "PEM"], 1, ["multiline"]


class Php(Style):
    cmt = "//"
    q = "'"

    def lit(self, w, v):
        return f"define('{self.name(w)}', '{v}');"

    def ref(self, w, how):
        return f"define('{self.name(w)}', {self.expr(w, how)});"

    def expr(self, w, how):
        return {"env": f"getenv('{scream(w)}')", "func": f"$secrets->get('{kebab(w)}')",
                "template": f"$_ENV['{scream(w)}'] ?? ''"}[how]


class Cs(Style):
    cmt = "//"

    def name(self, w):
        return pascal(w)

    def lit(self, w, v):
        return f'        private const string {self.name(w)} = "{v}";'

    def ref(self, w, how):
        return f"        private static readonly string {self.name(w)} = {self.expr(w, how)};"

    def expr(self, w, how):
        return {"env": f'Environment.GetEnvironmentVariable("{scream(w)}")',
                "func": f'_configuration["{pascal(w)}"]', "template": f'_configuration["{pascal(w)}"]'}[how]


class Sh(Style):
    def lit(self, w, v):
        if "$" in v or '"' in v:
            return f"export {self.name(w)}='{v}'"
        return f'export {self.name(w)}="{v}"'

    def ref(self, w, how):
        return f"export {self.name(w)}={self.expr(w, how)}"

    def expr(self, w, how):
        return {"env": f'"${{{scream(w)}:?{scream(w)} must be set}}"',
                "func": f'"$(vault kv get -field=value secret/{kebab(w)})"',
                "template": f'"${{{scream(w)}}}"'}[how]

    def multi(self, w, v):
        return [f"{self.name(w)}='{v.split(chr(10))[0]}", *v.split("\n")[1:-1], f"{v.split(chr(10))[-1]}'"], 0, \
            ["multiline"]


class Ps1(Style):
    def lit(self, w, v):
        return f'$env:{self.name(w)} = "{v}"'

    def ref(self, w, how):
        return f"$env:{self.name(w)} = {self.expr(w, how)}"

    def expr(self, w, how):
        return {"env": f"[Environment]::GetEnvironmentVariable('{scream(w)}', 'Machine')",
                "func": f"(Get-Secret -Name '{kebab(w)}' -AsPlainText)",
                "template": f"'#{{{pascal(w)}}}#'"}[how]


class Env(Style):
    def lit(self, w, v):
        if any(ch in v for ch in '"$'):
            return f"{self.name(w)}='{v}'"
        if any(ch in v for ch in " #'") or v == "":
            return f'{self.name(w)}="{v}"'
        return f"{self.name(w)}={v}"

    def ref(self, w, how):
        return f"{self.name(w)}={self.expr(w, how)}"

    def expr(self, w, how):
        return {"env": f"${{{scream(w)}}}", "func": f"${{VAULT_{scream(w)}}}", "template": f"${{{scream(w)}}}"}[how]

    def multi(self, w, v):
        return [f'{self.name(w)}="{v.replace(chr(10), chr(92) + "n")}"'], 0, ["escaped-newlines"]


class Properties(Style):
    def __init__(self, prefix="acme"):
        self.prefix = prefix

    def name(self, w):
        return f"{self.prefix}.{kebab(w)}"

    def lit(self, w, v):
        return f"{self.name(w)}={v}"

    def ref(self, w, how):
        return f"{self.name(w)}={self.expr(w, how)}"

    def expr(self, w, how):
        return {"env": f"${{{scream(w)}}}", "func": f"${{vault.{kebab(w)}}}", "template": f"${{{scream(w)}:}}"}[how]


class Ini(Style):
    def name(self, w):
        return snake(w)

    def lit(self, w, v):
        return f"{self.name(w)} = {v}"

    def ref(self, w, how):
        return f"{self.name(w)} = {self.expr(w, how)}"

    def expr(self, w, how):
        return {"env": f"${{{scream(w)}}}", "func": f"%({snake(w)})s", "template": f"%({snake(w)})s"}[how]


class Toml(Ini):
    def lit(self, w, v):
        return f'{self.name(w)} = "{v}"'

    def ref(self, w, how):
        return f'{self.name(w)} = "{self.expr(w, how)}"'

    def expr(self, w, how):
        return f"${{{scream(w)}}}"

    def multi(self, w, v):
        return [f'{self.name(w)} = """{v.split(chr(10))[0]}', *v.split("\n")[1:-1], f'{v.split(chr(10))[-1]}"""'], \
            0, ["multiline"]


class Tf(Style):
    def name(self, w):
        return snake(w)

    def lit(self, w, v):
        return f'  {self.name(w)} = "{v}"'

    def ref(self, w, how):
        return f"  {self.name(w)} = {self.expr(w, how)}"

    def expr(self, w, how):
        return {"env": f"var.{snake(w)}", "func": f"data.vault_generic_secret.{snake(w)}.data[\"value\"]",
                "template": f"var.{snake(w)}"}[how]

    def multi(self, w, v):
        return [f"  {self.name(w)} = <<-EOT", *["    " + x for x in v.split("\n")], "  EOT"], 1, ["heredoc"]


class Tfvars(Tf):
    def lit(self, w, v):
        return f'{self.name(w)} = "{v}"'


class Dockerfile(Style):
    def lit(self, w, v):
        return f"ENV {self.name(w)}={v}" if " " not in v else f'ENV {self.name(w)}="{v}"'

    def ref(self, w, how):
        return f"ARG {self.name(w)}"

    def expr(self, w, how):
        return f"${{{self.name(w)}}}"


STYLES = {"py": Py(), "ipynb": Py(), "js": Js(), "ts": Js(), "go": Go(), "java": Java(), "rb": Rb(), "php": Php(),
          "cs": Cs(), "sh": Sh(), "ps1": Ps1(), "env": Env(), "properties": Properties(), "ini": Ini(),
          "cfg": Ini(), "toml": Toml(), "tf": Tf(), "tfvars": Tfvars(), "dockerfile": Dockerfile(), "md": Sh()}


def render_entries(style: Style, spec: Spec):
    """Render a spec's entries; returns (lines, at, span, tags)."""
    lines: list[str] = []
    at = None
    last_end = 0
    tags: list[str] = []
    for w, v in spec.entries:
        if isinstance(v, Ref):
            lines.append(style.ref(w, v.how))
            if at is None:
                at = len(lines) - 1
            last_end = len(lines) - 1
        elif "\n" in v:
            ls, a, t = style.multi(w, v)
            if at is None:
                at = len(lines) + a
            last_end = len(lines) + a + v.count("\n") if len(ls) > 1 else len(lines) + a
            lines += ls
            tags += t
        else:
            lines.append(style.lit(w, v))
            if at is None:
                at = len(lines) - 1
            last_end = len(lines) - 1
    return lines, at, last_end - at + 1, tags


# ================================================================================================
# the corpus


AREAS = {  # path prefix -> commit at which the area appears
    "services/billing": 0, "services/gateway": 0, "services/portal": 0, "services/orders": 0,
    "services/notifier": 1, "deploy": 2, "infra": 2, "scripts": 2, ".github": 2, "services/web": 3,
    "config": 0, "logs": 3, "services/reporting": 5, "notebooks": 5, "db": 5, "docs": 0, "tools": 1,
    "certs": 2, "ops": 2, "tests": 0,
}


def area_start(path: str) -> int:
    best, n = 0, -1
    for pre, c in AREAS.items():
        if path.startswith(pre) and len(pre) > n:
            best, n = c, len(pre)
    return best


class Corpus:
    def __init__(self, seed: int, scale: int):
        self.seed = seed
        self.scale = scale
        self.r = random.Random(f"leakstop-accuracy:{seed}:plan")
        self.v = Values(random.Random(f"leakstop-accuracy:{seed}:values"))
        self.f = Filler(random.Random(f"leakstop-accuracy:{seed}:filler"))
        self.kr = random.Random(f"leakstop-accuracy:{seed}:keys")
        self.files: dict[str, File] = {}
        self.items: list[Item] = []
        self._rsa_pool: list[RSAKey] = []

    # items ---------------------------------------------------------------------------------------
    def item(self, category, kind, subkind, value, **kw) -> Item:
        it = Item(category, kind, subkind, value, **kw)
        self.items.append(it)
        return it

    def secret(self, kind, subkind, value, **kw):
        return self.item("secret", kind, subkind, value, **kw)

    def decoy(self, kind, value, looks_like="generic-secret", note="", **kw):
        return self.item("decoy", kind, kind, value, looks_like=looks_like, note=note, **kw)

    def neutral(self, kind, value, note="", **kw):
        return self.item("neutral", kind, kind, value, note=note, **kw)

    # files ---------------------------------------------------------------------------------------
    def add(self, f: File) -> File:
        if f.path in self.files:
            raise ValueError(f"duplicate path {f.path}")
        self.files[f.path] = f
        return f

    def free_path(self, candidates: list[str], fallback: str) -> str:
        for p in candidates:
            if p not in self.files:
                return p
        d, _, base = fallback.rpartition("/")
        stem, dot, ext = base.rpartition(".")
        if dot and stem and not base.startswith("."):
            for noun in NOUNS:  # a natural-looking sibling name before numbered ones
                p = f"{d}/{noun}.{ext}" if d else f"{noun}.{ext}"
                if p not in self.files:
                    return p
        i = 2
        while True:
            root, dot, ext = fallback.rpartition(".")
            if not dot or "/" in ext or not root or root.endswith("/"):
                p = f"{fallback}.{i}"
            else:
                p = f"{root}_{i}.{ext}"
            if p not in self.files:
                return p
            i += 1

    def rsa(self, bits: int = 2048) -> RSAKey:
        return RSAKey(self.kr, bits)

    # history ---------------------------------------------------------------------------------------
    def history_life(self, file_start: int, p_history: float = 0.16, p_late: float = 0.08):
        """Choose a spec's lifetime within a file that appears at ``file_start``."""
        x = self.r.random()
        if x < p_history and file_start < 6:
            ends = [e for e in (4, 6) if e > file_start]
            e = self.r.choice(ends)
            s = self.r.randrange(file_start, e)
            return (s, e)
        if x < p_history + p_late and file_start < HEAD - 1:
            return (self.r.randrange(file_start + 1, HEAD), INF)
        return (file_start, INF)


# ================================================================================================
# word lists


PW_WORDS = [["db", "password"], ["database", "password"], ["smtp", "password"], ["redis", "password"],
            ["admin", "password"], ["ldap", "bind", "password"], ["rabbitmq", "password"], ["keystore", "password"],
            ["sftp", "password"], ["mysql", "root", "password"], ["db", "pass"], ["smtp", "pwd"], ["mail", "passwd"],
            ["report", "db", "password"], ["elastic", "password"], ["grafana", "admin", "password"],
            ["jenkins", "password"], ["ftp", "password"], ["replica", "password"], ["vpn", "psk"]]
SECRET_WORDS = [["jwt", "secret"], ["session", "secret"], ["secret", "key"], ["signing", "key"], ["encryption", "key"],
                ["internal", "api", "token"], ["webhook", "secret"], ["client", "secret"], ["api", "key"],
                ["hmac", "secret"], ["auth", "token"], ["service", "token"], ["partner", "api", "key"],
                ["oauth", "client", "secret"], ["cookie", "secret"], ["access", "token"], ["ingest", "token"]]
USERS = ["app", "billing", "orders_svc", "reporting", "etl", "admin", "deploy", "svc_portal", "analytics", "notifier"]
DB_HOSTS = ["db-prod-1.cluster-cx9k2.us-east-1.rds.amazonaws.com", "pg.internal.acme-corp.io", "10.20.4.17",
            "orders-db.prod.svc.cluster.local", "mysql-primary.acme-corp.internal", "reporting-db.acme-corp.io"]


# ================================================================================================
# secret makers: kind/subkind -> Spec pieces


def pick_pw(cx: Corpus) -> tuple[str, str]:
    if cx.r.random() < 0.5:
        return cx.v.human_password(), "human"
    return cx.v.random_password(), "random"


def make_secret(cx: Corpus, kind: str, sub: str, style: str):
    """Returns (entries, canonical_value, alts, tags, subkind)."""
    v, r = cx.v, cx.r
    ch = r.choice

    def one(words, val, canon=None, alts=(), tags=()):
        return [(words, val)], canon or val, list(alts), list(tags), sub

    if kind in ("kubernetes", "docker-auth"):  # filled in by build_spec
        return [(["value"], "")], "", [], [], sub
    if kind == "aws":
        if sub == "access-key":
            kid, sec = v.aws_key_id("AKIA"), v.aws_secret()
            if r.random() < 0.15 and style in ("env", "json", "yaml", "py"):
                blob = b64(f"[default]\naws_access_key_id = {kid}\naws_secret_access_key = {sec}\n".encode())
                return [(["aws", "credentials", "b64"], blob)], blob, [kid, sec], ["base64"], sub
            return ([(["aws", "access", "key", "id"], kid), (["aws", "secret", "access", "key"], sec)], sec, [kid],
                    [], sub)
        kid, sec, tok = v.aws_key_id("ASIA"), v.aws_secret(), v.aws_session_token()
        return ([(["aws", "access", "key", "id"], kid), (["aws", "secret", "access", "key"], sec),
                 (["aws", "session", "token"], tok)], sec, [kid, tok], [], sub)
    if kind == "gcp":
        if sub == "api-key":
            return one(ch([["google", "maps", "server", "key"], ["gcp", "api", "key"], ["translate", "api", "key"],
                           ["youtube", "data", "api", "key"]]), v.gcp_api_key())
        sa = gcp_sa(cx)
        return [(["google", "application", "credentials", "json"], sa["json"])], sa["key"], [sa["json"]], [], sub
    if kind == "azure":
        if sub == "storage-connection-string":
            key = v.azure_storage_key()
            acct = ch(["acmeprodstore", "acmereports", "acmebackups01", "acmeuploads"])
            cs = (f"DefaultEndpointsProtocol=https;AccountName={acct};AccountKey={key};"
                  "EndpointSuffix=core.windows.net")
            return one(["azure", "storage", "connection", "string"], cs, key, [cs])
        if sub == "storage-key":
            return one(["azure", "storage", "account", "key"], v.azure_storage_key())
        if sub == "sas-token":
            sig = v.azure_sas_sig()
            url = (f"https://acmereports.blob.core.windows.net/exports?sv=2022-11-02&ss=b&srt=co&sp=rwl"
                   f"&se=2026-12-31T23:59:59Z&st=2024-01-01T00:00:00Z&spr=https&sig={urllib.parse.quote(sig, safe='')}")
            return one(["azure", "blob", "sas", "url"], url, urllib.parse.quote(sig, safe=""), [url, sig])
        return one(ch([["azure", "client", "secret"], ["aad", "client", "secret"], ["arm", "client", "secret"]]),
                   v.azure_client_secret())
    if kind == "github":
        if sub == "fine-grained":
            tok = v.github_fine_grained()
        else:
            tok = v.github({"ghp": "ghp_", "gho": "gho_", "ghu": "ghu_", "ghs": "ghs_", "ghr": "ghr_"}[sub])
        words = ch([["github", "token"], ["gh", "token"], ["github", "pat"], ["gh", "api", "token"],
                    ["release", "bot", "token"]])
        if sub == "ghr":
            words = ["github", "refresh", "token"]
        if r.random() < 0.12 and style in ("env", "yaml", "py", "json"):
            enc = b64(tok.encode())
            return one(words + ["b64"], enc, enc, [tok], ["base64"])
        return one(words, tok)
    if kind == "gitlab":
        pre = {"glpat": "glpat-", "gldt": "gldt-", "glrt": "glrt-", "glptt": "glptt-"}[sub]
        return one({"glpat": ["gitlab", "token"], "gldt": ["gitlab", "deploy", "token"],
                    "glrt": ["runner", "token"], "glptt": ["trigger", "token"]}[sub], v.gitlab(pre))
    if kind == "slack":
        tok = v.slack(sub)
        words = {"bot": ["slack", "bot", "token"], "user": ["slack", "user", "token"], "app": ["slack", "app", "token"],
                 "webhook": ["slack", "webhook", "url"]}[sub]
        if sub == "bot" and r.random() < 0.3 and style in ("env", "yaml", "json"):
            enc = b64(tok.encode())
            return one(words + ["b64"], enc, enc, [tok], ["base64"])
        return one(words, tok)
    if kind == "stripe":
        tok = v.stripe(sub + "_") if sub != "whsec" else v.stripe("whsec_")
        words = {"sk_live": ch([["stripe", "secret", "key"], ["stripe", "api", "key"], ["payments", "stripe", "key"]]),
                 "sk_test": ["stripe", "secret", "key"], "rk_live": ["stripe", "restricted", "key"],
                 "whsec": ["stripe", "webhook", "secret"]}[sub]
        return one(words, tok)
    if kind == "twilio":
        if sub == "auth-token":
            return one(["twilio", "auth", "token"], v.twilio_auth_token())
        sid, sec = v.twilio_sid("SK"), v.twilio_api_secret()
        return [(["twilio", "api", "key"], sid), (["twilio", "api", "secret"], sec)], sec, [sid], [], sub
    if kind == "sendgrid":
        return one(ch([["sendgrid", "api", "key"], ["sendgrid", "key"], ["mail", "api", "key"]]), v.sendgrid())
    if kind == "mailgun":
        return one(["mailgun", "api", "key"], v.mailgun())
    if kind == "openai":
        return one(ch([["openai", "api", "key"], ["openai", "key"], ["llm", "api", "key"]]), v.openai(sub == "project"))
    if kind == "anthropic":
        return one(ch([["anthropic", "api", "key"], ["claude", "api", "key"]]), v.anthropic())
    if kind == "huggingface":
        return one(ch([["hf", "token"], ["huggingface", "token"], ["hugging", "face", "hub", "token"]]), v.huggingface())
    if kind == "npm":
        return one(["npm", "token"], v.npm())
    if kind == "pypi":
        return one(ch([["pypi", "token"], ["twine", "password"], ["pypi", "api", "token"]]), v.pypi())
    if kind == "dockerhub":
        return one(ch([["docker", "hub", "token"], ["dockerhub", "pat"], ["docker", "password"]]), v.dockerhub())
    if kind == "heroku":
        if sub == "api-key-v2":
            return one(["heroku", "api", "key"], v.heroku_v2())
        return one(["heroku", "api", "key"], v.uuid4())
    if kind == "digitalocean":
        return one(["digitalocean", "token"] if sub == "dop" else ["do", "oauth", "token"],
                   v.digitalocean("dop_v1_" if sub == "dop" else "doo_v1_"))
    if kind == "datadog":
        if sub == "api-key":
            return one(["dd", "api", "key"], v.datadog_api())
        api, app = v.datadog_api(), v.datadog_app()
        return [(["dd", "api", "key"], api), (["dd", "app", "key"], app)], app, [api], [], sub
    if kind == "newrelic":
        if sub == "user-key":
            return one(["new", "relic", "api", "key"], v.newrelic_user())
        return one(["new", "relic", "license", "key"], v.newrelic_license())
    if kind == "sentry":
        if sub == "org-token":
            return one(["sentry", "auth", "token"], v.sentry_org_token())
        if sub == "user-token":
            return one(["sentry", "auth", "token"], v.sentry_user_token())
        pub, sec = v.hexs(32), v.hexs(32)
        dsn = f"https://{pub}:{sec}@sentry.acme-corp.io/{r.randrange(2, 60)}"
        return one(["sentry", "dsn"], dsn, sec, [dsn])
    if kind == "shopify":
        return one(["shopify", "access", "token"] if sub == "shpat" else ["shopify", "shared", "secret"],
                   v.shopify(sub + "_"))
    if kind == "square":
        if sub == "access-token":
            return one(["square", "access", "token"], v.square_access())
        return one(["square", "oauth", "secret"], v.square_oauth_secret())
    if kind == "braintree":
        return one(["braintree", "access", "token"], v.braintree())
    if kind == "discord":
        if sub == "bot-token":
            return one(["discord", "bot", "token"], v.discord_bot())
        return one(["discord", "webhook", "url"], v.discord_webhook())
    if kind == "telegram":
        return one(ch([["telegram", "bot", "token"], ["tg", "bot", "token"]]), v.telegram())
    if kind == "private-key":
        pemtext = private_key_text(cx, sub)
        return one(ch([["tls", "private", "key"], ["signing", "private", "key"], ["private", "key"],
                       ["jwt", "private", "key"], ["ssh", "private", "key"]]), pemtext)
    if kind == "jwt":
        tok = v.jwt(ch(["svc-billing", "svc-orders", "ci-deployer", "reporting-export", "user:4821"]),
                    ch(["https://api.acme-corp.io", "orders", "billing-api"]))
        return one(ch([["api", "bearer", "token"], ["service", "jwt"], ["auth", "token"]]), tok)
    if kind == "database":
        return make_db(cx, sub, style)
    if kind == "basic-auth":
        user = ch(["deploy", "ci", "jenkins", "artifact-reader", "svc-build"])
        pw, flavor = pick_pw(cx)
        if sub == "header":
            enc = b64(f"{user}:{pw}".encode())
            return one(["authorization"], enc, enc, [pw, f"{user}:{pw}"], ["base64"])
        host = ch(["nexus.acme-corp.io/repository/pypi-internal/simple", "artifacts.acme-corp.io/api/npm/npm-internal",
                   "git.acme-corp.io/platform/deploy-config.git", "registry.acme-corp.io/v2"])
        url = f"https://{user}:{urllib.parse.quote(pw, safe='')}@{host}"
        tags = ["percent-encoded"] if urllib.parse.quote(pw, safe="") != pw else []
        return one(["index", "url"], url, urllib.parse.quote(pw, safe=""), [pw, url], tags)
    if kind == "generic-password":
        pw, flavor = pick_pw(cx)
        return [(ch(PW_WORDS), pw)], pw, [], [flavor], flavor
    if kind == "generic-secret":
        words = ch(SECRET_WORDS)
        if words == ["secret", "key"] and style == "py":
            val, sub2 = v.django_secret(), "django-secret-key"
        elif style == "env" and r.random() < 0.3:
            words, val, sub2 = ["app", "key"], "base64:" + b64(v.rbytes(32)), "laravel-app-key"
        elif style in ("yaml", "rb") and r.random() < 0.4:
            words, val, sub2 = ["secret", "key", "base"], v.hexs(128), "rails-secret-key-base"
        else:
            val, sub2 = v.generic_token(), "token"
        return [(words, val)], val, [], [], sub2
    raise ValueError(kind)


def make_db(cx: Corpus, sub: str, style: str):
    v, r = cx.v, cx.r
    user = r.choice(USERS)
    pw, flavor = pick_pw(cx)
    enc = urllib.parse.quote(pw, safe="")
    host = {"postgres-url": r.choice(["db-prod-1.cluster-cx9k2.us-east-1.rds.amazonaws.com", "pg.internal.acme-corp.io",
                                      "orders-db.prod.svc.cluster.local"]),
            "mysql-url": r.choice(["mysql-primary.acme-corp.internal", "portal-db.cluster-cx9k2.us-east-1.rds.amazonaws.com"]),
            "jdbc-url": r.choice(["pg.internal.acme-corp.io", "reporting-db.acme-corp.io"])}.get(sub, "")
    words = {"postgres-url": r.choice([["database", "url"], ["postgres", "dsn"], ["sqlalchemy", "database", "uri"]]),
             "mysql-url": ["mysql", "url"], "mongodb-url": ["mongodb", "uri"], "redis-url": ["redis", "url"],
             "amqp-url": r.choice([["broker", "url"], ["amqp", "url"], ["celery", "broker", "url"]]),
             "jdbc-url": ["jdbc", "url"]}.get(sub, ["database", "url"])
    dbname = r.choice(["billing", "orders", "portal", "reporting", "app_production"])
    tags = ["percent-encoded"] if enc != pw else []
    if sub == "postgres-url":
        url = f"postgresql://{user}:{enc}@{host}:5432/{dbname}?sslmode=require"
    elif sub == "mysql-url":
        url = f"mysql://{user}:{enc}@{host}:3306/{dbname}"
    elif sub == "mongodb-url":
        url = (f"mongodb+srv://{user}:{enc}@cluster0.{v.s('abcdefghijklmnopqrstuvwxyz0123456789', 5)}.mongodb.net/"
               f"{dbname}?retryWrites=true&w=majority")
    elif sub == "redis-url":
        url = f"rediss://default:{enc}@cache-prod.{v.s('abcdefghijklmnopqrstuvwxyz0123456789', 6)}.cache.amazonaws.com:6380/0"
    elif sub == "amqp-url":
        url = f"amqps://{user}:{enc}@rabbitmq.acme-corp.internal:5671/{dbname}"
    elif sub == "ado-connection-string":
        url = (f"Server=tcp:{r.choice(['acme-sql-prod.database.windows.net', 'sql01.acme-corp.internal'])},1433;"
               f"Initial Catalog={dbname};User ID={user};Password={pw};Encrypt=True;")
        return [(["connection", "string"], url)], pw, [url], [], sub
    else:  # jdbc
        url = f"jdbc:postgresql://{host}:5432/{dbname}?user={user}&password={enc}&ssl=true"
    return [(words, url)], enc, [url, pw] if enc != pw else [url], tags, sub


def gcp_sa(cx: Corpus) -> dict:
    v = cx.v
    key = cx.rsa()
    pk = key.pkcs8_pem() + "\n"
    project = cx.r.choice(["acme-prod-291804", "acme-data-platform", "acme-billing-prod", "acme-analytics-4471"])
    name = cx.r.choice(["terraform", "bq-export", "ci-deployer", "gcs-uploader", "reporting"])
    email = f"{name}@{project}.iam.gserviceaccount.com"
    obj = {"type": "service_account", "project_id": project, "private_key_id": v.hexs(40), "private_key": pk,
           "client_email": email, "client_id": v.digits(21), "auth_uri": "https://accounts.google.com/o/oauth2/auth",
           "token_uri": "https://oauth2.googleapis.com/token",
           "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
           "client_x509_cert_url": f"https://www.googleapis.com/robot/v1/metadata/x509/{urllib.parse.quote(email)}",
           "universe_domain": "googleapis.com"}
    return {"obj": obj, "key": pk, "json": json.dumps(obj, separators=(",", ":"))}


def private_key_text(cx: Corpus, sub: str) -> str:
    comment = cx.r.choice(["deploy@ci-runner", "ops@bastion-1", "release@build", "backup@db-host"])
    if sub == "rsa-pkcs1":
        return cx.rsa().pkcs1_pem()
    if sub == "pkcs8-rsa":
        return cx.rsa().pkcs8_pem()
    if sub == "ec":
        return ECKey(cx.kr).sec1_pem()
    if sub == "pkcs8-ec":
        return ECKey(cx.kr).pkcs8_pem()
    if sub == "openssh-ed25519":
        return Ed25519Key(cx.kr).openssh_private(cx.kr, comment)
    if sub == "openssh-rsa":
        return cx.rsa(3072).openssh_private(cx.kr, comment)
    if sub == "pgp":
        return cx.rsa().pgp_blocks("Acme Release Signing <release@acme-corp.io>", 1704700000)[0]
    if sub == "putty":
        return cx.rsa().putty_ppk(f"rsa-key-2024010{cx.r.randrange(1, 9)}")
    raise ValueError(sub)


# ================================================================================================
# decoy makers


# only unambiguous placeholders: a weak-but-real-looking value such as "secret" or "password" in a
# production config is not used, because an engineer could not tell it from a real weak password
PW_PLACEHOLDERS = ["<password>", "changeme", "REPLACE_ME", "insert-password-here", "<CHANGE_ME>", "TODO",
                   "<db-password>", "your-password-here", ""]
SECRET_PLACEHOLDERS = ["<your-api-key>", "YOUR_API_KEY_HERE", "xxxxxxxxxxxxxxxxxxxxxxxx", "your-secret-here",
                       "example-token", "your_token_here", "REPLACE_ME", "XXXXXXXX", "<redacted>", "TODO"]
LOOKALIKE_PLACEHOLDERS = [("sk_live_" + "x" * 24, "stripe", ["stripe", "secret", "key"]),
                          ("ghp_" + "X" * 36, "github", ["github", "token"]),
                          ("AKIAXXXXXXXXXXXXXXXX", "aws", ["aws", "access", "key", "id"]),
                          ("xoxb-your-slack-bot-token", "slack", ["slack", "bot", "token"]),
                          ("glpat-xxxxxxxxxxxxxxxxxxxx", "gitlab", ["gitlab", "token"]),
                          ("sk-...your-openai-key...", "openai", ["openai", "api", "key"]),
                          ("SG.xxxxxxxx.yyyyyyyy", "sendgrid", ["sendgrid", "api", "key"]),
                          ("hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "huggingface", ["hf", "token"])]
MASKED = ["********", "[REDACTED]", "***", "<hidden>", "••••••••", "****************"]


def decoy_specs(cx: Corpus, style: str, n: int) -> list[Spec]:
    """n decoys of distinct kinds for one file."""
    out, seen = [], set()
    for _ in range(n * 6):
        sp = decoy_spec(cx, style, _pick=True)
        key = sp.meta.get("decoy_choice")
        if key in seen:
            cx.items.remove(sp.item)
            continue
        seen.add(key)
        out.append(sp)
        if len(out) == n:
            break
    return out


def decoy_spec(cx: Corpus, style: str, want: str | None = None, _pick: bool = False) -> Spec:
    """A decoy appropriate for ``style``.  All are things a security engineer would not report."""
    r, _v = cx.r, cx.v
    code = style in ("py", "js", "ts", "go", "java", "rb", "php", "cs", "ipynb")
    options = ["placeholder", "lookalike", "env", "uuid", "git-sha", "checksum", "random-id", "masked",
               "aws-example", "publishable", "password-ui", "func"]
    if code:
        options += ["bcrypt", "hash-constant", "env", "func"]
    if style in ("properties", "ini", "cfg", "toml", "env"):
        options += ["template", "template", "encrypted"]
    if style in ("sh", "ps1", "md", "dockerfile"):
        options += ["env", "func"]
    kind = want or r.choice(options)
    sp = _decoy_spec(cx, style, kind)
    sp.meta["decoy_choice"] = kind
    return sp


def _decoy_spec(cx: Corpus, style: str, kind: str) -> Spec:
    r, v = cx.r, cx.v
    if kind == "placeholder":
        if r.random() < 0.5:
            w, val, like = r.choice(PW_WORDS), r.choice(PW_PLACEHOLDERS), "generic-password"
        else:
            w, val, like = r.choice(SECRET_WORDS), r.choice(SECRET_PLACEHOLDERS), "generic-secret"
        return Spec(cx.decoy("placeholder", val, like), [(w, val)])
    if kind == "lookalike":
        val, like, w = r.choice(LOOKALIKE_PLACEHOLDERS)
        return Spec(cx.decoy("placeholder", val, like), [(w, val)])
    if kind in ("env", "func", "template"):
        w = r.choice(PW_WORDS + SECRET_WORDS)
        name = {"env": "env-reference", "func": "function-call", "template": "template-variable"}[kind]
        st = STYLES.get(style)
        txt = st.expr(w, kind) if st else kind
        return Spec(cx.decoy(name, txt, "generic-password" if "pass" in "".join(w) else "generic-secret"),
                    [(w, Ref(kind))])
    if kind == "uuid":
        w = r.choice([["tenant", "id"], ["client", "id"], ["subscription", "id"], ["project", "id"],
                      ["correlation", "id"], ["app", "id"], ["workspace", "id"], ["key", "id"]])
        val = v.uuid4()
        return Spec(cx.decoy("uuid", val, "heroku" if r.random() < 0.2 else "generic-secret",
                             note="identifier, not a credential"), [(w, val)])
    if kind == "git-sha":
        val = v.git_sha()
        return Spec(cx.decoy("git-sha", val), [(r.choice([["build", "commit"], ["git", "sha"], ["release", "revision"],
                                                         ["source", "version"]]), val)])
    if kind == "checksum":
        val = v.sha256_hex()
        return Spec(cx.decoy("checksum", val), [(r.choice([["artifact", "sha256"], ["bundle", "checksum"],
                                                          ["installer", "sha256"], ["schema", "digest"]]), val)])
    if kind == "random-id":
        t = r.randrange(4)
        if t == 0:
            val, w = v.hexs(32), ["default", "trace", "id"]
        elif t == 1:
            val, w = "cus_" + v.with_mixed("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 14), \
                ["test", "customer", "id"]
        elif t == 2:
            val, w = "price_1" + v.with_mixed("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 23), \
                ["pro", "plan", "price", "id"]
        else:
            val, w = "ami-0" + v.hexs(16), ["base", "ami", "id"]
        return Spec(cx.decoy("random-id", val, "stripe" if val.startswith(("cus_", "price_")) else "generic-secret"),
                    [(w, val)])
    if kind == "masked":
        val = r.choice(MASKED)
        return Spec(cx.decoy("masked-value", val, "generic-password"), [(r.choice(PW_WORDS), val)])
    if kind == "aws-example":
        return Spec(cx.decoy("aws-example-key", AWS_EXAMPLE_SECRET, "aws", note="AWS documentation example"),
                    [(["aws", "access", "key", "id"], AWS_EXAMPLE_ID), (["aws", "secret", "access", "key"],
                                                                       AWS_EXAMPLE_SECRET)])
    if kind == "publishable":
        if r.random() < 0.6:
            val = r.choice(["pk_live_", "pk_test_"]) + "51" + v.with_mixed(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 97)
            return Spec(cx.decoy("publishable-key", val, "stripe", note="Stripe publishable keys are public by design"),
                        [(["stripe", "publishable", "key"], val)])
        val = f"https://{v.hexs(32)}@o{v.digits(6)}.ingest.sentry.io/{v.digits(7)}"
        return Spec(cx.decoy("publishable-key", val, "sentry", note="public Sentry DSN (no secret part)"),
                    [(["sentry", "dsn"], val)])
    if kind == "password-ui":
        t = r.randrange(4)
        if t == 0:
            return Spec(cx.decoy("password-ui", "/account/password/reset", "generic-password"),
                        [(["password", "reset", "path"], "/account/password/reset")])
        if t == 1:
            return Spec(cx.decoy("password-ui", "Enter your password", "generic-password"),
                        [(["password", "label"], "Enter your password")])
        if t == 2:
            val = "^(?=.*[A-Z])(?=.*[0-9])(?=.*[^A-Za-z0-9]).{12,}$"
            return Spec(cx.decoy("password-ui", val, "generic-password"), [(["password", "policy", "regex"], val)])
        return Spec(cx.decoy("password-ui", "password", "generic-password"), [(["password", "field", "name"],
                                                                                "password")])
    if kind == "github-bad-checksum":
        val = v.github(r.choice(["ghp_", "gho_", "ghs_"]), good=False)
        return Spec(cx.decoy("github-bad-checksum", val, "github",
                             note="GitHub-format token whose CRC32 check digits are wrong: never issued by GitHub"),
                    [(["invalid", "github", "token"], val)])
    if kind == "jwt-example":
        return Spec(cx.decoy("jwt-example", JWT_IO_EXAMPLE, "jwt", note="the jwt.io documentation example"),
                    [(["sample", "jwt"], JWT_IO_EXAMPLE)])
    if kind == "bcrypt":
        val = v.bcrypt()
        return Spec(cx.decoy("bcrypt-hash", val, "generic-password", note="password hash, not a credential"),
                    [(["admin", "password", "hash"], val)])
    if kind == "hash-constant":
        return Spec(cx.decoy("checksum", EMPTY_SHA256, note="sha256 of the empty string"),
                    [(["empty", "body", "sha256"], EMPTY_SHA256)])
    if kind == "encrypted":
        t = r.randrange(2)
        if t == 0:
            val = "ENC(" + b64(v.rbytes(r.choice([32, 48]))) + ")"
            note = "jasypt-encrypted value"
        else:
            val = f"ENC[AES256_GCM,data:{b64(v.rbytes(18))},iv:{b64(v.rbytes(32))},tag:{b64(v.rbytes(16))},type:str]"
            note = "SOPS-encrypted value"
        return Spec(cx.decoy("encrypted-value", val, "generic-password", note=note), [(r.choice(PW_WORDS), val)])
    raise ValueError(kind)


# ================================================================================================
# hosts: files that carry specs


def pre_render(cx: Corpus, style: Style, spec: Spec):
    """Pre-render a spec for a line-based style: (present_lines, at, span, after_lines)."""
    lines, at, span, tags = render_entries(style, spec)
    for t in tags:
        spec.item.add_tag(t)
    after_lines = None
    if spec.after is not None:
        w = spec.entries[-1][0]
        txt = style.expr(w, spec.after.how) if not isinstance(style, Dockerfile) else f"ARG {style.name(w)}"
        spec.after_item = cx.decoy("env-reference" if spec.after.how == "env" else "function-call", txt,
                                   spec.item.kind, note="replacement written when the secret was removed")
        after_lines = [style.ref(w, spec.after.how)]
    return lines, at, span, after_lines


def line_builder(header: list[str], blocks: list, footer: list[str]):
    """blocks: list of ('fill', lines) or ('spec', spec, lines, at, span, after_lines)."""

    def build(c: int) -> Doc:
        d = Doc()
        d.add(header) if header else None
        prev_spec = False
        for b in blocks:
            if b[0] == "fill":
                d.add(b[1])
                prev_spec = False
                continue
            _, spec, lines, at, span, after_lines = b
            st = spec.state(c)
            if st == "absent":
                continue
            if prev_spec:
                d.add("")
            if st == "present":
                d.add(lines, spec.item, at, span)
            else:
                d.add(after_lines, spec.after_item, 0, 1)
            prev_spec = True
        d.add(footer) if footer else None
        return d

    return build


def interleave(cx: Corpus, specs: list[Spec], fills: list[list[str]]) -> list:
    """Put specs between filler chunks, always separated by at least one blank/filler line."""
    r = cx.r
    blocks: list = []
    chunks = list(fills)
    order = list(specs)
    r.shuffle(order)
    for i, sp in enumerate(order):
        if chunks and (i == 0 or r.random() < 0.6):
            blocks.append(("fill", chunks.pop(0)))
        blocks.append(("spec", sp))
        blocks.append(("fill", [""]))
    for ch in chunks:
        blocks.append(("fill", ch))
    return blocks


def materialize(cx: Corpus, style: Style, blocks: list) -> list:
    out = []
    for b in blocks:
        if b[0] == "spec" and len(b) == 2:
            out.append(("spec", b[1], *pre_render(cx, style, b[1])))
        else:
            out.append(b)
    return out


# -------------------------------------------------------------------------------- code hosts

CODE_PATHS = {
    "py": ["services/billing/app/settings.py", "services/billing/app/config.py",
           "services/billing/app/clients/payments.py", "services/billing/app/clients/notify.py",
           "services/billing/app/integrations.py", "tools/rotate_keys.py", "services/billing/app/tasks/sync.py",
           "tools/backfill_invoices.py", "services/billing/app/clients/llm.py", "ops/monitoring/check_queues.py",
           "services/billing/app/exporters/s3_export.py", "tools/slack_digest.py", "services/billing/app/webhooks.py",
           "services/billing/scripts/seed_dev.py", "ops/chatops/bot.py", "tools/migrate_storage.py",
           "services/billing/app/clients/telegram_alerts.py", "tools/discord_release_bot.py",
           "services/billing/app/clients/square_pos.py", "ml/pipelines/embed_tickets.py", "tools/do_snapshots.py",
           "services/billing/app/clients/datadog_metrics.py", "ops/monitoring/sentry_hook.py"],
    "js": ["services/web/server/config.js", "services/web/server/integrations.js", "services/web/scripts/deploy.js",
           "services/web/server/mailer.js", "services/web/server/db.js", "services/web/scripts/seed.js",
           "services/web/server/chat.js", "services/web/server/payments.js"],
    "ts": ["services/web/src/server/config.ts", "services/web/src/server/ai.ts", "services/web/src/server/billing.ts",
           "services/web/src/lib/analytics.server.ts", "services/web/src/server/storage.ts"],
    "go": ["services/gateway/internal/config/defaults.go", "services/gateway/internal/auth/github.go",
           "services/gateway/cmd/gateway/main.go", "services/gateway/internal/payments/stripe.go",
           "services/gateway/internal/store/postgres.go", "services/gateway/internal/geo/maps.go"],
    "java": ["services/orders/src/main/java/com/acme/orders/config/IntegrationConfig.java",
             "services/orders/src/main/java/com/acme/orders/payments/StripeGateway.java",
             "services/orders/src/main/java/com/acme/orders/notify/SmsSender.java",
             "services/orders/src/main/java/com/acme/orders/pay/SquareClient.java",
             "services/orders/src/main/java/com/acme/orders/pay/BraintreeClient.java"],
    "rb": ["services/notifier/config/initializers/integrations.rb", "services/notifier/lib/slack_notifier.rb",
           "services/notifier/lib/mailer.rb", "services/notifier/lib/shopify_sync.rb",
           "services/notifier/config/initializers/github.rb", "services/notifier/lib/payments.rb"],
    "php": ["services/portal/config/services.php", "services/portal/src/Billing/StripeService.php",
            "services/portal/src/Mail/Mailer.php", "services/portal/config/database.php",
            "services/portal/src/Sms/TwilioSender.php", "services/portal/src/Shop/ShopifyClient.php"],
    "cs": ["services/reporting/src/Reporting.Api/Settings/Defaults.cs",
           "services/reporting/src/Reporting.Api/Storage/BlobExporter.cs",
           "services/reporting/src/Reporting.Api/Data/ReportingDbContext.cs",
           "services/reporting/src/Reporting.Api/Billing/StripeReports.cs",
           "services/reporting/src/Reporting.Api/Mail/SendGridMailer.cs"],
    "sh": ["scripts/deploy.sh", "scripts/backup_db.sh", "scripts/release.sh", "scripts/bootstrap_ci.sh",
           "scripts/publish_packages.sh", "scripts/rotate_certs.sh", "ops/runbooks/restore.sh", "scripts/sync_assets.sh",
           "scripts/notify_release.sh", "tools/gh_cleanup.sh", "scripts/trigger_pipeline.sh", "scripts/warm_cache.sh",
           "scripts/ml/download_models.sh", "ops/runbooks/failover.sh", "scripts/dev/setup_local.sh",
           "tools/import_customers.sh"],
}


def code_header(cx: Corpus, style_name: str, path: str) -> tuple[list[str], list[str], list[list[str]]]:
    f = cx.f
    n = cx.r.randrange(2, 5)
    if style_name in ("py",):
        return ([f'"""{f.sentence()}"""', "", "import os", "import logging", "", "from .vault import get_secret",
                 "", "logger = logging.getLogger(__name__)", ""], [], [[""] + f.py_function() for _ in range(n)])
    if style_name in ("js", "ts"):
        return (["'use strict';" if style_name == "js" else "import { secrets } from './secrets';",
                 "import { logger } from './logger';", ""], [], [f.js_function(style_name == "ts") for _ in range(n)])
    if style_name == "go":
        pkg = path.split("/")[-2]
        return ([f"package {pkg}", "", "import (", '\t"context"', '\t"fmt"', '\t"os"', '\t"time"', ")", "", "var ("],
                [")", ""] + sum((f.go_function() for _ in range(n)), []), [["\t// defaults for local runs"]])
    if style_name == "java":
        pkg = ".".join(path.split("/")[4:-1])
        cls = path.rsplit("/", 1)[-1][:-5]
        return ([f"package {pkg};", "", "import java.util.Optional;", "", f"public class {cls} {{", ""],
                sum((f.java_method() for _ in range(n)), []) + ["}"], [["    // integration settings"]])
    if style_name == "rb":
        return (["# frozen_string_literal: true", "", "module Acme", "  module Integrations"],
                ["  end", "end"], [["    " + x if x else x for x in f.ruby_method()] for _ in range(n)])
    if style_name == "php":
        return (["<?php", "", "declare(strict_types=1);", ""], [], [f.php_function() for _ in range(n)])
    if style_name == "cs":
        cls = path.rsplit("/", 1)[-1][:-3]
        return (["using System;", "using System.Threading;", "using System.Threading.Tasks;", "",
                 "namespace Acme.Reporting.Api", "{", f"    public class {cls}", "    {"],
                ["    }", "}"], [f.cs_method() for _ in range(n)])
    if style_name == "sh":
        return (["#!/usr/bin/env bash", "set -euo pipefail", "", f"# {f.sentence(9)}",
                 'NAMESPACE="${NAMESPACE:-production}"', ""], [], [f.sh_block() for _ in range(n)])
    if style_name == "ps1":
        return (["# Bootstrap a Windows build agent", "Set-StrictMode -Version Latest",
                 "$ErrorActionPreference = 'Stop'", ""],
                ["Write-Host 'Agent configured'"],
                [["Install-Module -Name Az.Accounts -Scope CurrentUser -Force",
                  "Connect-AzAccount -ServicePrincipal -Tenant $TenantId -Credential $cred", ""],
                 ["choco install -y git nodejs-lts dotnet-sdk", "refreshenv", ""]])
    raise ValueError(style_name)


def host_code(cx: Corpus, style_name: str, specs: list[Spec]) -> None:
    style = STYLES[style_name]
    r = cx.r
    i = 0
    while i < len(specs):
        group = specs[i:i + (2 if style_name == "ps1" else r.randrange(1, 4))]
        i += len(group)
        if style_name == "ps1":
            path = cx.free_path(["scripts/windows/bootstrap-agent.ps1", "scripts/windows/configure-reporting.ps1"],
                                "scripts/windows/setup.ps1")
        else:
            path = cx.free_path(CODE_PATHS[style_name], CODE_PATHS[style_name][0])
        start = area_start(path)
        decoys = decoy_specs(cx, style_name, r.randrange(1, 4))
        for sp in group + decoys:
            sp.life = cx.history_life(start) if sp.is_secret and sp.life == (0, INF) else (max(start, sp.life[0]),
                                                                                          sp.life[1])
            if sp.is_secret and sp.life[1] != INF:
                sp.after = Ref("env") if r.random() < 0.7 else None
        header, footer, fills = code_header(cx, style_name, path)
        if style_name in ("go", "java"):
            # declarations go in the var block / class head; functions come after
            blocks = [("fill", fills[0])] + interleave(cx, group + decoys, [])
        else:
            blocks = interleave(cx, group + decoys, fills)
        eol = "\r\n" if style_name in ("cs", "ps1") else "\n"
        bom = style_name == "cs" and r.random() < 0.5
        enc = "utf-16" if style_name == "ps1" else "utf-8"
        cx.add(File(path, line_builder(header, materialize(cx, style, blocks), footer), eol=eol, bom=bom,
                    encoding=enc, life=(start, INF)))


# ------------------------------------------------------------------------------- config hosts

CONFIG_PATHS = {
    "env": [".env", "services/billing/.env", "services/web/.env.production", "services/orders/.env",
            "deploy/compose/.env", "services/notifier/.env", "services/portal/.env", "services/gateway/.env.staging",
            "tools/.env", "services/reporting/.env",
            "services/web/server/.env", "deploy/.env.production", "services/billing/.env.staging",
            "services/orders/.env.production", "ops/monitoring/.env", "services/notifier/.env.production",
            "scripts/.env.deploy", "infra/.env", "services/gateway/.env", "notebooks/.env",
            "services/portal/.env.production", "tools/release/.env"],
    "properties": ["services/orders/src/main/resources/application-prod.properties",
                   "services/orders/src/main/resources/application.properties",
                   "services/orders/src/main/resources/integrations.properties", "config/legacy/batch.properties"],
    "ini": ["config/app.ini", "services/billing/alembic.ini", "config/reporting.ini", "tools/uploader.ini"],
    "cfg": ["services/billing/setup.cfg", "config/worker.cfg", "ops/monitoring/checks.cfg"],
    "toml": ["services/gateway/config.toml", "config/gitlab-runner/config.toml", "services/billing/pyproject.local.toml",
             "ops/deploy.toml", "tools/publish.toml"],
    "tf": ["infra/terraform/main.tf", "infra/terraform/providers.tf", "infra/terraform/modules/storage/main.tf",
           "infra/terraform/monitoring.tf", "infra/terraform/dns.tf", "infra/terraform/modules/db/main.tf"],
    "tfvars": ["infra/terraform/prod.tfvars", "infra/terraform/staging.tfvars", "infra/terraform/env/dr.tfvars"],
    "dockerfile": ["services/billing/Dockerfile", "services/web/Dockerfile", "services/gateway/Dockerfile",
                   "services/notifier/Dockerfile", "tools/Dockerfile.ci"],
}


def config_frame(cx: Corpus, style_name: str, path: str):
    f, r, _v = cx.f, cx.r, cx.v
    if style_name == "env":
        return [f"# {path.rsplit('/', 1)[-1]} — {f.sentence(6).lower()}"], [], [
            ["NODE_ENV=production", "LOG_LEVEL=info", f"PORT={r.choice([3000, 8000, 8080])}"],
            [f"API_BASE_URL=https://{r.choice(['api', 'orders', 'billing'])}.acme-corp.io", "FEATURE_NEW_CHECKOUT=true"],
            ["CACHE_TTL_SECONDS=300", "WORKERS=4"]]
    if style_name == "properties":
        return ["# Spring Boot configuration", "server.port=8080", "spring.application.name=orders"], [], [
            ["spring.jpa.hibernate.ddl-auto=validate", "spring.jpa.open-in-view=false"],
            ["management.endpoints.web.exposure.include=health,info,prometheus", "logging.level.com.acme=INFO"],
            ["acme.export.batch-size=500", "acme.export.cron=0 0 3 * * *"]]
    if style_name in ("ini", "cfg"):
        return ["[app]", "name = acme", "debug = false", ""], [], [
            ["[database]", f"host = {r.choice(DB_HOSTS)}", "port = 5432", "pool_size = 10"],
            ["[smtp]", "host = smtp.acme-corp.io", "port = 587", "use_tls = true"],
            ["[export]", "bucket = acme-reports", "region = us-east-1"]]
    if style_name == "toml":
        return ["# generated by ops/render-config", 'title = "acme"', ""], [], [
            ["[server]", 'listen = "0.0.0.0:8443"', 'read_timeout = "15s"'],
            ["[upstream]", 'url = "https://orders.internal.acme-corp.io"', "retries = 3"],
            ["[logging]", 'level = "info"', 'format = "json"']]
    if style_name in ("tf", "tfvars"):
        if style_name == "tfvars":
            return [f'environment = "{r.choice(["prod", "staging", "dr"])}"', 'region      = "us-east-1"', ""], [], [
                ['instance_type = "m6i.large"', "min_size      = 2", "max_size      = 6"],
                ['vpc_cidr = "10.40.0.0/16"']]
        return (['terraform {', '  required_version = ">= 1.5.0"', "}", "", 'provider "aws" {', '  region = var.region'],
                ["}", "", 'resource "aws_s3_bucket" "reports" {', '  bucket = "acme-reports-${var.environment}"', "}"],
                [['  default_tags {', '    tags = { team = "platform" }', '  }']])
    if style_name == "dockerfile":
        base = r.choice(["python:3.11-slim", "node:20-alpine", "golang:1.22-alpine", "ruby:3.3-slim"])
        return ([f"FROM {base}", "WORKDIR /app", ""],
                ["COPY . .", "RUN make build", 'CMD ["./entrypoint.sh"]'],
                [["RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \\",
                  "    && rm -rf /var/lib/apt/lists/*"], ["COPY requirements.txt package*.json ./"]])
    raise ValueError(style_name)


def host_config(cx: Corpus, style_name: str, specs: list[Spec]) -> None:
    style = STYLES[style_name]
    r = cx.r
    i = 0
    while i < len(specs):
        group = specs[i:i + r.randrange(1, 5)]
        i += len(group)
        path = cx.free_path(CONFIG_PATHS[style_name], CONFIG_PATHS[style_name][0])
        start = area_start(path)
        decoys = decoy_specs(cx, style_name, r.randrange(1, 4))
        for sp in group + decoys:
            if sp.is_secret:
                sp.life = cx.history_life(start)
                if sp.life[1] != INF:
                    sp.after = Ref("env") if (r.random() < 0.5 and style_name not in ("env",)) else None
            else:
                sp.life = (start, INF)
        header, footer, fills = config_frame(cx, style_name, path)
        if style_name == "tf":
            blocks = [("fill", fills[0])] + interleave(cx, group + decoys, [])
        else:
            blocks = interleave(cx, group + decoys, fills)
        eol = "\r\n" if (style_name in ("ini", "properties") and r.random() < 0.4) else "\n"
        cx.add(File(path, line_builder(header, materialize(cx, style, blocks), footer), eol=eol, life=(start, INF)))


# -------------------------------------------------------------------------------- yaml hosts


def yaml_value(spec: Spec, value):
    if isinstance(value, Ref):
        return "${" + scream(spec.entries[0][0]) + "}"
    return value


FILL_KEYS = [(["timeout", "seconds"], 30), (["enabled"], True), (["endpoint"], "https://api.acme-corp.io/v1"),
             (["max", "retries"], 3), (["region"], "us-east-1"), (["log", "level"], "info"), (["pool", "size"], 10),
             (["service", "user"], "svc_billing"), (["port"], 8080), (["queue", "name"], "billing-events"),
             (["cache", "ttl"], 300), (["base", "url"], "https://orders.acme-corp.io"), (["batch", "size"], 500),
             (["metrics", "enabled"], True), (["tracing", "sample", "rate"], 0.1), (["environment"], "production"),
             (["bucket", "name"], "acme-reports-prod"), (["worker", "count"], 4), (["tls", "enabled"], True),
             (["smtp", "host"], "smtp.acme-corp.io"), (["read", "timeout", "ms"], 5000), (["feature", "flags"], "new-checkout")]


def pick_fills(cx: Corpus, n: int):
    out = []
    while len(out) < n:
        out += cx.r.sample(FILL_KEYS, min(len(FILL_KEYS), n - len(out)))
    return out


def yaml_section_builder(cx: Corpus, specs: list[Spec], frame_fn, key_fn=snake, list_env=False):
    """Build a YAML file whose specs live in a dict ``slot`` produced by frame_fn(slot)."""
    r = cx.r
    order = list(specs)
    r.shuffle(order)
    kf = scream if list_env else key_fn
    fills = [(kf(w), val) for w, val in pick_fills(cx, len(order) + 1)]

    def build(c: int) -> Doc:
        slot: dict | list = [] if list_env else {}
        used = set()

        def put(k, val):
            if list_env:
                slot.append({"name": k, "value": val})
            else:
                kk = k
                n = 2
                while kk in used:
                    kk = f"{k}_{n}"
                    n += 1
                used.add(kk)
                slot[kk] = val

        for i, sp in enumerate(order):
            put(*fills[i])
            st = sp.state(c)
            if st == "absent":
                continue
            for j, (w, val) in enumerate(sp.entries):
                key = scream(w) if list_env else key_fn(w)
                if st == "after":
                    item = sp.after_item if j == 0 else None
                    put(key, M("${" + scream(w) + "}", item))
                elif isinstance(val, Ref):
                    put(key, M(yaml_value(sp, val), sp.item if j == 0 else None))
                else:
                    span = len(sp.entries) if j == 0 and len(sp.entries) > 1 else None
                    put(key, M(val, sp.item if j == 0 else None, span))
        put(*fills[-1])
        return frame_fn(slot)

    return build


def prep_specs(cx: Corpus, specs: list[Spec], start: int, p_history=0.16, after_ok=True):
    for sp in specs:
        if sp.is_secret:
            sp.life = cx.history_life(start, p_history)
            if sp.life[1] != INF and after_ok:
                sp.after = Ref("template") if cx.r.random() < 0.6 else None
        else:
            sp.life = (start, INF)
        if sp.after is not None and sp.after_item is None:
            w = sp.entries[0][0]
            sp.after_item = cx.decoy("template-variable", "${" + scream(w) + "}", sp.item.kind,
                                     note="replacement written when the secret was removed")
        if isinstance(sp.entries[0][1], Ref) and sp.item.category == "decoy":
            sp.item.value = "${" + scream(sp.entries[0][0]) + "}"
            sp.item.kind = sp.item.subkind = "template-variable"


def yaml_multiline_tags(specs):
    for sp in specs:
        if any(isinstance(v, str) and "\n" in v for _, v in sp.entries):
            sp.item.add_tag("yaml-block")


def host_yaml(cx: Corpus, specs: list[Spec]) -> None:
    r = cx.r
    paths = ["config/production.yaml", "services/billing/config/settings.prod.yml", "services/notifier/config/app.yml",
             "deploy/ansible/group_vars/prod/vars.yml", "services/gateway/config/gateway.yaml",
             "ops/monitoring/datadog.yaml", "config/integrations.yaml", "services/portal/config/parameters.yml"]
    i = 0
    while i < len(specs):
        group = specs[i:i + r.randrange(1, 4)]
        i += len(group)
        path = cx.free_path(paths, "config/extra.yaml")
        start = area_start(path)
        decoys = [decoy_spec(cx, "yaml", k) for k in r.sample(["placeholder", "template", "uuid", "encrypted",
                                                                 "masked", "checksum", "publishable"],
                                                                r.randrange(1, 4))]
        allspecs = group + decoys
        prep_specs(cx, allspecs, start)
        yaml_multiline_tags(allspecs)
        section = r.choice(["integrations", "credentials", "services", "secrets"])

        def frame(slot, section=section):
            return emit_yaml({"app": {"name": "acme", "env": "production", "port": 8080},
                              "logging": {"level": "info", "format": "json"}, section: slot,
                              "features": {"new_checkout": True, "async_export": False}})

        cx.add(File(path, yaml_section_builder(cx, allspecs, frame), life=(start, INF)))


def host_compose(cx: Corpus, specs: list[Spec]) -> None:
    r = cx.r
    paths = ["docker-compose.yml", "deploy/compose/docker-compose.prod.yml", "services/billing/docker-compose.yml",
             "deploy/compose/docker-compose.workers.yml"]
    i = 0
    while i < len(specs):
        group = specs[i:i + r.randrange(1, 4)]
        i += len(group)
        path = cx.free_path(paths, "deploy/compose/docker-compose.extra.yml")
        start = area_start(path)
        decoys = [decoy_spec(cx, "yaml", k) for k in r.sample(["template", "placeholder"], r.randrange(1, 3))]
        allspecs = group + decoys
        prep_specs(cx, allspecs, start)
        digest = "sha256:" + cx.v.hexs(64)
        dig_item = cx.decoy("docker-image-digest", digest, note="image digest pins a public image")
        svc = r.choice(["billing", "orders", "worker", "api"])
        local_pw = r.choice(["postgres", "root", "example", "secret"])
        neutral = cx.neutral("local-dev-default-password", local_pw,
                             note="default password of a throwaway local container (docker-compose for dev)")

        def frame(slot, svc=svc, digest=digest, dig_item=dig_item, local_pw=local_pw, neutral=neutral):
            return emit_yaml({"services": {
                svc: {"image": f"registry.acme-corp.io/{svc}:1.14.2", "restart": "unless-stopped",
                      "environment": slot, "ports": ["8080:8080"], "depends_on": ["db", "cache"]},
                "cache": {"image": M(f"redis@{digest}", dig_item)},
                "db": {"image": "postgres:16-alpine",
                       "environment": {"POSTGRES_DB": "app", "POSTGRES_USER": "app",
                                       "POSTGRES_PASSWORD": M(local_pw, neutral)},
                       "volumes": ["pgdata:/var/lib/postgresql/data"]}},
                "volumes": {"pgdata": {}}})

        cx.add(File(path, yaml_section_builder(cx, allspecs, frame, key_fn=scream), life=(start, INF)))


def host_k8s_deploy(cx: Corpus, specs: list[Spec]) -> None:
    for sp in specs:
        path = cx.free_path(["deploy/k8s/billing/deployment.yaml", "deploy/k8s/orders/deployment.yaml",
                             "deploy/k8s/notifier/deployment.yaml", "deploy/k8s/gateway/deployment.yaml"],
                            "deploy/k8s/misc/deployment.yaml")
        start = area_start(path)
        decoys = [decoy_spec(cx, "yaml", "template")]
        allspecs = [sp] + decoys
        prep_specs(cx, allspecs, start)
        app = path.split("/")[2]
        digest = "sha256:" + cx.v.hexs(64)
        dig_item = cx.decoy("docker-image-digest", digest)

        def frame(env, app=app, digest=digest, dig_item=dig_item):
            env = list(env) + [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": f"{app}-db",
                                                                                      "key": "password"}}}]
            # k8s env entries: the value sits on the line after "- name:"; re-mark it there
            return emit_yaml({"apiVersion": "apps/v1", "kind": "Deployment",
                              "metadata": {"name": app, "namespace": "production", "labels": {"app": app}},
                              "spec": {"replicas": 3, "selector": {"matchLabels": {"app": app}},
                                       "template": {"metadata": {"labels": {"app": app}},
                                                    "spec": {"containers": [{
                                                        "name": app,
                                                        "image": M(f"registry.acme-corp.io/{app}@{digest}", dig_item),
                                                        "ports": [{"containerPort": 8080}],
                                                        "env": env}]}}}})

        cx.add(File(path, yaml_section_builder(cx, allspecs, frame, list_env=True), life=(start, INF)))


def host_k8s_secret(cx: Corpus, specs: list[Spec]) -> None:
    r = cx.r
    i = 0
    while i < len(specs):
        group = specs[i:i + r.randrange(1, 4)]
        i += len(group)
        path = cx.free_path(["deploy/k8s/billing/secret.yaml", "deploy/k8s/orders/secrets.yaml",
                             "deploy/k8s/reporting/secret.yaml", "deploy/k8s/gateway/secret.yaml",
                             "deploy/helm/acme/templates/secret-prod.yaml"], "deploy/k8s/misc/secret.yaml")
        start = area_start(path)
        prep_specs(cx, group, start, p_history=0.2, after_ok=False)
        name = path.split("/")[2] + "-credentials"

        def build(c, group=group, name=name):
            docs = Doc()
            first = True
            for sp in group:
                if sp.state(c) != "present":
                    continue
                if not first:
                    docs.add("---")
                first = False
                doc_start, nmarks = len(docs.lines), len(docs.marks)
                kind = sp.meta.get("k8s")
                if kind == "dockerconfigjson":
                    emit_yaml({"apiVersion": "v1", "kind": "Secret",
                               "metadata": {"name": "registry-pull", "namespace": "production"},
                               "type": "kubernetes.io/dockerconfigjson",
                               "data": {".dockerconfigjson": M(sp.meta["b64"], sp.item)}}, docs)
                elif kind == "gcp":
                    sp.item.add_tag("json-escaped")
                    emit_yaml({"apiVersion": "v1", "kind": "Secret",
                               "metadata": {"name": "gcp-sa", "namespace": "data"}, "type": "Opaque",
                               "stringData": {"key.json": M(sp.meta["pretty"], None)}}, docs)
                    # mark the private_key line inside the block scalar
                    for idx in range(len(docs.lines) - 1, -1, -1):
                        if '"private_key":' in docs.lines[idx]:
                            docs.mark(idx, sp.item)
                            break
                else:
                    data = {}
                    for k, (w, val) in enumerate(sp.entries):
                        data[kebab(w)] = M(b64(val.encode()), sp.item if k == 0 else None,
                                           len(sp.entries) if k == 0 and len(sp.entries) > 1 else None)
                    emit_yaml({"apiVersion": "v1", "kind": "Secret",
                               "metadata": {"name": name, "namespace": "production",
                                            "labels": {"app.kubernetes.io/managed-by": "kubectl"}},
                               "type": "Opaque", "data": data}, docs)
                m_idx, _it, m_span = docs.marks[nmarks]
                sp.item.context = (m_idx - doc_start, len(docs.lines) - (m_idx + m_span))
            return docs if docs.lines else None

        cx.add(File(path, build, life=(start, INF)))


def host_helm(cx: Corpus, specs: list[Spec]) -> None:
    path = cx.free_path(["deploy/helm/acme/values-prod.yaml", "deploy/helm/acme/values-staging.yaml"],
                        "deploy/helm/acme/values-extra.yaml")
    start = area_start(path)
    decoys = [decoy_spec(cx, "yaml", "placeholder")]
    allspecs = specs + decoys
    prep_specs(cx, allspecs, start)
    yaml_multiline_tags(allspecs)

    def frame(slot):
        return emit_yaml({"replicaCount": 3, "image": {"repository": "registry.acme-corp.io/acme", "tag": "1.14.2"},
                          "ingress": {"enabled": True, "hosts": ["app.acme-corp.io"]}, "config": slot,
                          "resources": {"limits": {"cpu": "500m", "memory": "512Mi"}}}, None)

    cx.add(File(path, yaml_section_builder(cx, allspecs, frame, key_fn=camel), life=(start, INF)))
    # a template that reads values: pure decoys
    tpl = Doc()
    tpl.add(["apiVersion: v1", "kind: Secret", "metadata:", "  name: {{ include \"acme.fullname\" . }}", "type: Opaque",
             "stringData:"])
    it = cx.decoy("template-variable", "{{ .Values.config.dbPassword | quote }}", "generic-password")
    tpl.add("  DB_PASSWORD: {{ .Values.config.dbPassword | quote }}", it)
    tpl.add("")
    it2 = cx.decoy("template-variable", "{{ required \"apiKey\" .Values.config.apiKey | b64enc }}", "generic-secret")
    tpl.add("  API_KEY: {{ required \"apiKey\" .Values.config.apiKey | b64enc }}", it2)
    if "deploy/helm/acme/templates/secret.yaml" not in cx.files:
        cx.add(File("deploy/helm/acme/templates/secret.yaml", tpl, life=(start, INF)))


def host_workflow(cx: Corpus, specs: list[Spec]) -> None:
    r = cx.r
    i = 0
    while i < len(specs):
        group = specs[i:i + r.randrange(1, 3)]
        i += len(group)
        path = cx.free_path([".github/workflows/release.yml", ".github/workflows/deploy.yml",
                             ".github/workflows/publish.yml", ".github/workflows/nightly.yml"],
                            ".github/workflows/extra.yml")
        start = area_start(path)
        prep_specs(cx, group, start)
        yaml_multiline_tags(group)
        sha_co, sha_node = cx.v.git_sha(), cx.v.git_sha()
        d1 = cx.decoy("git-sha", sha_co, note="action pinned by commit id")
        d2 = cx.decoy("git-sha", sha_node, note="action pinned by commit id")
        tmpl = cx.decoy("template-variable", "${{ secrets.DEPLOY_KEY }}", "generic-secret")
        name = path.rsplit("/", 1)[-1][:-4]

        def frame(slot, sha_co=sha_co, sha_node=sha_node, d1=d1, d2=d2, tmpl=tmpl, name=name):
            return emit_yaml({"name": name.capitalize(), "on": {"push": {"branches": ["main"]},
                                                                "workflow_dispatch": {}},
                              "permissions": {"contents": "read"},
                              "jobs": {name: {"runs-on": "ubuntu-latest", "env": slot, "steps": [
                                  {"uses": M(f"actions/checkout@{sha_co}", d1)},
                                  {"uses": M(f"actions/setup-node@{sha_node}", d2), "with": {"node-version": 20}},
                                  {"name": "Deploy", "env": {"DEPLOY_KEY": M("${{ secrets.DEPLOY_KEY }}", tmpl)},
                                   "run": "make release\n./scripts/notify_release.sh\n"}]}}})

        cx.add(File(path, yaml_section_builder(cx, group, frame, key_fn=scream), life=(start, INF)))


def host_gitlab_ci(cx: Corpus, specs: list[Spec]) -> None:
    path = cx.free_path([".gitlab-ci.yml"], "ci/.gitlab-ci.extra.yml")
    start = 0
    decoys = [decoy_spec(cx, "yaml", "template")]
    prep_specs(cx, specs + decoys, start)

    def frame(slot):
        return emit_yaml({"stages": ["test", "build", "deploy"], "variables": slot,
                          "test": {"stage": "test", "image": "python:3.11", "script": ["make test"]},
                          "deploy": {"stage": "deploy", "script": ["./scripts/deploy.sh"], "only": ["main"]}})

    cx.add(File(path, yaml_section_builder(cx, specs + decoys, frame, key_fn=scream), life=(start, INF)))


def host_spring_yml(cx: Corpus, specs: list[Spec]) -> None:
    r = cx.r
    path = cx.free_path(["services/orders/src/main/resources/application-prod.yml",
                         "services/orders/src/main/resources/application-staging.yml"],
                        "services/orders/src/main/resources/application-extra.yml")
    start = area_start(path)
    decoys = [decoy_spec(cx, "yaml", r.choice(["template", "encrypted"]))]
    prep_specs(cx, specs + decoys, start)

    def frame(slot):
        return emit_yaml({"spring": {"application": {"name": "orders"},
                                     "jpa": {"open-in-view": False}},
                          "acme": slot, "management": {"endpoints": {"web": {"exposure": {"include": "health,info"}}}}})

    cx.add(File(path, yaml_section_builder(cx, specs + decoys, frame, key_fn=kebab), life=(start, INF)))


# -------------------------------------------------------------------------------- json hosts


def json_builder(cx: Corpus, specs: list[Spec], frame_fn, key_fn=camel):
    r = cx.r
    order = list(specs)
    r.shuffle(order)
    fills = [(key_fn(w), val) for w, val in pick_fills(cx, len(order) + 1)]

    def build(c):
        slot = {}

        def put(k, val):
            kk, n = k, 2
            while kk in slot:
                kk, n = f"{k}{n}", n + 1
            slot[kk] = val

        for i, sp in enumerate(order):
            put(*fills[i])
            st = sp.state(c)
            if st == "absent":
                continue
            for j, (w, val) in enumerate(sp.entries):
                if st == "after":
                    put(key_fn(w), M("${" + scream(w) + "}", sp.after_item if j == 0 else None))
                elif isinstance(val, Ref):
                    put(key_fn(w), M("${" + scream(w) + "}", sp.item if j == 0 else None))
                else:
                    if "\n" in val:
                        sp.item.add_tag("json-escaped")
                    span = len(sp.entries) if j == 0 and len(sp.entries) > 1 else None
                    put(key_fn(w), M(val, sp.item if j == 0 else None, span))
        put(*fills[-1])
        return frame_fn(slot)

    return build


def host_json(cx: Corpus, specs: list[Spec]) -> None:
    r = cx.r
    paths = ["config/production.json", "services/web/config/server.json", "services/gateway/config/secrets.json",
             "tools/postman/acme-api.postman_environment.json", "services/notifier/config/default.json",
             "config/integrations.json"]
    i = 0
    while i < len(specs):
        group = specs[i:i + r.randrange(1, 4)]
        i += len(group)
        path = cx.free_path(paths, "config/extra.json")
        start = area_start(path)
        decoys = [decoy_spec(cx, "json", k) for k in r.sample(["placeholder", "uuid", "git-sha", "publishable",
                                                                 "random-id", "checksum"], r.randrange(1, 3))]
        prep_specs(cx, group + decoys, start)
        bom = r.random() < 0.2

        def frame(slot):
            return emit_json({"name": "acme", "environment": "production", "integrations": slot,
                              "features": {"newCheckout": True}})

        cx.add(File(path, json_builder(cx, group + decoys, frame), bom=bom, life=(start, INF)))


def host_appsettings(cx: Corpus, specs: list[Spec]) -> None:
    path = cx.free_path(["services/reporting/src/Reporting.Api/appsettings.Production.json",
                         "services/reporting/src/Reporting.Api/appsettings.Staging.json",
                         "services/reporting/src/Reporting.Worker/appsettings.json"],
                        "services/reporting/src/Reporting.Api/appsettings.Extra.json")
    start = area_start(path)
    decoys = [decoy_spec(cx, "json", "uuid"), decoy_spec(cx, "json", "placeholder")]
    prep_specs(cx, specs + decoys, start, p_history=0.0)

    def frame(slot):
        return emit_json({"Logging": {"LogLevel": {"Default": "Information", "Microsoft.AspNetCore": "Warning"}},
                          "AllowedHosts": "*", "Reporting": slot})

    cx.add(File(path, json_builder(cx, specs + decoys, frame, key_fn=pascal), eol="\r\n", bom=True,
                life=(start, INF)))


def host_ipynb(cx: Corpus, specs: list[Spec]) -> None:
    r = cx.r
    style = STYLES["ipynb"]
    i = 0
    while i < len(specs):
        group = specs[i:i + r.randrange(1, 3)]
        i += len(group)
        path = cx.free_path(["notebooks/churn_analysis.ipynb", "notebooks/llm_eval.ipynb",
                             "notebooks/revenue_forecast.ipynb", "notebooks/support_tickets.ipynb"],
                            "notebooks/scratch.ipynb")
        start = area_start(path)
        decoys = [decoy_spec(cx, "py", r.choice(["env", "placeholder", "func"]))]
        for sp in group + decoys:
            sp.life = cx.history_life(start, 0.3) if sp.is_secret else (start, INF)
            if sp.is_secret and sp.life[1] != INF:
                sp.after = Ref("env")
        rendered = [(sp, *pre_render(cx, style, sp)) for sp in group + decoys]
        png = cx.v.png_base64(900)
        png_item = cx.decoy("base64-image", png, note="notebook image output")
        filler_src = ["import pandas as pd", "import matplotlib.pyplot as plt", "",
                      "df = pd.read_parquet('s3://acme-analytics/exports/orders.parquet')", "df.describe()"]

        def build(c, rendered=rendered, png=png, png_item=png_item, filler_src=filler_src):
            cells = [{"cell_type": "markdown", "metadata": {}, "source": ["# Analysis\n", "\n",
                                                                          "Exploratory notebook.\n"]}]
            for sp, lines, at, span, after in rendered:
                st = sp.state(c)
                if st == "absent":
                    continue
                src_lines = lines if st == "present" else after
                item = sp.item if st == "present" else sp.after_item
                src = []
                pre = ["import os\n", "\n"]
                src += pre
                for k, ln in enumerate(src_lines):
                    txt = ln + ("\n" if k < len(src_lines) - 1 else "")
                    src.append(M(txt, item if k == (at if st == "present" else 0) else None,
                                 span if (st == "present" and k == at) else None))
                cells.append({"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                              "source": src})
                cells.append({"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                              "source": [x + "\n" for x in filler_src[:-1]] + [filler_src[-1]]})
            cells.append({"cell_type": "code", "execution_count": 7, "metadata": {},
                          "outputs": [{"data": {"image/png": M(png, png_item), "text/plain": ["<Figure>"]},
                                       "metadata": {}, "output_type": "display_data"}],
                          "source": ["df.plot()"]})
            nb = {"cells": cells, "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                                              "name": "python3"},
                                               "language_info": {"name": "python", "version": "3.11.7"}},
                  "nbformat": 4, "nbformat_minor": 5}
            return emit_json(nb, indent=1)

        cx.add(File(path, build, life=(start, INF)))


def host_tfstate(cx: Corpus, specs: list[Spec]) -> None:
    path = "infra/terraform/terraform.tfstate"
    start = area_start(path)
    for sp in specs:
        sp.life = (start, INF)
    lineage = cx.v.uuid4()
    lin_item = cx.decoy("uuid", lineage, note="terraform state lineage")
    arn_ids = [cx.v.hexs(8) for _ in specs]

    def build(c):
        resources = []
        for k, sp in enumerate(specs):
            tf_type = sp.meta.get("tf_type", "random_password")
            attr_names = {"aws_iam_access_key": ["id", "secret"], "random_password": ["result"],
                          "aws_ssm_parameter": ["value"], "aws_secretsmanager_secret_version": ["secret_string"]}[tf_type]
            attrs = {"id": f"res-{arn_ids[k]}", "arn": f"arn:aws:iam::123456789012:user/svc-{arn_ids[k]}"}
            if tf_type == "aws_iam_access_key":
                attrs = {"user": f"svc-{arn_ids[k]}", "status": "Active"}
            for j, (_w, val) in enumerate(sp.entries):
                attrs[attr_names[j]] = M(val, sp.item if j == 0 else None,
                                         len(sp.entries) if j == 0 and len(sp.entries) > 1 else None)
            attrs["tags"] = {"team": "platform"}
            resources.append({"mode": "managed", "type": tf_type,
                              "name": f"r{k}", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
                              "instances": [{"schema_version": 0, "attributes": attrs, "sensitive_attributes": []}]})
        return emit_json({"version": 4, "terraform_version": "1.7.5", "serial": 42, "lineage": M(lineage, lin_item),
                          "outputs": {}, "resources": resources})

    cx.add(File(path, build, life=(start, INF)))


def host_gcp_sa_file(cx: Corpus, specs: list[Spec]) -> None:
    for k, sp in enumerate(specs):
        hist = k == 1  # the second one only ever existed in history
        path = cx.free_path(["deploy/gcp/terraform-sa.json", "infra/credentials/bq-export-key.json",
                             "tools/gcs-uploader-key.json"], "deploy/gcp/key.json")
        start = area_start(path)
        obj = dict(sp.meta["obj"])
        obj["private_key"] = M(obj["private_key"], sp.item)
        sp.item.add_tag("json-escaped")
        doc = emit_json(obj)
        idx = doc.marks[0][0]
        sp.item.context = (idx, len(doc.lines) - 1 - idx)
        cx.add(File(path, doc, life=(start, 4) if hist and start < 4 else (start, INF)))


def host_docker_config(cx: Corpus, specs: list[Spec]) -> None:
    for sp in specs:
        path = cx.free_path(["deploy/docker/config.json", "tools/ci/docker/config.json"], "deploy/docker/config2.json")
        start = area_start(path)
        reg = sp.meta["registry"]
        d = emit_json({"auths": {reg: {"auth": M(sp.meta["b64"], sp.item)},
                                 "https://index.docker.io/v1/": {}},
                       "credsStore": "", "HttpHeaders": {"User-Agent": "Docker-Client/24.0.7 (linux)"}}, indent=1)
        idx = d.marks[0][0]
        sp.item.context = (idx, len(d.lines) - 1 - idx)
        cx.add(File(path, d, life=(start, INF)))


# ------------------------------------------------------------------------------ special hosts


def host_keyfile(cx: Corpus, specs: list[Spec]) -> None:
    names = {"rsa-pkcs1": ["certs/api.acme-corp.io.key", "deploy/nginx/ssl/server.key"],
             "pkcs8-rsa": ["certs/saml-signing.key", "services/gateway/keys/jwt-signing.pem"],
             "ec": ["certs/ec-signing.pem", "services/web/keys/apple-push.key"],
             "pkcs8-ec": ["certs/ec-p256.p8"],
             "openssh-ed25519": ["deploy/keys/id_ed25519", "ops/bastion/deploy_ed25519"],
             "openssh-rsa": ["ops/bastion/id_rsa", "deploy/keys/id_rsa"],
             "pgp": ["ops/release/signing-key.asc", "ops/release/backup-signing.asc"],
             "putty": ["ops/windows/deploy.ppk", "ops/windows/sftp-upload.ppk"]}
    for _k, sp in enumerate(specs):
        path = cx.free_path(names[sp.item.subkind], f"certs/{sp.item.subkind}.pem")
        start = area_start(path)
        d = Doc()
        text = sp.entries[0][1]
        d.add(text.split("\n"), sp.item, 0, text.count("\n") + 1)
        life = (start, INF)
        if cx.r.random() < 0.25 and start < 4:
            life = (start, 4)
        cx.add(File(path, d, life=life, eol="\r\n" if sp.item.subkind == "putty" else "\n"))
        if sp.item.subkind in ("openssh-ed25519", "openssh-rsa") and path + ".pub" not in cx.files:
            pub = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + b64(cx.v.rbytes(32))[1:] + " deploy@ci-runner"
            it = cx.decoy("public-key", pub, "private-key", note="SSH public key")
            cx.add(File(path + ".pub", Doc().add(pub, it), life=(start, INF)))


def host_aws_credentials(cx: Corpus, specs: list[Spec]) -> None:
    path = "deploy/aws/credentials"
    start = area_start(path)
    blocks = []
    for k, sp in enumerate(specs):
        sp.life = (start, INF) if k else (start, 6)
        prof = ["default", "deploy", "reporting", "backup"][k % 4]
        lines = [f"[{prof}]"] + [f"{snake(w)} = {val}" for w, val in sp.entries] + ["region = us-east-1", ""]
        blocks.append(("spec", sp, lines, 1, len(sp.entries), None))
    ex = cx.decoy("aws-example-key", AWS_EXAMPLE_SECRET, "aws", note="AWS documentation example")
    blocks.append(("fill", ["[example]", f"aws_access_key_id = {AWS_EXAMPLE_ID}"]))
    cx.add(File(path, _aws_cred_builder(blocks, ex), life=(start, INF)))


def _aws_cred_builder(blocks, ex):
    inner = line_builder(["# shared credentials for the deploy host", ""], blocks, [])

    def build(c):
        d = inner(c)
        d.add(f"aws_secret_access_key = {AWS_EXAMPLE_SECRET}", ex)
        return d

    return build


def host_dotfile(cx: Corpus, style_name: str, specs: list[Spec]) -> None:
    r = cx.r
    for sp in specs:
        w, val = sp.entries[0]
        d = Doc()
        if style_name == "npmrc":
            path = cx.free_path(["services/web/.npmrc", ".npmrc"], "tools/.npmrc")
            d.add("registry=https://registry.npmjs.org/")
            d.add("@acme:registry=https://npm.pkg.github.com/")
            d.add("")
            d.add(f"//registry.npmjs.org/:_authToken={val}", sp.item)
            d.add("always-auth=true")
        elif style_name == "pypirc":
            path = cx.free_path([".pypirc", "tools/release/.pypirc"], "tools/.pypirc")
            d.add(["[distutils]", "index-servers =", "    pypi", "", "[pypi]", "username = __token__"])
            d.add(f"password = {val}", sp.item)
        elif style_name == "netrc":
            path = cx.free_path(["ops/ci/.netrc", "tools/.netrc", "ops/mirror/.netrc", "deploy/heroku/.netrc"],
                                "ops/.netrc")
            host = {"github": "github.com", "heroku": "api.heroku.com"}.get(sp.item.kind, "ftp.acme-corp.io")
            d.add(["# used by the nightly mirror job", ""])
            d.add([f"machine {host}", f"  login {r.choice(['acme-bot', 'deploy', 'ci@acme-corp.io'])}"])
            d.add(f"  password {val}", sp.item)
        elif style_name == "git-credentials":
            path = cx.free_path(["ops/ci/.git-credentials", "tools/ci/.git-credentials"], "ops/.git-credentials")
            if sp.item.kind == "basic-auth":
                d.add(val.replace("https://", "https://", 1), sp.item)
            else:
                d.add(f"https://acme-bot:{val}@github.com", sp.item)
        elif style_name == "pip-conf":
            path = cx.free_path(["services/billing/pip.conf", "tools/pip.conf"], "ops/pip.conf")
            d.add(["[global]", "timeout = 60"])
            d.add(f"index-url = {val}", sp.item)
            d.add("trusted-host = nexus.acme-corp.io")
        else:
            raise ValueError(style_name)
        start = area_start(path)
        cx.add(File(path, d, life=(start, INF)))


def host_sql(cx: Corpus, specs: list[Spec]) -> None:
    r, f = cx.r, cx.f
    paths = ["db/migrations/V0007__create_service_users.sql", "db/seed/dev_seed.sql", "db/migrations/V0012__grants.sql",
             "db/backup/partial_dump_2024_02.sql"]
    i = 0
    while i < len(specs):
        group = specs[i:i + r.randrange(1, 3)]
        i += len(group)
        path = cx.free_path(paths, "db/migrations/V0099__extra.sql")
        start = area_start(path)
        blocks = [("fill", f.sql_table())]
        for sp in group:
            sp.life = (start, INF)
            w, val = sp.entries[0]
            user = r.choice(USERS)
            if sp.item.kind in ("generic-password",):
                line = r.choice([f"CREATE ROLE {user} WITH LOGIN PASSWORD '{val}';",
                                 f"CREATE USER '{user}'@'%' IDENTIFIED BY '{val}';",
                                 f"ALTER USER {user} WITH PASSWORD '{val}';"])
            else:
                vals = ", ".join(f"'{vv}'" for _ww, vv in sp.entries)
                cols = ", ".join(snake(ww) for ww, _vv in sp.entries)
                line = f"INSERT INTO integration_credentials (provider, {cols}) VALUES ('{sp.item.kind}', {vals});"
            blocks += [("spec", sp, [line], 0, 1, None), ("fill", [""] + f.sql_table())]
        bc = cx.v.bcrypt()
        bi = cx.decoy("bcrypt-hash", bc, "generic-password", note="password hash in seed data")
        blocks.append(("fill", ["INSERT INTO users (email, password_hash, role) VALUES"]))
        blocks.append(("spec", Spec(bi, []), [f"    ('admin@acme-corp.io', '{bc}', 'admin');"], 0, 1, None))
        cx.add(File(path, line_builder(["-- " + f.sentence(8), "BEGIN;", ""], blocks, ["", "COMMIT;"]),
                    life=(start, INF)))


def host_log(cx: Corpus, specs: list[Spec]) -> None:
    r, f, v = cx.r, cx.f, cx.v
    paths = ["logs/billing-worker-2024-02-14.log", "logs/gateway-debug.log", "services/orders/logs/app.log",
             "logs/deploy-2024-03-02.log"]
    i = 0
    while i < len(specs):
        group = specs[i:i + r.randrange(1, 3)]
        i += len(group)
        path = cx.free_path(paths, "logs/extra.log")
        start = area_start(path)
        blocks = []
        minute = 0

        def ts():
            nonlocal minute
            minute += r.randrange(1, 4)
            return f"2024-02-14T{9 + minute // 60:02d}:{minute % 60:02d}:{r.randrange(60):02d}.{r.randrange(1000):03d}Z"

        def filler_lines(n):
            out = []
            for _ in range(n):
                rid = v.hexs(32)
                it = cx.decoy("random-id", rid, note="request id in a log line")
                out.append(("spec", Spec(it, []), [f.log_line(ts(), rid)], 0, 1, None))
                out.append(("fill", [f"{ts()} INFO  [http] GET /healthz 200 1ms"]))
            return out

        blocks += filler_lines(r.randrange(3, 7))
        for sp in group:
            sp.life = (start, INF)
            w, val = sp.entries[0]
            k = sp.item.kind
            if k == "jwt":
                line = f"{ts()} DEBUG [http-client] POST https://orders.acme-corp.io/v1/sync headers={{'Authorization': 'Bearer {val}', 'Content-Type': 'application/json'}}"
            elif k == "database":
                line = f"{ts()} INFO  [db] connecting to {val} (pool=10)"
            elif k == "slack" and val.startswith("https://"):
                line = f"{ts()} WARN  [notify] POST {val} failed: 429 Too Many Requests, retrying"
            else:
                kv = " ".join(f"{snake(ww)}={vv}" for ww, vv in sp.entries)
                line = f"{ts()} DEBUG [config] loaded settings: {kv} env=production"
            blocks.append(("spec", sp, [line], 0, 1, None))
            blocks += filler_lines(r.randrange(2, 6))
        masked = cx.decoy("masked-value", "password=********", "generic-password")
        blocks.append(("spec", Spec(masked, []), [f"{ts()} INFO  [auth] login ok user=jdoe password=******** "
                                                  f"mfa=totp"], 0, 1, None))
        blocks += filler_lines(2)
        cx.add(File(path, line_builder([], blocks, []), life=(start, INF)))


def host_http(cx: Corpus, specs: list[Spec]) -> None:
    path = cx.free_path(["services/orders/http/orders-api.http", "tools/http/billing.http"], "tools/http/extra.http")
    start = area_start(path)
    blocks = [("fill", ["### health", "GET https://orders.acme-corp.io/healthz", ""])]
    for sp in specs:
        sp.life = (start, INF)
        w, val = sp.entries[0]
        if sp.item.kind == "basic-auth":
            auth = f"Authorization: Basic {val}"
        elif sp.item.kind in ("jwt", "stripe"):
            auth = f"Authorization: Bearer {val}"
        elif sp.item.kind == "github":
            auth = f"Authorization: token {val}"
        else:
            auth = f"X-Api-Key: {val}"
        blocks.append(("fill", ["### list orders", "GET https://orders.acme-corp.io/v1/orders?limit=20"]))
        blocks.append(("spec", sp, [auth], 0, 1, None))
        blocks.append(("fill", ["Accept: application/json", ""]))
    tmpl = cx.decoy("template-variable", "{{token}}", "jwt")
    blocks += [("fill", ["### with env token", "GET https://orders.acme-corp.io/v1/me"]),
               ("spec", Spec(tmpl, []), ["Authorization: Bearer {{token}}"], 0, 1, None)]
    cx.add(File(path, line_builder([], blocks, []), life=(start, INF)))


def host_md(cx: Corpus, specs: list[Spec]) -> None:
    r, f = cx.r, cx.f
    paths = ["docs/runbooks/billing-outage.md", "docs/onboarding.md", "docs/runbooks/db-failover.md",
             "docs/integrations.md", "services/billing/README.md", "docs/runbooks/rotate-keys.md"]
    i = 0
    while i < len(specs):
        group = specs[i:i + r.randrange(1, 3)]
        i += len(group)
        path = cx.free_path(paths, "docs/notes.md")
        start = area_start(path)
        blocks = [("fill", f.markdown(path.rsplit("/", 1)[-1][:-3].replace("-", " ").title(), 1))]
        for sp in group:
            sp.life = cx.history_life(start, 0.2) if start < 7 else (start, INF)
            w, val = sp.entries[0]
            if "\n" in val:
                lines = ["Paste this key into the bastion's authorized agent:", "", "```"] + val.split("\n") + ["```"]
                blocks.append(("spec", sp, lines, 3, val.count("\n") + 1, None))
            elif len(sp.entries) > 1:
                lines = ["```bash"] + [f"export {scream(ww)}={vv}" for ww, vv in sp.entries] + ["```"]
                blocks.append(("spec", sp, lines, 1, len(sp.entries), None))
            elif r.random() < 0.5:
                lines = ["```bash", f"export {scream(w)}='{val}'", "./scripts/deploy.sh --env production", "```"]
                blocks.append(("spec", sp, lines, 1, 1, None))
            else:
                lines = [f"The production {' '.join(w)} is `{val}` (ask #ops before rotating it)."]
                blocks.append(("spec", sp, lines, 0, 1, None))
            blocks.append(("fill", ["", f.paragraph(), ""]))
        # documentation decoys
        dk = r.choice(["aws-example", "placeholder", "jwt-example", "lookalike"])
        ds = decoy_spec(cx, "md", dk)
        dl = ["```bash"] + [f"export {scream(ww)}={vv}" for ww, vv in ds.entries] + ["```"]
        blocks.append(("spec", ds, dl, 1, len(ds.entries), None))
        blocks.append(("fill", ["", f.paragraph()]))
        cx.add(File(path, line_builder([], blocks, [""]), life=(start, INF)))


def host_webconfig(cx: Corpus, specs: list[Spec]) -> None:
    r = cx.r
    path = cx.free_path(["services/reporting/src/Reporting.Web/Web.config", "services/reporting/legacy/Web.config"],
                        "services/reporting/legacy/App.config")
    start = area_start(path)
    blocks = [("fill", ["  <connectionStrings>"])]
    conn = [sp for sp in specs if sp.item.kind == "database"]
    other = [sp for sp in specs if sp.item.kind != "database"]
    for sp in conn:
        sp.life = (start, INF)
        val = sp.entries[0][1]
        blocks.append(("spec", sp, [f'    <add name="ReportingDb" connectionString="{val}" '
                                    'providerName="System.Data.SqlClient" />'], 0, 1, None))
        blocks.append(("fill", ['    <add name="LocalDb" connectionString="Server=(localdb)\\MSSQLLocalDB;'
                                'Integrated Security=true;" providerName="System.Data.SqlClient" />']))
    blocks.append(("fill", ["  </connectionStrings>", "  <appSettings>",
                            '    <add key="webpages:Version" value="3.0.0.0" />']))
    tmpl = cx.decoy("template-variable", "#{SmtpPassword}#", "generic-password")
    blocks.append(("spec", Spec(tmpl, []), ['    <add key="SmtpPassword" value="#{SmtpPassword}#" />'], 0, 1, None))
    for sp in other:
        sp.life = (start, INF)
        blocks.append(("fill", ['    <add key="ClientValidationEnabled" value="true" />']))
        lines = [f'    <add key="{pascal(w)}" value="{v}" />' for w, v in sp.entries]
        blocks.append(("spec", sp, lines, 0, len(lines), None))
    blocks.append(("fill", ["  </appSettings>", "  <system.web>", '    <compilation debug="false" targetFramework="4.8" />',
                            "  </system.web>"]))
    cx.add(File(path, line_builder(['<?xml version="1.0" encoding="utf-8"?>', "<configuration>"], blocks,
                                   ["</configuration>"]), eol="\r\n", bom=r.random() < 0.5, life=(start, INF)))


def host_maven_settings(cx: Corpus, specs: list[Spec]) -> None:
    path = cx.free_path(["services/orders/.mvn/settings.xml", "tools/ci/maven-settings.xml"], "tools/ci/settings2.xml")
    start = area_start(path)
    blocks = [("fill", ["  <servers>"])]
    for k, sp in enumerate(specs):
        sp.life = (start, INF)
        blocks.append(("fill", ["    <server>", f"      <id>acme-releases-{k}</id>", "      <username>deploy</username>"]))
        blocks.append(("spec", sp, [f"      <password>{sp.entries[0][1]}</password>"], 0, 1, None))
        blocks.append(("fill", ["    </server>"]))
    tmpl = cx.decoy("template-variable", "${env.MAVEN_PASSWORD}", "generic-password")
    blocks += [("fill", ["    <server>", "      <id>acme-snapshots</id>", "      <username>${env.MAVEN_USER}</username>"]),
               ("spec", Spec(tmpl, []), ["      <password>${env.MAVEN_PASSWORD}</password>"], 0, 1, None),
               ("fill", ["    </server>", "  </servers>"])]
    cx.add(File(path, line_builder(['<?xml version="1.0" encoding="UTF-8"?>',
                                    '<settings xmlns="http://maven.apache.org/SETTINGS/1.0.0">'], blocks,
                                   ["</settings>"]), life=(start, INF)))


def host_spring_xml(cx: Corpus, specs: list[Spec]) -> None:
    path = cx.free_path(["services/orders/src/main/resources/applicationContext.xml",
                         "services/orders/src/main/resources/batch-context.xml"], "services/orders/src/main/resources/ctx.xml")
    start = area_start(path)
    blocks = []
    for k, sp in enumerate(specs):
        sp.life = (start, INF)
        w, val = sp.entries[0]
        blocks.append(("fill", [f'  <bean id="dataSource{k}" class="com.zaxxer.hikari.HikariDataSource">',
                                '    <property name="driverClassName" value="org.postgresql.Driver" />']))
        if sp.item.kind == "database":
            blocks.append(("spec", sp, [f'    <property name="jdbcUrl" value="{val.replace("&", "&amp;")}" />'], 0, 1, None))
            sp.item.alts.append(val.replace("&", "&amp;"))
        else:
            blocks.append(("fill", ['    <property name="username" value="orders_svc" />']))
            blocks.append(("spec", sp, [f'    <property name="password" value="{val}" />'], 0, 1, None))
        blocks.append(("fill", ["  </bean>", ""]))
    tmpl = cx.decoy("template-variable", "${db.password}", "generic-password")
    blocks += [("fill", ['  <bean id="reportingDs" class="com.zaxxer.hikari.HikariDataSource">',
                         '    <property name="username" value="${db.user}" />']),
               ("spec", Spec(tmpl, []), ['    <property name="password" value="${db.password}" />'], 0, 1, None),
               ("fill", ["  </bean>"])]
    cx.add(File(path, line_builder(['<?xml version="1.0" encoding="UTF-8"?>',
                                    '<beans xmlns="http://www.springframework.org/schema/beans">'], blocks, ["</beans>"]),
                life=(start, INF)))


def host_sh_special(cx: Corpus, specs: list[Spec]) -> None:
    """Shell scripts where the secret is used inline (curl headers, URLs, docker login, heredocs)."""
    r, f = cx.r, cx.f
    paths = ["scripts/ci/publish.sh", "scripts/ci/smoke_test.sh", "ops/runbooks/hotfix.sh", "scripts/ci/mirror.sh",
             "scripts/ci/notify.sh", "ops/runbooks/ssh_setup.sh"]
    i = 0
    while i < len(specs):
        group = specs[i:i + r.randrange(1, 3)]
        i += len(group)
        path = cx.free_path(paths, "scripts/ci/extra.sh")
        start = area_start(path)
        blocks = [("fill", f.sh_block())]
        for sp in group:
            sp.life = cx.history_life(start)
            w, val = sp.entries[0]
            k = sp.item.kind
            if "\n" in val:
                lines = ["mkdir -p ~/.ssh", "cat > ~/.ssh/id_deploy <<'EOF'"] + val.split("\n") + ["EOF",
                                                                                                    "chmod 600 ~/.ssh/id_deploy"]
                blocks.append(("spec", sp, lines, 2, val.count("\n") + 1, None))
            elif k == "basic-auth" and sp.item.subkind == "header":
                blocks.append(("spec", sp, [f'curl -fsS -H "Authorization: Basic {val}" '
                                            "https://nexus.acme-corp.io/service/rest/v1/status"], 0, 1, None))
            elif k == "basic-auth":
                blocks.append(("spec", sp, [f'git clone "{val}" /tmp/deploy-config'], 0, 1, None))
            elif k == "jwt":
                blocks.append(("spec", sp, ["curl -fsS -X POST https://orders.acme-corp.io/v1/admin/reindex \\",
                                            f'  -H "Authorization: Bearer {val}"'], 1, 1, None))
            elif k == "dockerhub":
                blocks.append(("spec", sp, [f"echo '{val}' | docker login -u acmebuild --password-stdin"], 0, 1, None))
            elif k == "gitlab" and sp.item.subkind == "glptt":
                blocks.append(("spec", sp, [f'curl -X POST --fail -F token={val} -F ref=main \\',
                                            '  https://gitlab.acme-corp.io/api/v4/projects/42/trigger/pipeline'],
                               0, 1, None))
            elif k == "github" and sp.item.subkind == "ghs":
                blocks.append(("spec", sp, [f"git remote set-url origin https://x-access-token:{val}@github.com/"
                                            "acme-corp/platform.git"], 0, 1, None))
            elif k in ("slack", "discord") and val.startswith("https://"):
                blocks.append(("spec", sp, ["curl -fsS -X POST -H 'Content-type: application/json' \\",
                                            "  --data '{\"text\":\"Release finished\"}' \\", f"  {val}"], 2, 1, None))
            else:
                blocks.append(("spec", sp, ["curl -fsS https://api.acme-corp.io/v1/status \\",
                                            f'  -H "Authorization: token {val}"'], 1, 1, None))
            blocks.append(("fill", [""] + f.sh_block()))
        ds = decoy_spec(cx, "sh", r.choice(["env", "func", "aws-example"]))
        ds.life = (start, INF)
        blocks.append(("spec", ds))
        blocks = materialize(cx, STYLES["sh"], blocks)
        cx.add(File(path, line_builder(["#!/usr/bin/env bash", "set -euo pipefail", ""], blocks, []),
                    life=(start, INF)))


# ================================================================================================
# the catalog: what to plant, and where


CATALOG = [
    ("aws", "access-key", ["py", "env", "aws-credentials", "tf", "sh", "compose", "properties", "appsettings", "md",
                           "ipynb", "gh-workflow", "json", "yaml", "tfstate", "go", "cs", "java", "log"]),
    ("aws", "session-credentials", ["env", "sh", "json", "aws-credentials"]),
    ("gcp", "service-account", ["gcp-sa-file", "gcp-sa-file", "k8s-secret", "env", "tfvars", "gcp-sa-file"]),
    ("gcp", "api-key", ["py", "yaml", "properties", "go", "sh"]),
    ("azure", "storage-connection-string", ["appsettings", "webconfig", "env", "py", "cs"]),
    ("azure", "storage-key", ["tf", "yaml", "sh"]),
    ("azure", "sas-token", ["py", "js", "appsettings", "md"]),
    ("azure", "ad-client-secret", ["appsettings", "env", "tf", "properties", "ps1"]),
    ("github", "ghp", ["sh", "env", "py", "gh-workflow", "md", "git-credentials", "ipynb", "js", "go", "netrc", "cs",
                       "dockerfile", "http"]),
    ("github", "gho", ["js", "py"]),
    ("github", "ghu", ["json"]),
    ("github", "ghs", ["sh-special", "yaml"]),
    ("github", "ghr", ["json", "rb"]),
    ("github", "fine-grained", ["env", "yaml", "rb", "dockerfile"]),
    ("gitlab", "glpat", ["env", "gitlab-ci", "sh", "py"]),
    ("gitlab", "gldt", ["toml"]),
    ("gitlab", "glrt", ["toml"]),
    ("gitlab", "glptt", ["sh-special"]),
    ("slack", "bot", ["py", "js", "env", "yaml"]),
    ("slack", "user", ["rb"]),
    ("slack", "app", ["yaml"]),
    ("slack", "webhook", ["sh-special", "py", "json", "tf", "go", "log"]),
    ("stripe", "sk_live", ["py", "rb", "php", "env", "js", "java", "go", "tfstate", "cs", "http", "sql"]),
    ("stripe", "sk_test", ["ts", "yaml"]),
    ("stripe", "rk_live", ["env", "cs"]),
    ("stripe", "whsec", ["env", "js"]),
    ("twilio", "auth-token", ["env", "py", "php"]),
    ("twilio", "api-key", ["java", "rb"]),
    ("sendgrid", "api-key", ["py", "env", "php", "cs", "yaml", "java", "go"]),
    ("mailgun", "api-key", ["rb", "env", "php", "js"]),
    ("openai", "project", ["py", "env", "ipynb", "ts"]),
    ("openai", "legacy", ["py", "sh"]),
    ("anthropic", "api-key", ["py", "env", "ipynb", "ts"]),
    ("huggingface", "token", ["py", "ipynb", "sh", "env"]),
    ("npm", "token", ["npmrc", "gh-workflow", "sh", "env", "dockerfile"]),
    ("pypi", "token", ["pypirc", "sh", "gh-workflow", "toml"]),
    ("dockerhub", "pat", ["sh-special", "gh-workflow", "env", "ps1"]),
    ("heroku", "api-key-v2", ["env", "sh", "json"]),
    ("heroku", "api-key-legacy", ["netrc", "env", "tf"]),
    ("digitalocean", "dop", ["tf", "tfvars", "sh", "env"]),
    ("digitalocean", "doo", ["py"]),
    ("datadog", "api-key", ["yaml", "env", "tf"]),
    ("datadog", "app-key", ["tf", "py"]),
    ("newrelic", "user-key", ["env", "yaml", "tf"]),
    ("newrelic", "license-key", ["yaml", "properties"]),
    ("sentry", "org-token", ["env", "gh-workflow", "sh"]),
    ("sentry", "user-token", ["env"]),
    ("sentry", "dsn-with-secret", ["py", "properties"]),
    ("shopify", "shpat", ["env", "rb", "php"]),
    ("shopify", "shpss", ["js"]),
    ("square", "access-token", ["py", "env", "java"]),
    ("square", "oauth-secret", ["yaml"]),
    ("braintree", "access-token", ["env", "rb", "java", "php"]),
    ("discord", "bot-token", ["py", "js", "env"]),
    ("discord", "webhook", ["py", "sh-special", "json"]),
    ("telegram", "bot-token", ["py", "env", "sh", "js", "yaml"]),
    ("private-key", "rsa-pkcs1", ["keyfile", "yaml", "md", "py", "tf"]),
    ("private-key", "pkcs8-rsa", ["keyfile", "json", "env"]),
    ("private-key", "ec", ["keyfile", "yaml"]),
    ("private-key", "pkcs8-ec", ["json", "js"]),
    ("private-key", "openssh-ed25519", ["keyfile", "gh-workflow"]),
    ("private-key", "openssh-rsa", ["keyfile", "sh-special"]),
    ("private-key", "pgp", ["keyfile"]),
    ("private-key", "putty", ["keyfile"]),
    ("jwt", "bearer", ["sh-special", "log", "http", "py", "env", "md", "json", "go", "java", "ipynb"]),
    ("database", "postgres-url", ["env", "py", "compose", "log", "md", "k8s-deploy", "go"]),
    ("database", "mysql-url", ["php", "env", "yaml"]),
    ("database", "mongodb-url", ["js", "env", "py"]),
    ("database", "redis-url", ["env", "yaml", "py"]),
    ("database", "amqp-url", ["env", "py", "compose"]),
    ("database", "ado-connection-string", ["webconfig", "appsettings", "cs"]),
    ("database", "jdbc-url", ["properties", "spring-xml"]),
    ("basic-auth", "url", ["pip-conf", "sh-special", "git-credentials", "yaml"]),
    ("basic-auth", "header", ["http", "sh-special"]),
    ("kubernetes", "secret-data", ["k8s-secret"] * 6),
    ("docker-auth", "config-json", ["docker-config", "docker-config", "k8s-secret"]),
    ("generic-password", "pw", ["py", "js", "ts", "go", "java", "rb", "php", "cs", "sh", "ps1", "env", "properties",
                                "ini", "toml", "cfg", "tf", "tfvars", "dockerfile", "md", "ipynb", "yaml", "compose",
                                "k8s-deploy", "helm-values", "gh-workflow", "spring-yml", "json", "appsettings",
                                "tfstate", "webconfig", "maven-settings", "spring-xml", "sql", "sql", "log", "netrc",
                                "env", "yaml", "py", "properties", "ini", "php", "sh", "json", "md", "maven-settings",
                                "log", "gitlab-ci", "go", "cs", "java", "sql", "sql", "log", "ipynb", "dockerfile",
                                "webconfig", "spring-xml"]),
    ("generic-secret", "token", ["py", "js", "ts", "go", "java", "rb", "php", "cs", "sh", "env", "env", "properties",
                                 "ini", "toml", "yaml", "json", "appsettings", "tf", "dockerfile", "md", "ipynb",
                                 "spring-yml", "helm-values", "compose", "gh-workflow", "webconfig", "yaml", "http",
                                 "log", "tfstate", "env", "py", "go", "cs", "java", "sql", "sql", "log", "ipynb",
                                 "http", "dockerfile", "md"]),
]

LINE_CODE = {"py", "js", "ts", "go", "java", "rb", "php", "cs", "sh", "ps1"}
LINE_CONFIG = {"env", "properties", "ini", "cfg", "toml", "tf", "tfvars", "dockerfile"}


def build_spec(cx: Corpus, kind: str, sub: str, style: str) -> Spec:
    entries, canon, alts, tags, subkind = make_secret(cx, kind, sub, style)
    meta = {}
    if kind == "gcp" and sub == "service-account":
        sa_json = entries[0][1]
        obj = json.loads(sa_json)
        meta = {"obj": obj, "pretty": json.dumps(obj, indent=2)}
        if style == "env":
            tags.append("json-escaped")
        if style == "tfvars":
            entries = [(entries[0][0], meta["pretty"])]
    if kind == "kubernetes":
        pw, flavor = pick_pw(cx) if cx.r.random() < 0.6 else (cx.v.generic_token(), "token")
        w = cx.r.choice(PW_WORDS + SECRET_WORDS)
        entries, canon, alts, tags = [(w, pw)], b64(pw.encode()), [pw], ["base64"]
        subkind = "secret-data"
    if kind == "docker-auth":
        user = cx.r.choice(["acmebuild", "ci-bot", "deploy"])
        pw = cx.v.random_password() if cx.r.random() < 0.5 else cx.v.dockerhub()
        reg = cx.r.choice(["registry.acme-corp.io", "acme.azurecr.io", "ghcr.io"])
        auth = b64(f"{user}:{pw}".encode())
        meta = {"registry": reg, "b64": auth}
        canon, alts, tags, entries = auth, [pw, f"{user}:{pw}"], ["base64"], [(["auth"], auth)]
        if style == "k8s-secret":
            cfg = json.dumps({"auths": {reg: {"username": user, "password": pw, "auth": auth}}}, separators=(",", ":"))
            meta = {"k8s": "dockerconfigjson", "b64": b64(cfg.encode())}
            canon, alts = meta["b64"], [pw, auth, cfg]
    if kind == "gcp" and sub == "service-account" and style == "k8s-secret":
        meta["k8s"] = "gcp"
    if style == "tfstate":
        meta["tf_type"] = {"aws": "aws_iam_access_key", "stripe": "aws_ssm_parameter",
                           "generic-secret": "aws_secretsmanager_secret_version"}.get(kind, "random_password")
    item = cx.secret(kind, subkind, canon, alts=alts, tags=tags)
    return Spec(item, entries, meta=meta)


def plan(cx: Corpus) -> None:
    by_style: dict[str, list[Spec]] = {}
    for kind, sub, styles in CATALOG:
        for _rep in range(cx.scale):
            for style in styles:
                by_style.setdefault(style, []).append(build_spec(cx, kind, sub, style))
    for style in sorted(by_style):
        specs = by_style[style]
        cx.r.shuffle(specs)
        if style in LINE_CODE:
            host_code(cx, style, specs)
        elif style in LINE_CONFIG:
            host_config(cx, style, specs)
        elif style in ("npmrc", "pypirc", "netrc", "git-credentials", "pip-conf"):
            host_dotfile(cx, style, specs)
        else:
            {"yaml": host_yaml, "compose": host_compose, "k8s-deploy": host_k8s_deploy, "k8s-secret": host_k8s_secret,
             "helm-values": host_helm, "gh-workflow": host_workflow, "gitlab-ci": host_gitlab_ci,
             "spring-yml": host_spring_yml, "json": host_json, "appsettings": host_appsettings,
             "ipynb": host_ipynb, "tfstate": host_tfstate, "gcp-sa-file": host_gcp_sa_file,
             "docker-config": host_docker_config, "keyfile": host_keyfile, "aws-credentials": host_aws_credentials,
             "sql": host_sql, "log": host_log, "http": host_http, "md": host_md, "webconfig": host_webconfig,
             "maven-settings": host_maven_settings, "spring-xml": host_spring_xml,
             "sh-special": host_sh_special}[style](cx, specs)


# ================================================================================================
# decoy-rich and filler files


def add_decoy_files(cx: Corpus) -> None:
    import decoys  # local module: lockfiles, vendored code, tests, certificates, ...
    decoys.add_all(cx)


def add_filler_files(cx: Corpus) -> None:
    import fillerfiles
    fillerfiles.add_all(cx)


# ================================================================================================


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="directory to create (a git repository)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scale", type=int, default=1, help="multiplies planted secrets, decoys and filler")
    ap.add_argument("--force", action="store_true", help="replace DIR and DIR.labels.json if they exist")
    a = ap.parse_args(argv)
    out = os.path.abspath(a.out.rstrip("/"))
    labels_path = out + ".labels.json"
    if os.path.exists(out) and os.listdir(out):
        if not a.force:
            print(f"error: {out} exists and is not empty (use --force)", file=sys.stderr)
            return 2
        shutil.rmtree(out)
    cx = Corpus(a.seed, a.scale)
    plan(cx)
    add_decoy_files(cx)
    add_filler_files(cx)
    shas = render_and_commit(cx.files, out)
    check_separation(cx.items)
    labels = build_labels(cx.items, cx.files, shas, a.seed, a.scale, os.path.basename(out))
    with open(labels_path, "w", encoding="utf-8") as fh:
        json.dump(labels, fh, indent=1, sort_keys=False)
        fh.write("\n")
    labels["counts"]
    print(f"wrote {out} ({len(cx.files)} files, {len(shas)} commits) and {labels_path}: "
          f"{len(labels['secrets'])} secrets ({sum(1 for s in labels['secrets'] if s['history_only'])} history-only), "
          f"{len(labels['decoys'])} decoys, {len(labels['neutral'])} neutral")
    return 0


if __name__ == "__main__":
    sys.exit(main())
