from __future__ import annotations

from leakstop.verify.pairing import Companion, pair
from tests.verify.conftest import make_finding

KEY_ID = "AKIAQYLPMN5HHHFPZAM2"
OTHER_ID = "AKIAZ7RQW2MPLK4NXV3D"
SECRET = "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"


def test_the_nearest_companion_in_the_same_file_is_paired() -> None:
    far = make_finding("aws-access-key-id", OTHER_ID, line=1)
    near = make_finding("aws-access-key-id", KEY_ID, line=9)
    secret = make_finding("aws-secret-access-key", SECRET, line=10)
    elsewhere = make_finding("aws-access-key-id", OTHER_ID, path="other.env", line=10)
    credentials = pair([far, near, secret, elsewhere])
    [paired] = [c for c in credentials if c.primary is secret]
    assert paired.companions["access_key_id"] is near
    assert paired.companion_secret("access_key_id") == KEY_ID
    # Unclaimed companions stay credentials of their own; the claimed one does not.
    assert [c.primary for c in credentials] == [far, secret, elsewhere]


def test_companions_come_from_the_same_commit_only() -> None:
    key_id = make_finding("aws-access-key-id", KEY_ID, line=1, commit="a" * 40)
    secret = make_finding("aws-secret-access-key", SECRET, line=2, commit="b" * 40)
    [first, second] = pair([key_id, secret])
    assert second.primary is secret
    assert dict(second.companions) == {}
    assert first.primary is key_id


def test_on_a_tie_the_companion_above_wins() -> None:
    above = make_finding("aws-access-key-id", KEY_ID, line=4)
    below = make_finding("aws-access-key-id", OTHER_ID, line=6)
    secret = make_finding("aws-secret-access-key", SECRET, line=5)
    [credential] = [c for c in pair([below, secret, above]) if c.primary is secret]
    assert credential.companions["access_key_id"] is above
    assert set(credential.findings) == {secret, above}


def test_custom_companion_tables() -> None:
    token = make_finding("t", "x" * 20, line=3)
    sid = make_finding("s", "y" * 20, line=2)
    [credential] = pair([token, sid], {"t": (Companion("sid", ("s",)),)})
    assert credential.companions == {"sid": sid}
