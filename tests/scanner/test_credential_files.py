"""Files that exist to hold credentials, under their real names, scanned through the CLI: a
weak value (`pass123`, `password`) is reported there, and the same text in an ordinary file
(`notes.txt`, `README.md`) is not. Password hashes are reported as their own kind."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from leakstop.cli import main
from tests.conftest import GitRepo

BCRYPT = "$2y$10$hcdxNTbWYP/23tLgjogY5.5h75EDKI6PiSx8Alxll5nkRhZH/qAMs"
SHA512 = (
    "$6$C.7kHkY/Hz9PHqM5$iHvwP1YimiNI9fpseXPczvF/1XsPF6FLpEDUMn9zaHzdQXJxh24ucwvQrDae3GWY1DnWsn"
    "AWUouvXoyx4h.QOq"
)
MD5CRYPT = "$1$wGztMQTg$r2tINvvIEP/sbwQgXyP8aP"

#: (path, content, rule id, the weak secret it must report).
CREDENTIAL_FILES = [
    (
        ".netrc",
        "machine ftp.shop.internal\n  login upload\n  password pass123\n",
        "netrc-file-password",
        "pass123",
    ),
    (
        "home/ci/_netrc",
        "default login anonymous password password\n",
        "netrc-file-password",
        "password",
    ),
    (".pgpass", "db.internal:5432:shop:shop:postgres\n", "pgpass-file-password", "postgres"),
    (
        ".git-credentials",
        "https://builder:letmein@git.corp.internal\n",
        "git-credentials-password",
        "letmein",
    ),
    (
        "config/master.key",
        "e6b2a4394987b9a4b98fb54e4876fc29\n",
        "rails-master-key",
        "e6b2a4394987b9a4b98fb54e4876fc29",
    ),
    (
        ".esmtprc",
        'hostname smtp.shop.internal:587\nusername "alerts"\npassword "mailer"\n',
        "esmtprc-password",
        "mailer",
    ),
    (
        "FileZilla/sitemanager.xml",
        "<Server><Host>ftp.shop.internal</Host><User>web</User>\n"
        '<Pass encoding="base64">cGFzczEyMw==</Pass></Server>\n',
        "filezilla-password",
        "pass123",
    ),
    (
        "filezilla/recentservers.xml",
        "<Server><User>web</User><Pass>web</Pass></Server>\n",
        "filezilla-password",
        "web",
    ),
    (
        ".idea/webServers.xml",
        '<fileTransfer accessType="SFTP" host="staging" login="deploy" password="dfc4" />\n',
        "jetbrains-webservers-password",
        "dfc4",
    ),
    (
        ".vscode/sftp.json",
        '{\n  "host": "staging",\n  "password": "admin"\n}\n',
        "sftp-config-password",
        "admin",
    ),
    (
        "sftp-config.json",
        '{\n    "user": "web",\n    "password": "password",\n}\n',
        "sftp-config-password",
        "password",
    ),
    (".my.cnf", "[client]\nuser=root\npassword=root\n", "mysql-option-file-password", "root"),
    (
        ".pypirc",
        "[internal]\nusername = release\npassword = release\n",
        "pypirc-password",
        "release",
    ),
    (
        "wp-config.php",
        "<?php\ndefine( 'DB_PASSWORD', 'wordpress' );\n",
        "wordpress-config-db-password",
        "wordpress",
    ),
    (
        "profile/logins.json",
        '{"logins":[{"encryptedPassword":"sIe4KJXcB/tIsNeg0/QmyhvE+MloEbzKJIUuJBSif0xd4JKE9KvgwAr9g08spssx"}]}\n',
        "firefox-logins-password",
        "sIe4KJXcB/tIsNeg0/QmyhvE+MloEbzKJIUuJBSif0xd4JKE9KvgwAr9g08spssx",
    ),
]

#: (path, content, rule id, hash).
HASH_FILES = [
    (
        "etc/shadow",
        f"root:{SHA512}:19721:0:99999:7:::\ndaemon:*:19721:0:99999:7:::\n",
        "password-hash-sha512crypt",
        SHA512,
    ),
    (".htpasswd", f"admin:{BCRYPT}\n", "password-hash-bcrypt", BCRYPT),
    (
        "etc/proftpd/ftpd.passwd",
        f"upload:{MD5CRYPT}:2001:2001::/srv/ftp:/bin/false\n",
        "password-hash-md5crypt",
        MD5CRYPT,
    ),
    (
        "dump.sql",
        f"INSERT INTO users VALUES (1,'ops','{BCRYPT}');\n",
        "password-hash-bcrypt",
        BCRYPT,
    ),
]


def _scan(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> list[dict[str, Any]]:
    code = main(
        [
            "scan",
            "--no-git",
            "--jobs",
            "1",
            "--format",
            "json",
            "--show-secrets",
            *extra,
            str(tmp_path),
        ]
    )
    findings: list[dict[str, Any]] = json.loads(capsys.readouterr().out)["findings"]
    assert code == (1 if findings else 0)
    return findings


@pytest.fixture(autouse=True)
def _outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("LEAKSTOP_CONFIG", raising=False)


def _write(root: Path, path: str, content: str) -> None:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content)


@pytest.mark.parametrize(
    ("path", "content", "rule_id", "secret"), CREDENTIAL_FILES, ids=lambda v: str(v)[:24]
)
def test_weak_value_is_reported_in_a_credential_file_only(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    path: str,
    content: str,
    rule_id: str,
    secret: str,
) -> None:
    _write(tmp_path, path, content)
    _write(tmp_path, "notes.txt", content)
    _write(tmp_path, "README.md", content)
    findings = _scan(tmp_path, capsys)
    assert [(f["path"], f["rule_id"], f["secret"]) for f in findings] == [(path, rule_id, secret)]
    assert "credential-file" in findings[0]["tags"]


@pytest.mark.parametrize(
    ("path", "content", "rule_id", "secret"), HASH_FILES, ids=lambda v: str(v)[:24]
)
def test_password_hashes_are_their_own_kind(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    path: str,
    content: str,
    rule_id: str,
    secret: str,
) -> None:
    _write(tmp_path, path, content)
    (finding,) = _scan(tmp_path, capsys)
    assert (finding["path"], finding["rule_id"], finding["secret"]) == (path, rule_id, secret)
    assert finding["severity"] == "medium"
    assert "password-hash" in finding["tags"]


def test_a_hash_format_mentioned_in_prose_is_not_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(
        tmp_path,
        "README.md",
        "Hashes look like $2b$12$ followed by 53 characters; shadow uses $6$.\n",
    )
    assert _scan(tmp_path, capsys) == []


@pytest.mark.parametrize(
    ("path", "content"),
    [
        (".netrc", "machine github.com login x-access-token password ${GITHUB_TOKEN}\n"),
        (".netrc", "machine api.example.org login me password <password>\n"),
        (".pgpass", "db.internal:5432:shop:shop:$PGPASSWORD\n"),
        (".my.cnf", "[client]\npassword={{ mysql_root_password }}\n"),
        (".vscode/sftp.json", '{"password": "********"}\n'),
    ],
)
def test_an_unfilled_template_in_a_credential_file_is_not_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], path: str, content: str
) -> None:
    _write(tmp_path, path, content)
    assert _scan(tmp_path, capsys) == []


@pytest.mark.parametrize("engine", ["keywords", "hyperscan"])
def test_both_engines_apply_path_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], engine: str
) -> None:
    if engine == "hyperscan":
        pytest.importorskip("hyperscan")
    _write(tmp_path, "deploy/.netrc", "machine h login u password pass123\n")
    _write(tmp_path, "deploy/netrc.txt", "machine h login u password pass123\n")
    findings = _scan(tmp_path, capsys, "--engine", engine)
    assert [(f["path"], f["rule_id"]) for f in findings] == [
        ("deploy/.netrc", "netrc-file-password")
    ]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def test_history_reads_a_blob_again_under_a_credential_file_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same bytes first committed as notes.txt, then as .netrc: history scans each blob
    once, but the .netrc copy gets the rules for .netrc files (and notes.txt does not)."""
    _git(tmp_path, "init", "-q")
    _write(tmp_path, "notes.txt", "machine h login u password pass123\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "notes")
    _write(tmp_path, ".netrc", "machine h login u password pass123\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "netrc")
    _write(tmp_path, "copy.txt", "machine h login u password pass123\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "copy")
    monkeypatch.chdir(tmp_path)
    code = main(["scan", "--git", "--jobs", "1", "--format", "json", "--show-secrets", "."])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert code == 1
    assert [(f["path"], f["rule_id"], f["secret"]) for f in findings] == [
        (".netrc", "netrc-file-password", "pass123")
    ]


def _dbeaver_file(plain: bytes) -> bytes:
    """credentials-config.json as DBeaver writes it: IV, then AES-128-CBC with its key."""
    import os

    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    key = bytes.fromhex("babb4a9f774ab853c96c2d653dfe544a")
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return iv + encryptor.update(padded) + encryptor.finalize()


def test_dbeavers_encrypted_saved_passwords_are_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = json.dumps(
        {
            "postgres-jdbc-18c2e4d1a9b-6f1": {
                "#connection": {"user": "reporting", "password": "pass123"}
            }
        }
    ).encode()
    sealed = _dbeaver_file(plain)
    folder = tmp_path / "DBeaverData" / "workspace6" / "General" / ".dbeaver"
    folder.mkdir(parents=True)
    (folder / "credentials-config.json").write_bytes(sealed)
    (tmp_path / "backup.bin").write_bytes(sealed)  # the same bytes under another name: binary
    (finding,) = _scan(tmp_path, capsys)
    assert (finding["rule_id"], finding["secret"]) == ("dbeaver-saved-password", "pass123")
    assert finding["path"].endswith(".dbeaver/credentials-config.json")


def test_a_credentials_config_json_that_is_not_dbeavers_is_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "credentials-config.json").write_bytes(bytes(range(256)) * 4)
    assert _scan(tmp_path, capsys) == []


def test_a_committed_dbeaver_file_is_found_in_history(
    git_repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = b'{"mysql8-18c2f0b7e42-3a9":{"#connection":{"user":"root","password":"Wq7zR4vLm2"}}}'
    target = git_repo.path / ".dbeaver" / "credentials-config.json"
    target.parent.mkdir()
    target.write_bytes(_dbeaver_file(plain))
    git_repo.commit("workspace")
    target.unlink()
    git_repo.commit("remove workspace")
    assert (
        main(["scan", "--git", "-j", "1", "-f", "json", "--show-secrets", str(git_repo.path)]) == 1
    )
    (finding,) = json.loads(capsys.readouterr().out)["findings"]
    assert (finding["rule_id"], finding["secret"]) == ("dbeaver-saved-password", "Wq7zR4vLm2")
