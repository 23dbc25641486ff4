from __future__ import annotations

import base64
import time

import pytest

from leakstop.allowlist import Allowlist
from leakstop.scanner.detector import Detector
from leakstop.scanner.engine import build_engine
from leakstop.scanner.sources import Chunk
from tests.conftest import AWS_KEY_ID, AWS_SECRET, GITHUB_TOKEN


def _scan(detector: Detector, text: str, path: str = "app.env"):  # type: ignore[no-untyped-def]
    return detector.detect(Chunk(path, text.encode()))


def test_specific_rule_shadows_generic_rule(detector: Detector) -> None:
    findings = _scan(detector, f"API_TOKEN={GITHUB_TOKEN}\n")
    assert [f.rule_id for f in findings] == ["github-pat"]


def test_generic_rule_does_not_report_a_rejected_specific_match(detector: Detector) -> None:
    bad_checksum = GITHUB_TOKEN[:-1] + "h"
    assert _scan(detector, f"API_TOKEN={bad_checksum}\n") == []


def test_location_is_one_based_with_exclusive_end(detector: Detector) -> None:
    (finding,) = _scan(detector, f"# config\n  token: {GITHUB_TOKEN}\n")
    location = finding.location
    assert (location.line, location.column) == (2, 10)
    assert (location.end_line, location.end_column) == (2, 10 + len(GITHUB_TOKEN))
    assert finding.validated


@pytest.mark.parametrize(
    "marker",
    ["# leakstop:allow", "# gitleaks:allow", "# pragma: allowlist secret"],
)
def test_inline_markers_suppress(detector: Detector, marker: str) -> None:
    assert _scan(detector, f"token = {GITHUB_TOKEN}  {marker}\n") == []


def test_nextline_marker_suppresses_the_next_line_only(detector: Detector) -> None:
    text = f"# pragma: allowlist nextline secret\nA={GITHUB_TOKEN}\nB={GITHUB_TOKEN}\n"
    assert [f.location.line for f in _scan(detector, text)] == [3]


def test_context_never_shows_any_secret_on_the_line(detector: Detector) -> None:
    unknown_format = "x9Kq2LmVp7Rt4WzN8bYc3"
    line = f"k {AWS_KEY_ID} aws_secret_access_key={AWS_SECRET} {AWS_KEY_ID} {unknown_format}"
    findings = _scan(detector, line + "\n")
    assert {f.rule_id for f in findings} >= {"aws-access-key-id", "aws-secret-access-key"}
    for finding in findings:
        assert AWS_KEY_ID not in finding.context
        assert AWS_SECRET not in finding.context
        assert unknown_format not in finding.context  # random-looking, no rule for it


def test_allowlists_apply_by_path_secret_and_rule(all_rules) -> None:  # type: ignore[no-untyped-def]
    import pathspec

    engine = build_engine(all_rules)
    text = f"token = {GITHUB_TOKEN}\n"
    by_path = Allowlist(paths=pathspec.GitIgnoreSpec.from_lines(["fixtures/"]))
    assert _scan(Detector(engine, [by_path]), text, "fixtures/a.txt") == []
    assert _scan(Detector(engine, [by_path]), text, "src/a.txt") != []
    other_rule = Allowlist(stopwords=("ghp_",), rules=frozenset({"generic-password"}))
    assert _scan(Detector(engine, [other_rule]), text) != []
    finding = _scan(Detector(engine), text)[0]
    by_fingerprint = Allowlist(fingerprints=frozenset({finding.fingerprint}))
    assert _scan(Detector(engine, [by_fingerprint]), text) == []


def test_fingerprint_key_changes_fingerprints(all_rules) -> None:  # type: ignore[no-untyped-def]
    engine = build_engine(all_rules)
    text = f"token = {GITHUB_TOKEN}\n"
    one = _scan(Detector(engine, fingerprint_key=b"a"), text)[0].fingerprint
    two = _scan(Detector(engine, fingerprint_key=b"b"), text)[0].fingerprint
    moved = _scan(Detector(engine, fingerprint_key=b"a"), "\n\n  " + text, "other.txt")[0]
    assert one != two
    assert moved.fingerprint == one


def test_generic_password_code_and_config_semantics(detector: Detector) -> None:
    assert _scan(detector, "password = dbPassword\n", "app.py") == []
    assert _scan(detector, 'password = "Xk4pRz8wQm"\n', "app.py") != []
    assert _scan(detector, "password: Xk4pRz8wQm\n", "config.yml") != []
    assert _scan(detector, "password = get_password()\n", "app.cfg") == []


def test_a_base64_value_holding_a_known_token_is_reported_as_that_token(detector: Detector) -> None:
    encoded = base64.b64encode(GITHUB_TOKEN.encode()).decode()
    (finding,) = _scan(detector, f"data:\n  api-token: {encoded}\n", "secret.yaml")
    assert finding.rule_id == "github-pat"
    assert finding.secret == GITHUB_TOKEN
    assert "decoded:base64" in finding.tags
    assert (finding.location.line, finding.location.column) == (2, 14)  # the encoded text
    assert finding.location.end_column == 14 + len(encoded)


def test_an_encoded_placeholder_is_still_a_placeholder(detector: Detector) -> None:
    encoded = base64.b64encode(b"changeme-placeholder").decode()
    assert _scan(detector, f"password: {encoded}\n", "secret.yaml") == []


def test_percent_encoded_password_is_reported_decoded(detector: Detector) -> None:
    (finding,) = _scan(detector, "DB_PASSWORD=Xk4p%40Rz8w%2FQm\n")
    assert finding.secret == "Xk4p@Rz8w/Qm"
    assert "decoded:percent" in finding.tags


def test_findings_in_tests_and_docs_get_a_lower_severity(detector: Detector) -> None:
    line = 'DB_PASSWORD = "Xk4pRz8wQm9"\n'
    assert _scan(detector, line, "app/settings.py")[0].severity.value == "high"
    in_tests = _scan(detector, line, "tests/test_settings.py")[0]
    assert in_tests.severity.value == "low"
    assert "test-or-doc" in in_tests.tags
    # A token whose checksum the issuer defines is real wherever it is.
    assert _scan(detector, f"T={GITHUB_TOKEN}\n", "docs/usage.md")[0].severity.value == "critical"


@pytest.mark.parametrize(
    "line",
    [
        'password = "pbkdf2_sha256$260000$abc$def"',
        "password: $2b$12$KIXQJ5jR6yHqxvSsVuN7yOe1a9b3x8mZQ9QyJ1m2x3Y4z5A6B7C8D",
        '"PasswordLastUsed": "2016-09-08T21:47:36Z"',
        '"nextToken": "RW5DdDJkMWJkZXRlc3R0b2tlbkNvbnRpbnVh"',
        'CSRF_TOKEN = "1bcdefghij2bcdefghij3bcdefghij"',
        '"MasterUserPassword": "mypassword"',
        'password = "user@example.com"',
        'secret_key = "AKIAEXAMPLEVALUE123456"',
    ],
)
def test_generic_false_positives_seen_in_real_code(detector: Detector, line: str) -> None:
    assert [
        f for f in _scan(detector, line + "\n", "config.json") if f.rule_id.startswith("generic")
    ] == []


def test_an_issuer_rule_beats_a_container_on_the_same_secret(detector: Detector) -> None:
    findings = _scan(detector, f"remote = https://ci:{GITHUB_TOKEN}@github.com/acme/app.git\n")
    assert [f.rule_id for f in findings] == ["github-pat"]


def test_many_findings_stay_linear(detector: Detector) -> None:
    """Thousands of findings on one line or on many lines: no pairwise work per finding."""
    import time

    one_line = " ".join(f"t={GITHUB_TOKEN}" for _ in range(2000))
    many_lines = "\n".join(f"TOKEN_{number}={GITHUB_TOKEN}" for number in range(20000))
    for text, expected in ((one_line, 2000), (many_lines, 20000)):
        # CPU time, not wall time: a loaded machine (other xdist workers) stretches the one
        # and not the other; quadratic versions took minutes of either.
        started = time.process_time()
        assert len(_scan(detector, text)) == expected
        assert time.process_time() - started < 30


def test_context_cut_never_shows_half_an_unknown_token(detector: Detector) -> None:
    unknown = "Zq8Xv3Lm9Tr2Kw7pNb4sHd6fQw2Er5Ty8Ui1Op3As6Df9Gh2Jk5L" * 4
    line = "x" * 50 + unknown + " padding " * 40 + f"TOKEN={GITHUB_TOKEN}\n"
    (finding,) = _scan(detector, line)
    for size in (12, 20):
        for start in range(0, len(unknown) - size, 7):
            assert unknown[start : start + size] not in finding.context


def _seconds_to_detect(detector: Detector, chunk: Chunk) -> tuple[float, int]:
    """The best of two runs (this machine is shared), and the number of findings."""
    times = []
    for _ in range(2):
        started = time.perf_counter()
        findings = detector.detect(chunk)
        times.append(time.perf_counter() - started)
    return min(times), len(findings)


def test_findings_in_a_big_python_file_cost_no_more_than_in_text(detector: Detector) -> None:
    """The docstring check must not rescan the file per finding: it did, and a 12 MB `.py`
    with 8,000 tokens took 66 s against 0.8 s as `.txt`."""
    code = "".join(f"    result_{i} = compute(left, right) + {i}\n" for i in range(24))
    block = f'"""Notes."""\nID = "{GITHUB_TOKEN}"\n{code}'
    data = (block * 2000).encode()  # 2 MB, 2,000 findings
    text_seconds, text_findings = _seconds_to_detect(detector, Chunk("big.txt", data))
    python_seconds, python_findings = _seconds_to_detect(detector, Chunk("big.py", data))
    assert text_findings == python_findings == 2000
    assert python_seconds <= 3 * text_seconds + 0.5, (python_seconds, text_seconds)


def test_the_same_value_again_on_the_line_is_redacted_in_the_context(detector: Detector) -> None:
    """Found by the hypothesis fuzz test: only the matched copy was redacted."""
    (finding,) = _scan(detector, 'Pass\tor"Rz5vQ9xT"Rz5vQ9xT')
    assert "Rz5vQ9xT" not in finding.context
    assert finding.context.count("[redacted]") == 2
