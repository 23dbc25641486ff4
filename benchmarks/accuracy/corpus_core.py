"""Core data types of the accuracy corpus: items, documents, emitters, files, history and labels.

* An **Item** is one labelled thing: a planted secret, a decoy, or a neutral (debatable) item.
* A **Doc** is a list of text lines with marks saying on which line an item's value starts and
  how many lines it spans.  Line numbers are therefore known by construction, never searched.
* A **File** is built per commit by a closure ``build(c) -> Doc`` that consumes no randomness, so
  the same file can be rendered with a secret at commit 2 and without it at commit 4.
* The **Corpus** renders every commit, writes it into a real git repository with fixed
  authors and dates (so commit ids are reproducible), then writes the labels.

Standard library only.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile

from secretgen import sha1, sha256

INF = 1 << 30

# Commit plan: (message, author, email, date).  Commits 4 and 6 remove credentials, so secrets that
# live only in [start, 4) or [start, 6) exist only in history.
COMMITS = [
    ("Initial import of acme-platform monorepo", "Dana Whitfield", "dana.whitfield@acme-corp.io",
     "2024-01-08T09:12:44+00:00"),
    ("billing: Stripe, SendGrid and Twilio integrations", "Marco Ruiz", "marco.ruiz@acme-corp.io",
     "2024-01-19T14:03:10+00:00"),
    ("ops: deployment scripts, k8s manifests and terraform", "Priya Natarajan", "priya.n@acme-corp.io",
     "2024-02-02T11:40:02+00:00"),
    ("web: checkout flow, analytics and notifications", "Tom Becker", "tom.becker@acme-corp.io",
     "2024-02-15T16:21:37+00:00"),
    ("Remove hardcoded credentials (SEC-1423)", "Priya Natarajan", "priya.n@acme-corp.io",
     "2024-03-01T10:05:59+00:00"),
    ("orders: reporting export, notebooks and SQL seeds", "Marco Ruiz", "marco.ruiz@acme-corp.io",
     "2024-03-18T13:47:21+00:00"),
    ("chore: move remaining secrets to Vault", "Dana Whitfield", "dana.whitfield@acme-corp.io",
     "2024-04-04T08:30:12+00:00"),
    ("docs: update runbooks and onboarding guide", "Tom Becker", "tom.becker@acme-corp.io",
     "2024-04-22T17:02:45+00:00"),
]
HEAD = len(COMMITS) - 1
REMOVAL_COMMITS = (4, 6)


# ------------------------------------------------------------------------------------------------
# items


class Item:
    """A labelled value.  category: 'secret' | 'decoy' | 'neutral'."""

    def __init__(self, category: str, kind: str, subkind: str, value: str, alts=(), tags=(), note: str = "",
                 looks_like: str | None = None):
        self.category = category
        self.kind = kind
        self.subkind = subkind
        self.value = value
        self.alts = [a for a in alts if a and a != value]
        self.tags = list(tags)
        self.note = note
        self.looks_like = looks_like
        self.occ: dict[int, tuple[str, int, int]] = {}  # commit index -> (path, line, end_line)
        # lines before `line` and after `end_line` that belong to the same credential object (a whole
        # service-account JSON, a whole Kubernetes Secret manifest); a finding there is a hit too
        self.context: tuple[int, int] = (0, 0)
        self.file_tags: list[str] = []

    def add_tag(self, t: str) -> None:
        if t not in self.tags:
            self.tags.append(t)


# ------------------------------------------------------------------------------------------------
# documents


class Doc:
    def __init__(self):
        self.lines: list[str] = []
        self.marks: list[tuple[int, Item, int]] = []  # (0-based line index, item, span)

    def add(self, text: str | list[str] = "", item: Item | None = None, at: int = 0, span: int = 1) -> "Doc":
        parts = text if isinstance(text, list) else text.split("\n")
        if item is not None:
            self.marks.append((len(self.lines) + at, item, span))
        self.lines.extend(parts)
        return self

    def extend(self, other: "Doc") -> "Doc":
        off = len(self.lines)
        self.lines.extend(other.lines)
        self.marks.extend((i + off, it, sp) for i, it, sp in other.marks)
        return self

    def mark(self, idx: int, item: Item, span: int = 1) -> None:
        self.marks.append((idx, item, span))


class M:
    """A marked scalar inside a JSON/YAML structure."""

    def __init__(self, value, item: Item | None = None, span: int | None = None):
        self.value = value
        self.item = item
        self.span = span


class Raw:
    """A scalar written verbatim (no quoting) by the YAML emitter."""

    def __init__(self, text: str, item: Item | None = None):
        self.text = text
        self.item = item


def emit_json(obj, indent: int = 2, doc: Doc | None = None) -> Doc:
    doc = doc or Doc()

    def scalar(v):
        return json.dumps(v, ensure_ascii=False)

    def rec(v, level: int, prefix: str, suffix: str):
        pad = " " * (indent * level)
        if isinstance(v, M):
            doc.add(pad + prefix + scalar(v.value) + suffix, v.item, 0, v.span or 1)
        elif isinstance(v, dict):
            if not v:
                doc.add(pad + prefix + "{}" + suffix)
                return
            doc.add(pad + prefix + "{")
            items = list(v.items())
            for i, (k, x) in enumerate(items):
                rec(x, level + 1, scalar(k) + ": ", "," if i < len(items) - 1 else "")
            doc.add(pad + "}" + suffix)
        elif isinstance(v, list):
            if not v:
                doc.add(pad + prefix + "[]" + suffix)
                return
            doc.add(pad + prefix + "[")
            for i, x in enumerate(v):
                rec(x, level + 1, "", "," if i < len(v) - 1 else "")
            doc.add(pad + "]" + suffix)
        else:
            doc.add(pad + prefix + scalar(v) + suffix)

    rec(obj, 0, "", "")
    return doc


_PLAIN = re.compile(r"[A-Za-z0-9_./@%+][A-Za-z0-9_./@%+=:,~ ()-]*")
_SPECIAL_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "~", "y", "n"}


def yscalar(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, (int, float)):
        return str(v)
    s = str(v)
    if (_PLAIN.fullmatch(s) and not s.endswith((" ", ":")) and ": " not in s and " #" not in s
            and s.lower() not in _SPECIAL_WORDS and not re.fullmatch(r"[-+]?[0-9._eE]+", s)):
        return s
    return json.dumps(s, ensure_ascii=False)


def emit_yaml(obj, doc: Doc | None = None, level: int = 0, list_indent: int = 2) -> Doc:
    """Block-style YAML.  Multi-line strings become ``|`` block scalars; marks land on the line
    where the value starts (the first content line of a block scalar)."""
    doc = doc or Doc()

    def val_str(v):
        if isinstance(v, Raw):
            return v.text
        return yscalar(v)

    def is_multiline(v):
        raw = v.value if isinstance(v, M) else v
        return isinstance(raw, str) and "\n" in raw

    def write_kv(pad: str, key_prefix: str, k, v, ind: int):
        head = pad + key_prefix + f"{k}:"
        if isinstance(v, (M, Raw)) and not is_multiline(v):
            item = v.item
            text = val_str(v.value if isinstance(v, M) else v)
            doc.add(f"{head} {text}", item, 0, (v.span or 1) if isinstance(v, M) else 1)
        elif is_multiline(v):
            raw = v.value if isinstance(v, M) else v
            body = raw.rstrip("\n").split("\n")
            doc.add(f"{head} |")
            inner = " " * (ind + 2)
            item = v.item if isinstance(v, M) else None
            doc.add([inner + b for b in body], item, 0, len(body))
        elif isinstance(v, dict):
            if not v:
                doc.add(f"{head} {{}}")
            else:
                doc.add(head)
                write_map(v, ind + 2)
        elif isinstance(v, list):
            if not v:
                doc.add(f"{head} []")
            else:
                doc.add(head)
                write_list(v, ind + list_indent)
        else:
            doc.add(f"{head} {yscalar(v)}")

    def write_map(d: dict, ind: int, first_prefix: str = ""):
        pad = " " * ind
        for i, (k, v) in enumerate(d.items()):
            if i == 0 and first_prefix:
                write_kv(" " * (ind - len(first_prefix)), first_prefix, k, v, ind)
            else:
                write_kv(pad, "", k, v, ind)

    def write_list(lst: list, ind: int):
        pad = " " * ind
        for x in lst:
            if isinstance(x, dict) and x:
                write_map(x, ind + 2, "- ")
            elif isinstance(x, M):
                doc.add(pad + "- " + val_str(x.value), x.item, 0, x.span or 1)
            elif isinstance(x, Raw):
                doc.add(pad + "- " + x.text, x.item)
            else:
                doc.add(pad + "- " + yscalar(x))

    if isinstance(obj, dict):
        write_map(obj, level)
    else:
        write_list(obj, level)
    return doc


# ------------------------------------------------------------------------------------------------
# files


def family_of(path: str) -> str:
    p = path.lower()
    name = p.rsplit("/", 1)[-1]
    if "node_modules/" in p or "/vendor/" in p or p.startswith("vendor/") or "/static/vendor/" in p:
        return "vendored"
    if name in ("package-lock.json", "yarn.lock", "poetry.lock", "go.sum", "composer.lock", "gemfile.lock",
                ".terraform.lock.hcl", "pnpm-lock.yaml"):
        return "lockfile"
    if name == "dockerfile" or name.startswith("dockerfile.") or name.endswith(".dockerfile"):
        return "dockerfile"
    if name.startswith(".env") or name.endswith(".env"):
        return "env"
    ext = name.rsplit(".", 1)[-1] if "." in name else ""
    table = {
        "py": "python", "js": "javascript", "ts": "javascript", "tsx": "javascript", "jsx": "javascript",
        "mjs": "javascript", "cjs": "javascript", "go": "go", "java": "java", "kt": "java", "rb": "ruby",
        "php": "php", "cs": "csharp", "csproj": "xml", "sh": "shell", "bash": "shell", "ps1": "shell",
        "bat": "shell", "yaml": "yaml", "yml": "yaml", "json": "json", "properties": "config", "ini": "config",
        "toml": "config", "cfg": "config", "conf": "config", "xml": "xml", "config": "xml", "tf": "terraform",
        "tfvars": "terraform", "tfstate": "terraform", "hcl": "terraform", "md": "markdown", "ipynb": "notebook",
        "sql": "sql", "log": "log", "pem": "keyfile", "key": "keyfile", "ppk": "keyfile", "asc": "keyfile",
        "crt": "keyfile", "pub": "keyfile", "p8": "keyfile",
    }
    if ext in table:
        return table[ext]
    if name in ("id_rsa", "id_ed25519", "id_ecdsa", "authorized_keys"):
        return "keyfile"
    if name in (".npmrc", ".pypirc", ".netrc", ".git-credentials", "credentials", "pip.conf", ".htpasswd"):
        return "config"
    return "other"


class File:
    def __init__(self, path: str, build, *, eol: str = "\n", bom: bool = False, encoding: str = "utf-8",
                 life: tuple[int, int] = (0, INF), tracked: bool = True, final_newline: bool = True):
        self.path = path
        self.build = build if callable(build) else (lambda c, d=build: d)
        self.eol = eol
        self.bom = bom
        self.encoding = encoding
        self.life = life
        self.tracked = tracked
        self.final_newline = final_newline
        self.family = family_of(path)

    def alive(self, c: int) -> bool:
        return self.life[0] <= c < self.life[1]

    def file_tags(self) -> list[str]:
        t = []
        if self.eol == "\r\n":
            t.append("crlf")
        if self.bom and self.encoding == "utf-8":
            t.append("bom")
        if self.encoding.startswith("utf-16"):
            t.append("utf16")
        return t

    def encode(self, doc: Doc) -> bytes:
        text = self.eol.join(doc.lines) + (self.eol if self.final_newline else "")
        if self.encoding.startswith("utf-16"):
            return b"\xff\xfe" + text.encode("utf-16-le")
        data = text.encode("utf-8")
        return (b"\xef\xbb\xbf" + data) if self.bom else data


# ------------------------------------------------------------------------------------------------
# rendering, git, labels


def _git_env(tmp_home: str, c: int | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    # An empty file, not /dev/null: a git config write would rename its lock over /dev/null.
    global_config = os.path.join(tmp_home, ".gitconfig")
    open(global_config, "a").close()
    env.update({"HOME": tmp_home, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": global_config,
                "LC_ALL": "C", "TZ": "UTC"})
    if c is not None:
        msg, name, email, date = COMMITS[c]
        env.update({"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_AUTHOR_DATE": date,
                    "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email, "GIT_COMMITTER_DATE": date})
    return env


def _git(out: str, env: dict, *args: str) -> str:
    base = ["git", "-c", "core.autocrlf=false", "-c", "core.safecrlf=false", "-c", "commit.gpgsign=false",
            "-c", "core.fileMode=false", "-c", "init.defaultBranch=main", "-c", "core.quotePath=false"]
    r = subprocess.run(base + list(args), cwd=out, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {r.stderr}")
    return r.stdout


def _value_variants(v: str) -> list[str]:
    out = [v, json.dumps(v)[1:-1], v.replace("&", "&amp;"), json.dumps(json.dumps(v)[1:-1])[1:-1]]
    return [x for x in out if x]


def value_present(item: Item, lines: list[str]) -> bool:
    """True if the item's value (or an alternative representation) is written in ``lines``."""
    text = "\n".join(lines)
    for cand in [item.value, *item.alts]:
        if not cand:
            continue
        if "\n" in cand.strip("\n"):
            parts = [p.strip() for p in cand.strip("\n").split("\n") if p.strip()]
            if all(any(x in text for x in _value_variants(p)) for p in parts):
                return True
        elif any(x in text for x in _value_variants(cand)):
            return True
    return False


def check_marks(path: str, c: int, doc: Doc, strict_categories=("secret",)) -> list[str]:
    problems = []
    for idx, item, span in doc.marks:
        if item.category in strict_categories and not value_present(item, doc.lines[idx: idx + span]):
            problems.append(f"{path}@{c}: {item.category} {item.kind}/{item.subkind} line {idx + 1} span {span}: "
                            f"value not found there: {doc.lines[idx][:100]!r}")
    return problems


def render_and_commit(files: dict[str, File], out: str) -> list[str]:
    """Render every commit into ``out`` (a new git repository).  Returns the commit ids."""
    os.makedirs(out, exist_ok=True)
    tmp_home = tempfile.mkdtemp(prefix="acc-gen-home-")
    try:
        _git(out, _git_env(tmp_home), "init", "-q", "-b", "main")
        shas: list[str] = []
        written: dict[str, bytes] = {}
        paths = sorted(files)
        for c in range(len(COMMITS)):
            current: dict[str, bytes] = {}
            for p in paths:
                f = files[p]
                if not f.tracked or not f.alive(c):
                    continue
                doc = f.build(c)
                if doc is None:
                    continue
                problems = check_marks(p, c, doc)
                if problems:
                    raise AssertionError("label self-check failed:\n" + "\n".join(problems[:20]))
                for idx, item, span in doc.marks:
                    item.occ[c] = (p, idx + 1, idx + span)
                    for t in f.file_tags():
                        if t not in item.file_tags:
                            item.file_tags.append(t)
                current[p] = f.encode(doc)
            for p in written:
                if p not in current:
                    os.remove(os.path.join(out, p))
            for p, data in current.items():
                if written.get(p) != data:
                    full = os.path.join(out, p)
                    os.makedirs(os.path.dirname(full), exist_ok=True)
                    with open(full, "wb") as fh:
                        fh.write(data)
            written = current
            env = _git_env(tmp_home, c)
            _git(out, env, "add", "-A")
            _git(out, env, "commit", "-q", "--allow-empty", "-m", COMMITS[c][0])
            shas.append(_git(out, env, "rev-parse", "HEAD").strip())
        # untracked (git-ignored) working-tree files, e.g. node_modules/
        for p in paths:
            f = files[p]
            if f.tracked:
                continue
            doc = f.build(HEAD)
            for idx, item, span in doc.marks:
                item.occ[HEAD] = (p, idx + 1, idx + span)
            full = os.path.join(out, p)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as fh:
                fh.write(f.encode(doc))
        _git(out, _git_env(tmp_home), "gc", "-q", "--prune=now")
        return shas
    finally:
        shutil.rmtree(tmp_home, ignore_errors=True)


def check_separation(items: list[Item]) -> None:
    """No decoy or neutral value may sit within one line of a secret in the same file version,
    otherwise the ±1 line-matching rule could not tell them apart."""
    by_loc: dict[tuple[int, str], list[tuple[int, int, Item]]] = {}
    for it in items:
        for c, (p, a, b) in it.occ.items():
            by_loc.setdefault((c, p), []).append((a, b, it))
    for (c, p), lst in by_loc.items():
        secrets = [(a, b, it) for a, b, it in lst if it.category == "secret"]
        others = [(a, b, it) for a, b, it in lst if it.category != "secret"]
        for a, b, it in others:
            for sa, sb, s in secrets:
                if a <= sb + 1 and b >= sa - 1:
                    raise AssertionError(f"{p}@{c}: {it.category} {it.kind} at {a}-{b} is adjacent to secret "
                                         f"{s.kind} at {sa}-{sb}")


def build_labels(items: list[Item], files: dict[str, File], shas: list[str], seed: int, scale: int,
                 out_name: str) -> dict:
    def first_occ(it: Item):
        c = HEAD if HEAD in it.occ else min(it.occ)
        return c, it.occ[c]

    live = [it for it in items if it.occ]
    live.sort(key=lambda it: (first_occ(it)[1][0], first_occ(it)[0] != HEAD, first_occ(it)[1][1],
                              it.category, it.kind, it.subkind, sha1(it.value)))
    counters = {"secret": 0, "decoy": 0, "neutral": 0}
    prefix = {"secret": "S", "decoy": "D", "neutral": "N"}
    out = {"secret": [], "decoy": [], "neutral": []}
    for it in live:
        c, (path, line, end_line) = first_occ(it)
        counters[it.category] += 1
        commits = sorted(it.occ)
        in_head = HEAD in it.occ
        tags = list(it.tags)
        for t in it.file_tags:
            if t not in tags:
                tags.append(t)
        if not in_head and "history-only" not in tags:
            tags.append("history-only")
        b, a = it.context
        rec = {
            "id": f"{prefix[it.category]}{counters[it.category]:04d}",
            "kind": it.kind,
            "subkind": it.subkind,
            "family": files[path].family,
            "path": path,
            "line": line,
            "end_line": end_line,
            "region": [max(1, line - b), end_line + a],
            "tags": tags,
            "sha256": sha256(it.value),
            "sha1": sha1(it.value),
            "alt_sha1": [sha1(a) for a in it.alts],
            "in_head": in_head,
            "tracked": files[path].tracked,
            "history_only": not in_head,
            "introduced_commit": shas[commits[0]] if files[path].tracked else None,
            "removed_commit": (shas[max(commits) + 1] if max(commits) < HEAD else None) if files[path].tracked
            else None,
            "occurrences": [{"commit": shas[k], "line": it.occ[k][1], "end_line": it.occ[k][2],
                             "region": [max(1, it.occ[k][1] - b), it.occ[k][2] + a]}
                            for k in commits] if files[path].tracked else [],
        }
        if it.looks_like:
            rec["looks_like"] = it.looks_like
        if it.note:
            rec["note"] = it.note
        out[it.category].append(rec)
    fam = {p: f.family for p, f in sorted(files.items())}
    counts = {}
    for cat in ("secret", "decoy", "neutral"):
        per: dict[str, int] = {}
        for r in out[cat]:
            per[r["kind"]] = per.get(r["kind"], 0) + 1
        counts[cat] = dict(sorted(per.items()))
    return {
        "version": 1,
        "generator": "benchmarks/accuracy/generate.py",
        "seed": seed,
        "scale": scale,
        "corpus": out_name,
        "commits": [{"index": i, "sha": s, "message": COMMITS[i][0]} for i, s in enumerate(shas)],
        "head": shas[-1],
        "files": fam,
        "counts": counts,
        "secrets": out["secret"],
        "decoys": out["decoy"],
        "neutral": out["neutral"],
    }
