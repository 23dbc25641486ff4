"""Rules restricted to some files (`paths:`): glob syntax, one clear error for a bad glob, and
engines that run such a rule on matching files only."""

from __future__ import annotations

import pytest

from leakstop.errors import RuleError
from leakstop.rules.globs import PathGlobs, compile_globs, glob_problem
from leakstop.rules.loader import load_rule_document
from leakstop.scanner.engine import build_engine, hyperscan_available

RULE = """version: 1
rules:
  - id: acme-file-password
    description: password in an .acmerc
    regex: '(?m)^password=(?P<secret>\\S+)'
    keywords: [password=]
"""
ENGINES = ["keywords", *(["hyperscan"] if hyperscan_available() else [])]


@pytest.mark.parametrize(
    ("glob", "path", "matches"),
    [
        ("**/.netrc", ".netrc", True),
        ("**/.netrc", "home/ci/.netrc", True),
        ("**/.netrc", "home/ci/.netrc.bak", False),
        ("**/.netrc", "notes/netrc", False),
        ("_netrc", "users/me/_NETRC", True),  # no slash: any folder; case ignored
        ("**/filezilla/*.xml", "backup/FileZilla/sitemanager.xml", True),
        ("**/filezilla/*.xml", "backup/filezilla/old/sitemanager.xml", False),
        ("**/config/credentials/*.key", "config/credentials/production.key", True),
        ("**/.idea/webServers.xml", "app/.idea/WebServers.xml", True),
        ("secrets/**", "secrets/a/b.txt", True),
        ("secrets/**", "other/secrets/b.txt", False),
        ("**/ftpd.passw[d]", "etc/proftpd/ftpd.passwd", True),
        ("**/key.[!p]em", "a/key.pem", False),
        ("**/key.[!p]em", "a/key.gem", True),
        ("**/ftpd.passwd", "etc/ftpd+passwd", False),  # glob punctuation is literal
    ],
)
def test_globs(glob: str, path: str, matches: bool) -> None:
    assert glob_problem(glob) is None
    assert (compile_globs([glob]).fullmatch(path) is not None) is matches
    # The file-name check first must not change the answer, alone or among other globs.
    assert PathGlobs([glob]).matches(path) is matches
    assert PathGlobs(["**/.pgpass", glob, "secrets/**"]).matches(path) is (
        matches or path.startswith("secrets/")
    )


@pytest.mark.parametrize(
    ("paths", "message"),
    [
        ("[]", "paths must list at least one glob"),
        ("['/etc/shadow']", "drop the leading"),
        ("['**\\\\.netrc']", "no backslashes"),
        ("['a**b/c']", "only as a whole folder name"),
        ("['**/[ab.txt']", "unclosed"),
        ("'**/.acmerc'\n    keywords: []", "only a rule with `paths` may have none"),
    ],
)
def test_bad_paths_fail_with_one_line(paths: str, message: str) -> None:
    text = RULE + f"    paths: {paths}\n"
    if "keywords: []" in paths:
        text = RULE.replace("    keywords: [password=]\n", "") + "    keywords: []\n"
    with pytest.raises(RuleError, match=message) as error:
        load_rule_document(text, "acme.yaml")
    assert "acme.yaml: rule 'acme-file-password'" in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("kind", ENGINES)
def test_a_path_rule_runs_on_matching_files_only(kind: str) -> None:
    (rule,) = load_rule_document(RULE + "    paths: ['**/.acmerc']\n", "acme.yaml")
    engine = build_engine([rule], kind)
    data = b"user=me\npassword=pass123\n"
    assert engine.find(data) == []
    assert engine.find(data, "notes.txt") == []
    (candidate,) = engine.find(data, "home/.acmerc")
    assert data[candidate.secret_start : candidate.secret_end] == b"pass123"
    assert engine.path_group("notes.txt") == ""
    assert engine.path_group("home/.acmerc") != ""


@pytest.mark.parametrize("kind", ENGINES)
def test_a_path_rule_without_keywords_reads_the_whole_file(kind: str) -> None:
    text = RULE.replace("keywords: [password=]", "keywords: []") + "    paths: ['**/.acmerc']\n"
    (rule,) = load_rule_document(text, "acme.yaml")
    (candidate,) = build_engine([rule], kind).find(b"# header\npassword=x9\n", ".acmerc")
    assert candidate.rule is rule
