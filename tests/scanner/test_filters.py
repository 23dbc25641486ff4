from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leakstop.scanner import filters


@pytest.mark.parametrize(
    "value",
    [
        "${DB_PASSWORD}",
        "{{ .Values.password }}",
        "<your-api-key>",
        "%(password)s",
        "%DB_PASS%",
        "$DB_PASS",
        "#{secret}",
        "xxxxxxxx",
        "********",
        "changeme",
        "your_api_key_here",
        "password",
        "!vault",
        "aaaaaaaaaaaa",
    ],
)
def test_placeholders(value: str) -> None:
    assert filters.is_placeholder(value)


@pytest.mark.parametrize("value", ["Summer2024!Deploy", "q8#Lm2$vXe9!", "4f9d2c7b1e8a6f3d0c5b"])
def test_real_values_are_not_placeholders(value: str) -> None:
    assert not filters.is_placeholder(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("settings.DB_PASSWORD", True),
        ("os.environ", True),
        ("getPassword()", True),
        ("None", True),
        ("this->password", True),
        ("Summer2024!", False),
        ("hunter2", False),
    ],
)
def test_code_references(value: str, expected: bool) -> None:
    assert filters.is_code_reference(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("dbPassword", True),
        ("DB_PASSWORD", True),
        ("PKCS7PrivateKeyTypes", True),
        ("Xk4pRz8wQm", True),  # unquoted in code: a name, whatever it looks like
        ("Summer2024!", False),
        ("q8#Lm2$vXe9", False),
    ],
)
def test_bare_identifiers(value: str, expected: bool) -> None:
    assert filters.is_bare_identifier(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("privateKeyUsagePeriod", True),
        ("detect_secrets.main:main", True),
        ("BEARER_TOKEN", True),
        ("kebab-case-name", True),
        ("correcthorse", True),
        ("_DSAPrivateKey", True),
        (":py:data:", True),
        (":TokenStream", True),
        ("secret%3Dpassword", True),
        ("Xk4pRz8wQm", False),
        ("aZbYcXdWeVfU", False),
    ],
)
def test_word_like(value: str, expected: bool) -> None:
    assert filters.is_word_like(value) is expected


def test_prose_paths_letters_and_outer_whitespace() -> None:
    assert filters.is_prose("will be replaced")
    assert not filters.is_prose("correct horse 42")
    assert filters.is_path_like("/home/app/.pgpass")
    assert filters.is_path_like("./secrets/db.txt")
    assert not filters.is_path_like("Xk4p/Rz8wQm")
    assert not filters.has_letter("3.0-3.12")
    assert filters.has_letter("8080a")
    assert filters.has_outer_whitespace(" + access_key + ")
    assert filters.is_placeholder(" * {name}] ")
    assert filters.is_placeholder("user-%s-key")


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("password_min_length", True),
        ("secretName", True),
        ("token_url", True),
        ("DB_PASSWORD_FILE", True),
        ("passwordHash", True),
        ("DB_PASSWORD", False),
        ("client_secret", False),
        ("DB_PASSWORD_ADMIN", False),
    ],
)
def test_non_secret_keys(key: str, expected: bool) -> None:
    assert filters.is_non_secret_key(key) is expected


def test_inline_allow_markers() -> None:
    assert filters.has_inline_allow('key = "x"  # leakstop:allow')
    assert filters.has_inline_allow('key = "x"  # gitleaks:allow')
    assert filters.has_inline_allow('key = "x"  # pragma: allowlist secret')
    assert filters.has_inline_allow('key = "x"', "# pragma: allowlist nextline secret")
    assert not filters.has_inline_allow('key = "x"', "# unrelated")


def test_sequences_and_lockfiles() -> None:
    assert filters.is_sequential("abcdefghijkl")
    assert filters.is_sequential("0123456789")
    assert filters.is_lock_file("frontend/package-lock.json")
    assert filters.is_lock_file("go.sum")
    assert not filters.is_lock_file("main.go")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("[0-9A-Fa-f]{1,4}", True),
        ("\\d+-\\w+", True),
        ("(?:foo|bar)", True),
        (".*\\.example\\.com", True),
        ("^release-.*$", True),
        ("api-.*", True),
        ("(prod|stage).*token", True),
        ("a{2,}", True),
        # generated passwords hold regex characters without being patterns
        ("DmEhJk.*Zc9%x3E54yx8fV!s", False),
        ("^hK3v9!Lm2$Qx", False),
        ("Zq8~Xv3.Lm9_Tr2-Kw7pNb4sHd6f$", False),
        ("p@ss(w0rd)Kx9", False),
    ],
)
def test_regex_values(value: str, expected: bool) -> None:
    assert filters.is_regex(value) is expected


def _odd_triple_quotes_before(data: bytes, offset: int) -> bool:
    """The definition: an odd number of triple quotes before `offset`, counted per copy."""
    before = data[:offset]
    return (before.count(b'"""') + before.count(b"'''")) % 2 == 1


def test_docstring_index_finds_docstrings() -> None:
    data = b"x = 1\n\"\"\"Doc with key.\"\"\"\ny = '''\nmore\n'''\nz = 3\n"
    index = filters.DocstringIndex(data)
    assert not index.contains(data.index(b"x ="))
    assert index.contains(data.index(b"key"))
    assert not index.contains(data.index(b"y ="))
    assert index.contains(data.index(b"more"))
    assert not index.contains(data.index(b"z ="))


@given(st.binary(max_size=40).map(lambda raw: bytes(b"\"'a"[byte % 3] for byte in raw)))
def test_docstring_index_counts_like_bytes_count(data: bytes) -> None:
    """Runs of quotes (`''''`, `\"\"\"\"\"\"`) are counted left to right without overlap."""
    index = filters.DocstringIndex(data)
    for offset in range(len(data) + 1):
        assert index.contains(offset) is _odd_triple_quotes_before(data, offset)
