"""Run one command under `/usr/bin/time -v` and sample its whole process tree's RSS.

`time -v` reports the largest single process's peak (a scan's main process or one of its
workers); the sampler adds up every process of the tree every 0.2 s, which is what the
machine actually has to hold while a pooled scan runs.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

TIME = "/usr/bin/time"
SAMPLE_SECONDS = 0.2


@dataclass(frozen=True)
class Measured:
    returncode: int
    wall_seconds: float
    #: Peak RSS of the largest single process, as `time -v` prints it.
    max_rss_mib: float
    #: Peak of the summed RSS of the process tree, sampled.
    tree_rss_mib: float
    #: Peak of the summed anonymous RSS (RssAnon: heap, stacks; no mapped files) of the tree.
    tree_anon_mib: float
    stdout: bytes
    stderr: str
    #: User plus system CPU seconds of the command (its children included), as `time -v`
    #: prints them: unlike the wall time, barely moved by other jobs on shared cores.
    cpu_seconds: float = float("nan")


def run_measured(
    command: Sequence[str], env: Mapping[str, str] | None = None, stdout_path: Path | None = None
) -> Measured:
    """Run `command` niced under `time -v`; its stdout goes to `stdout_path` (or is kept)."""
    out = open(stdout_path, "wb") if stdout_path else subprocess.PIPE  # noqa: SIM115
    started = time.perf_counter()
    child = subprocess.Popen(
        ["nice", TIME, "-v", *command],
        stdout=out,
        stderr=subprocess.PIPE,
        env=dict(env) if env is not None else None,
    )
    peak = [0, 0]
    done = threading.Event()
    sampler = threading.Thread(target=_sample_tree, args=(child.pid, peak, done), daemon=True)
    sampler.start()
    captured, err = child.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    if stdout_path:
        out.close()  # type: ignore[union-attr]
    text = err.decode(errors="replace")
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    max_rss = int(match.group(1)) / 1024 if match else float("nan")
    cpu = sum(
        float(found.group(1))
        for found in re.finditer(r"(?:User|System) time \(seconds\): ([\d.]+)", text)
    )
    # Drop time's own report: what is left is the command's stderr.
    own = text.split("\tCommand being timed:")[0]
    return Measured(
        child.returncode,
        wall,
        max_rss,
        peak[0] / 1024,
        peak[1] / 1024,
        captured or b"",
        own,
        cpu if "User time" in text else float("nan"),
    )


def _sample_tree(root: int, peak: list[int], done: threading.Event) -> None:
    while not done.is_set():
        rss, anon = _tree_rss_kib(root)
        peak[0], peak[1] = max(peak[0], rss), max(peak[1], anon)
        done.wait(SAMPLE_SECONDS)


def _tree_rss_kib(root: int) -> tuple[int, int]:
    """(RSS, RssAnon) summed over `root` and its descendants, in KiB. RSS counts the pages of
    mapped files too (`git cat-file` maps whole pack files), which the page cache holds once."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    rss = anon = 0
    stack = [root]
    while stack:
        pid = stack.pop()
        status = _status(pid)
        rss += status.get("VmRSS", 0)
        anon += status.get("RssAnon", 0)
        stack.extend(children.get(pid, []))
    return rss, anon


def _status(pid: int) -> dict[str, int]:
    try:
        with open(f"/proc/{pid}/status") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return {}
    found = {}
    for line in lines:
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon"):
            found[name] = int(value.split()[0])
    return found


def mib(value: float) -> str:
    return f"{value:,.0f} MiB"
