"""One repository content, four ways in: the files, `--git`, `--diff` and `--staged` must find
the same secrets in what each of them covers (here: files a single change adds)."""

from __future__ import annotations

import codecs
import contextlib
import io
import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from leakstop.cli import main
from tests.conftest import AWS_KEY_ID, GITHUB_TOKEN, GitRepo

pytestmark = pytest.mark.e2e

SECRET_LINES = [
    f"TOKEN={GITHUB_TOKEN}",
    f"aws_access_key_id = {AWS_KEY_ID}",
    'db_password = "Hq7vLp2xZr9wQm4k"',
    "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",
]
FILLER_LINES = ["MODE=prod", "# a comment", "", "name: service", "port = 8080", "ghp_short"]
LINE = st.one_of(st.sampled_from(SECRET_LINES), st.sampled_from(FILLER_LINES))
NAME = st.sampled_from(["app.env", "conf/settings.yaml", "deploy/run.sh", "notes.txt", "a b.ini"])
ENCODING = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "crlf"])
FILES = st.dictionaries(NAME, st.tuples(st.lists(LINE, max_size=6), ENCODING), max_size=4)
ATTRIBUTES = st.sampled_from(["", "* -diff\n", "* binary\n", "*.env -text\n"])


def _encode(lines: list[str], encoding: str) -> bytes:
    if encoding == "crlf":
        return "".join(line + "\r\n" for line in lines).encode()
    text = "".join(line + "\n" for line in lines)
    if encoding == "utf-16":
        return codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    return text.encode(encoding)


def _scan(*args: str, cwd: Path) -> set[tuple[str, int, str, str]]:
    out = io.StringIO()
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out):
            code = main(["scan", "-q", "-j", "1", "-f", "json", *args])
    finally:
        os.chdir(previous)
    assert code in (0, 1), out.getvalue()
    return {
        (f["path"], f["line"], f["rule_id"], f["fingerprint"])
        for f in json.loads(out.getvalue())["findings"]
        if f["path"] != ".gitattributes"
    }


@settings(
    max_examples=12,
    deadline=None,
    # Each example builds a repository and runs four scans: shrinking a failure would take
    # minutes; the failing example is printed as generated instead.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(files=FILES, attributes=ATTRIBUTES)
# Found by this test: history reported a token repeated within one file only once.
@example(files={"app.env": ([SECRET_LINES[0], SECRET_LINES[0]], "utf-8")}, attributes="")
@example(files={"a b.ini": (["x", SECRET_LINES[1]], "utf-16")}, attributes="* -diff\n")
def test_files_history_diff_and_staged_agree(
    files: dict[str, tuple[list[str], str]], attributes: str
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        repo = GitRepo(Path(folder))
        repo.write(".leakstop.yaml", "version: 1\nfingerprint:\n  salt: modes\n")
        repo.write("README.md", "base\n")
        repo.commit("base")
        if attributes:
            repo.write(".gitattributes", attributes)
        for name, (lines, encoding) in files.items():
            repo.write(name, _encode(lines, encoding))
        repo.git("add", "-A")
        staged = _scan("--staged", cwd=repo.path)
        repo.commit("add files")
        diff = _scan("--diff", "HEAD~1..HEAD", cwd=repo.path)
        history = _scan("--git", "--log-opts=HEAD~1..HEAD", cwd=repo.path)
        tree = _scan(cwd=repo.path)
        assert staged == diff == history == tree
        expected = sum(
            1 for lines, _encoding in files.values() for line in lines if line in SECRET_LINES
        )
        assert len(tree) == expected
