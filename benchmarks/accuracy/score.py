#!/usr/bin/env python3
"""Score a secret scanner's findings against the accuracy corpus labels.

    python score.py --labels DIR.labels.json --findings FINDINGS --mode tree|history \
        [--format normalized|leakstop|gitleaks|kingfisher|detect-secrets] [--root DIR] [--json OUT]

Normalized findings are a JSON list of objects {path, line, end_line?, commit?, secret?, secret_sha1?, rule?}
with ``path`` relative to the corpus root.  The raw formats of leakstop, gitleaks, Kingfisher and
detect-secrets are normalized here (``--format``); run.py uses the same functions.

Matching rule (see README.md): a finding can only match an item in the same file (and, in history
mode, the same file version when the finding names a commit).  It is tried against secrets first,
then neutral items, then decoys, in three tiers:
  1. the finding's secret (sha1) equals one of the item's value representations;
  2. the finding's line lies inside the item's line range [line, end_line];
  3. the finding's line lies within one line of that range.
Within a tier, an item not yet matched wins over one already matched, then the nearest.
A secret matched by several findings counts once (duplicates are not false positives).  A finding
on a neutral item is ignored.  A finding on a decoy is a false positive charged to that decoy (each
decoy at most once); any other finding is an "unlabelled" false positive, counted once per
(path, line[, commit]).  Findings inside .git/ are ignored.  Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corpus_core import family_of  # noqa: E402


def sha1(s: str) -> str:
    return hashlib.sha1(s.encode("utf-8", "surrogatepass")).hexdigest()


# ------------------------------------------------------------------------------------------------
# normalizers: tool output -> [{path, line, end_line, commit, secret_sha1s, rule}]


def norm_path(p: str, root: str | None, target: str | None = None) -> str:
    p = p.replace("\\", "/")
    if root:
        ra = os.path.abspath(root).replace("\\", "/").rstrip("/") + "/"
        if p.startswith(ra):
            return p[len(ra):]
    for pre in filter(None, [target, root and os.path.basename(os.path.abspath(root))]):
        pre = pre.replace("\\", "/").rstrip("/") + "/"
        if pre not in ("./", "/") and p.startswith(pre):
            rest = p[len(pre):]
            if root is None or os.path.exists(os.path.join(root, rest)) or not os.path.exists(os.path.join(root, p)):
                p = rest
                break
    while p.startswith("./"):
        p = p[2:]
    return p


def _secret_hashes(*secrets) -> list[str]:
    out = []
    for s in secrets:
        if not s or not isinstance(s, str):
            continue
        for v in {s, s.strip(), s.strip().strip("'\"")}:
            if v:
                out.append(sha1(v))
    return sorted(set(out))


#: Finding kinds that are not credentials: leakstop reports password hashes (a shadow line, a
#: SQL dump) as findings of their own kind, which this benchmark, scoring leaked credentials,
#: leaves out unless asked (run.py --count-hashes). The corpus labels such hashes as decoys.
NOT_CREDENTIALS = {"password-hash"}


def normalize_leakstop(data, root=None, target=None, count_hashes=False):
    out = []
    findings = data.get("findings", []) if isinstance(data, dict) else data
    for f in findings:
        if not count_hashes and NOT_CREDENTIALS & set(f.get("tags") or ()):
            continue
        commit = f.get("commit")
        if isinstance(commit, dict):
            commit = commit.get("sha") or commit.get("id")
        out.append({"path": norm_path(f["path"], root, target), "line": int(f.get("line") or 0),
                    "end_line": int(f.get("end_line") or f.get("line") or 0), "commit": commit or None,
                    "secret_sha1s": _secret_hashes(f.get("secret")), "rule": f.get("rule_id", "")})
    return out


def normalize_gitleaks(data, root=None, target=None):
    out = []
    for f in data or []:
        out.append({"path": norm_path(f["File"], root, target), "line": int(f["StartLine"]),
                    "end_line": int(f.get("EndLine") or f["StartLine"]), "commit": f.get("Commit") or None,
                    "secret_sha1s": _secret_hashes(f.get("Secret")), "rule": f.get("RuleID", "")})
    return out


def normalize_kingfisher(data, root=None, target=None, history: bool | None = None):
    """history=True keeps only findings from git history, False only working-tree findings."""
    out = []
    for f in data.get("findings", []) if isinstance(data, dict) else data:
        fd = f.get("finding", f)
        gm = fd.get("git_metadata")
        if history is True and not gm:
            continue
        if history is False and gm:
            continue
        if gm:
            path = gm.get("file", {}).get("path") or fd.get("path")
            commit = gm.get("commit", {}).get("id")
        else:
            path, commit = fd.get("path"), None
        secrets = [fd.get("snippet")] + list((fd.get("dependent_captures") or {}).values())
        out.append({"path": norm_path(path, root, target), "line": int(fd.get("line") or 0),
                    "end_line": int(fd.get("line") or 0), "commit": commit,
                    "secret_sha1s": _secret_hashes(*secrets), "rule": (f.get("rule") or {}).get("id", "")})
    return out


def normalize_detect_secrets(data, root=None, target=None):
    out = []
    for path, lst in (data.get("results") or {}).items():
        for f in lst:
            out.append({"path": norm_path(path, root, target), "line": int(f["line_number"]),
                        "end_line": int(f["line_number"]), "commit": None,
                        "secret_sha1s": [f["hashed_secret"]] if f.get("hashed_secret") else [],
                        "rule": f.get("type", "")})
    return out


def normalize_plain(data, root=None, target=None):
    out = []
    for f in data:
        s = list(f.get("secret_sha1s") or [])
        if f.get("secret_sha1"):
            s.append(f["secret_sha1"])
        s += _secret_hashes(f.get("secret"))
        out.append({"path": norm_path(f["path"], root, target), "line": int(f["line"]),
                    "end_line": int(f.get("end_line") or f["line"]), "commit": f.get("commit"),
                    "secret_sha1s": sorted(set(s)), "rule": f.get("rule", "")})
    return out


NORMALIZERS = {"leakstop": normalize_leakstop, "gitleaks": normalize_gitleaks, "kingfisher": normalize_kingfisher,
               "detect-secrets": normalize_detect_secrets, "normalized": normalize_plain}


# ------------------------------------------------------------------------------------------------
# scoring


def _ranges(lab: dict, mode: str, commit: str | None):
    if mode == "tree":
        return [tuple(lab.get("region") or (lab["line"], lab["end_line"]))]
    occ = lab.get("occurrences") or []

    def rng(o):
        return tuple(o.get("region") or (o["line"], o["end_line"]))

    if commit:
        return [rng(o) for o in occ if o["commit"].startswith(commit) or commit.startswith(o["commit"])]
    return [rng(o) for o in occ]


def _in_scope(lab: dict, mode: str) -> bool:
    return lab["in_head"] if mode == "tree" else bool(lab.get("occurrences"))


class Scorer:
    def __init__(self, labels: dict, mode: str):
        assert mode in ("tree", "history")
        self.L = labels
        self.mode = mode
        self.by_path: dict[str, list[tuple[str, dict]]] = {}
        self.secrets = [s for s in labels["secrets"] if _in_scope(s, mode)]
        self.decoys = [d for d in labels["decoys"] if _in_scope(d, mode)]
        self.neutral = [n for n in labels["neutral"] if _in_scope(n, mode)]
        for cat, lst in (("secret", self.secrets), ("neutral", self.neutral), ("decoy", self.decoys)):
            for lab in lst:
                self.by_path.setdefault(lab["path"], []).append((cat, lab))
        self.commits = {c["sha"] for c in labels["commits"]}

    def _match(self, f: dict, cat: str, matched: set) -> dict | None:
        cands = [lab for c, lab in self.by_path.get(f["path"], []) if c == cat]
        if not cands:
            return None
        commit = f.get("commit") if self.mode == "history" else None
        hashes = set(f.get("secret_sha1s") or [])
        line = f["line"]

        def key(lab, dist):
            return (lab["id"] in matched, dist, lab["id"])

        tier1, tier2, tier3 = [], [], []
        for lab in cands:
            rngs = _ranges(lab, self.mode, commit)
            if not rngs:
                continue
            labh = {lab["sha1"], *lab.get("alt_sha1", [])}
            dist = min(0 if a <= line <= b else min(abs(line - a), abs(line - b)) for a, b in rngs)
            if hashes & labh:
                tier1.append(key(lab, dist) + (lab,))
            elif dist == 0:
                tier2.append(key(lab, dist) + (lab,))
            elif dist == 1:
                tier3.append(key(lab, dist) + (lab,))
        for tier in (tier1, tier2, tier3):
            if tier:
                return min(tier, key=lambda t: t[:3])[3]
        return None

    def score(self, findings: list[dict]) -> dict:
        matched: set[str] = set()
        decoy_hits: dict[str, dict] = {}
        neutral_hits: set[str] = set()
        unlabelled: dict[tuple, dict] = {}
        ignored = 0
        # deterministic order: findings with a secret hash first, then by location
        order = sorted(findings, key=lambda f: (not f.get("secret_sha1s"), f["path"], f["line"], f.get("commit") or ""))
        for f in order:
            if f["path"].startswith(".git/") or "/.git/" in f["path"]:
                ignored += 1
                continue
            lab = self._match(f, "secret", matched)
            if lab is not None:
                matched.add(lab["id"])
                continue
            if self._match(f, "neutral", neutral_hits) is not None:
                neutral_hits.add(self._match(f, "neutral", neutral_hits)["id"])
                continue
            dl = self._match(f, "decoy", set(decoy_hits))
            if dl is not None:
                decoy_hits[dl["id"]] = dl
                continue
            k = (f["path"], f["line"], f.get("commit") if self.mode == "history" else None)
            unlabelled.setdefault(k, f)
        return self._metrics(matched, decoy_hits, neutral_hits, unlabelled, ignored, len(findings))

    def _family(self, path: str) -> str:
        return self.L["files"].get(path) or family_of(path)

    def _metrics(self, matched, decoy_hits, neutral_hits, unlabelled, ignored, nfind):
        def prf(tp, n, fp):
            p = tp / (tp + fp) if tp + fp else None
            r = tp / n if n else None
            f1 = (2 * p * r / (p + r)) if p and r else (0.0 if (p is not None and r is not None) else None)
            return {"tp": tp, "n": n, "fp": fp, "fn": n - tp, "precision": p, "recall": r, "f1": f1}

        tp = len(matched)
        fp = len(decoy_hits) + len(unlabelled)
        res = {"mode": self.mode, "findings": nfind, "ignored_in_dot_git": ignored,
               "overall": prf(tp, len(self.secrets), fp)}
        # per kind
        kinds: dict[str, list] = {}
        for s in self.secrets:
            k = kinds.setdefault(s["kind"], [0, 0, 0])
            k[1] += 1
            k[0] += s["id"] in matched
        for d in decoy_hits.values():
            kinds.setdefault(d.get("looks_like") or "unlabelled", [0, 0, 0])[2] += 1
        if unlabelled:
            kinds.setdefault("unlabelled", [0, 0, 0])[2] += len(unlabelled)
        res["per_kind"] = {k: prf(*v[:2], v[2]) for k, v in sorted(kinds.items())}
        # per family
        fams: dict[str, list] = {}
        for s in self.secrets:
            x = fams.setdefault(s["family"], [0, 0, 0])
            x[1] += 1
            x[0] += s["id"] in matched
        for d in decoy_hits.values():
            fams.setdefault(d["family"], [0, 0, 0])[2] += 1
        for (path, _l, _c) in unlabelled:
            fams.setdefault(self._family(path), [0, 0, 0])[2] += 1
        res["per_family"] = {k: prf(*v[:2], v[2]) for k, v in sorted(fams.items())}
        # per tag (recall only) and per subkind
        tags: dict[str, list] = {}
        subs: dict[str, list] = {}
        for s in self.secrets:
            for t in s["tags"]:
                x = tags.setdefault(t, [0, 0])
                x[1] += 1
                x[0] += s["id"] in matched
            x = subs.setdefault(f"{s['kind']}/{s['subkind']}", [0, 0])
            x[1] += 1
            x[0] += s["id"] in matched
        res["per_tag"] = {k: {"tp": v[0], "n": v[1], "recall": v[0] / v[1]} for k, v in sorted(tags.items())}
        res["per_subkind"] = {k: {"tp": v[0], "n": v[1], "recall": v[0] / v[1]} for k, v in sorted(subs.items())}
        # decoys
        dk: dict[str, list] = {}
        for d in self.decoys:
            x = dk.setdefault(d["kind"], [0, 0])
            x[1] += 1
            x[0] += d["id"] in decoy_hits
        res["decoys"] = {k: {"flagged": v[0], "n": v[1]} for k, v in sorted(dk.items())}
        res["decoys_flagged"] = len(decoy_hits)
        res["decoys_total"] = len(self.decoys)
        res["unlabelled_fp"] = len(unlabelled)
        res["neutral_flagged"] = len(neutral_hits)
        res["neutral_total"] = len(self.neutral)
        res["missed"] = sorted(s["id"] for s in self.secrets if s["id"] not in matched)
        res["decoy_hits"] = sorted(decoy_hits)
        res["unlabelled"] = [{"path": p, "line": ln, "commit": c, "rule": f.get("rule", "")}
                             for (p, ln, c), f in sorted(unlabelled.items(), key=lambda kv: (kv[0][0], kv[0][1],
                                                                                            kv[0][2] or ""))]
        return res


def fmt(x) -> str:
    return "  n/a" if x is None else f"{x:5.3f}"


def print_report(res: dict, name: str = "tool") -> None:
    o = res["overall"]
    print(f"{name} [{res['mode']}]: recall {fmt(o['recall'])}  precision {fmt(o['precision'])}  F1 {fmt(o['f1'])}  "
          f"(TP {o['tp']}/{o['n']}, FP {o['fp']}: {res['decoys_flagged']} decoys + {res['unlabelled_fp']} unlabelled; "
          f"neutral flagged {res['neutral_flagged']}/{res['neutral_total']})")
    print(f"  {'family':<12} {'n':>4} {'recall':>7} {'prec':>7} {'F1':>7} {'FP':>4}")
    for k, v in res["per_family"].items():
        print(f"  {k:<12} {v['n']:>4} {fmt(v['recall']):>7} {fmt(v['precision']):>7} {fmt(v['f1']):>7} {v['fp']:>4}")
    print(f"  {'kind':<18} {'n':>4} {'recall':>7} {'prec':>7} {'FP':>4}")
    for k, v in res["per_kind"].items():
        print(f"  {k:<18} {v['n']:>4} {fmt(v['recall']):>7} {fmt(v['precision']):>7} {v['fp']:>4}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--labels", required=True)
    ap.add_argument("--findings", required=True)
    ap.add_argument("--mode", choices=["tree", "history"], default="tree")
    ap.add_argument("--format", choices=sorted(NORMALIZERS), default="normalized")
    ap.add_argument("--root", help="corpus directory (to turn tool paths into corpus-relative paths)")
    ap.add_argument("--json", help="write the full result here")
    a = ap.parse_args(argv)
    with open(a.labels, encoding="utf-8") as fh:
        labels = json.load(fh)
    with open(a.findings, encoding="utf-8") as fh:
        data = json.load(fh)
    if a.format == "kingfisher":
        findings = normalize_kingfisher(data, a.root, history=(a.mode == "history"))
    else:
        findings = NORMALIZERS[a.format](data, a.root)
    res = Scorer(labels, a.mode).score(findings)
    print_report(res, a.format)
    if a.json:
        with open(a.json, "w", encoding="utf-8") as fh:
            json.dump(res, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
