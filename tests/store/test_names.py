"""Secret names, org names and backup names; a name's file name is safe and unique."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leakstop.errors import StoreError
from leakstop.store.names import check_backup_name, check_name, check_org, file_stem, name_of


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("db", "db"),
        ("billing/api-key", "billing_2Fapi-key"),
        ("Billing/db.pw", "_42illing_2Fdb_2Epw"),
        ("a_b", "a_5Fb"),
        ("team+ops/x=1@eu", "team_2Bops_2Fx_3D1_40eu"),
    ],
)
def test_a_name_becomes_a_safe_file_name_and_back(name: str, stem: str) -> None:
    assert file_stem(check_name(name)) == stem
    assert name_of(stem) == name


@pytest.mark.parametrize(
    "name",
    ["", "/a", "a/", "a//b", ".hidden", "a/../b", "a/./b", "a b", "a\nb", "ä", "x" * 73, "a\\b"],
)
def test_names_outside_the_rules_are_refused(name: str) -> None:
    with pytest.raises(StoreError, match="is not a secret name"):
        check_name(name)


@pytest.mark.parametrize("stem", ["_2e", "a_5f", "A", "..", "_2F", "a_ZZ", "_2Fa"])
def test_a_file_the_store_did_not_name_is_not_a_secret(stem: str) -> None:
    assert name_of(stem) is None


_segment = st.from_regex(r"[A-Za-z0-9_+=@-][A-Za-z0-9_+=.@-]{0,8}", fullmatch=True)
_names = st.lists(_segment, min_size=1, max_size=4).map("/".join).filter(lambda n: len(n) <= 72)


@given(_names, _names)
def test_two_names_never_share_a_file_even_ignoring_case(first: str, second: str) -> None:
    if first != second:
        assert file_stem(first).lower() != file_stem(second).lower()
    assert name_of(file_stem(first)) == first
    assert not file_stem(first).startswith(".")


def test_org_names_are_lowercase_folder_names() -> None:
    assert check_org("team-a_2") == "team-a_2"
    for bad in ("Team", "", "../x", "a/b", ".x", "x" * 64):
        with pytest.raises(StoreError, match="is not an org name"):
            check_org(bad)


def test_backup_names() -> None:
    assert check_backup_name("20260105T100000Z") == "20260105T100000Z"
    for bad in ("", ".tmp-x", "a/b", "../x", "x" * 65):
        with pytest.raises(StoreError, match="is not a backup name"):
            check_backup_name(bad)
