"""Search captured bytes for planted secrets in every form an output could carry them: clear,
base64 (standard and URL-safe, padded or not, at any alignment inside a longer encoded text such
as `user:pass`), URL-encoded, hex and JSON-escaped.

`Witness` collects what a run wrote — each command's stdout and stderr, each file written
under the watched folders, each HTTP request a local server received — each with the place
it came from, so a failure names where the secret escaped."""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import json
import os
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

#: Folders whose files are git's own copy of the repository (which holds the planted
#: secrets by design), not something leakstop wrote.
_GIT_STORAGE = ("/.git/objects/", "/.git/index", "/.git/shallow")


@dataclass(frozen=True)
class Hit:
    place: str
    secret: str
    encoding: str

    def __str__(self) -> str:
        return f"{self.secret} ({self.encoding}) in {self.place}"


def _base64_cores(value: bytes) -> dict[str, bytes]:
    """What any base64 text holding `value` contains, whatever came before it: the value is
    encoded at each of the three byte alignments and the characters that also depend on the
    neighbouring bytes are cut off. Padding only ever ends a text, so the cores carry none."""
    cores: dict[str, bytes] = {}
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + value)
        # Only characters whose six bits all come from the value: the first starts at the
        # first whole sextet after the prefix, the last ends where the value's bits end.
        core = encoded[(shift * 8 + 5) // 6 : (shift + len(value)) * 8 // 6]
        if len(core) >= 8:
            cores[f"base64 (offset {shift})"] = core
            urlsafe = core.replace(b"+", b"-").replace(b"/", b"_")
            if urlsafe != core:
                cores[f"base64url (offset {shift})"] = urlsafe
    return cores


def encodings(secret: str) -> dict[str, bytes]:
    """Every form of `secret` searched for, by name."""
    raw = secret.encode()
    forms: dict[str, bytes] = {"clear": raw}
    forms["base64 (whole)"] = base64.b64encode(raw)
    forms["base64 (whole, no padding)"] = base64.b64encode(raw).rstrip(b"=")
    forms["base64url (whole)"] = base64.urlsafe_b64encode(raw)
    forms.update(_base64_cores(raw))
    forms["url-encoded"] = urllib.parse.quote(secret, safe="").encode()
    forms["url-encoded (form)"] = urllib.parse.quote_plus(secret).encode()
    forms["hex"] = raw.hex().encode()
    forms["HEX"] = raw.hex().upper().encode()
    forms["json-escaped"] = json.dumps(secret)[1:-1].encode()
    forms["json-escaped (ascii, slashes)"] = json.dumps(secret)[1:-1].replace("/", "\\/").encode()
    unique: dict[str, bytes] = {}
    for name, form in forms.items():
        if form not in unique.values() and (name == "clear" or form != raw):
            unique[name] = form
    return unique


class SecretSearch:
    """The planted secrets (name -> value) and the byte forms to look for."""

    def __init__(self, secrets: Mapping[str, str]) -> None:
        self.needles = [
            (name, encoding, form)
            for name, value in secrets.items()
            for encoding, form in encodings(value).items()
        ]

    def find(self, place: str, data: bytes) -> list[Hit]:
        hits = []
        for name, encoding, form in self.needles:
            if form in data:
                hits.append(Hit(place, name, encoding))
        return hits


@dataclass
class Witness:
    """Everything a run wrote, by place."""

    captured: list[tuple[str, bytes]] = field(default_factory=list)

    def add(self, place: str, data: bytes | str) -> None:
        self.captured.append((place, data.encode() if isinstance(data, str) else data))

    def add_files(self, roots: Iterable[Path], before: Mapping[str, str]) -> list[str]:
        """Every file under `roots` that is new or changed since `before` (see `snapshot`);
        gzip files are searched decompressed too. Returns the places added."""
        added = []
        for path, digest in snapshot(roots).items():
            if before.get(path) == digest or any(part in path for part in _GIT_STORAGE):
                continue
            raw = Path(path).read_bytes()
            self.add(f"file {path}", raw)
            added.append(path)
            if path.endswith(".gz"):
                # Not gzip after all: it was searched as it is.
                with contextlib.suppress(OSError, EOFError):
                    self.add(f"file {path} (gunzipped)", gzip.decompress(raw))
        return added

    def hits(self, search: SecretSearch) -> list[Hit]:
        return [hit for place, data in self.captured for hit in search.find(place, data)]


def snapshot(roots: Iterable[Path]) -> dict[str, str]:
    """path -> SHA-256 of every regular file under `roots` (folders or files; symbolic links
    not followed)."""
    digests = {}
    for root in roots:
        if root.is_file():
            digests[str(root)] = hashlib.sha256(root.read_bytes()).hexdigest()
        for folder, _dirs, files in os.walk(root):
            for name in files:
                path = os.path.join(folder, name)
                if os.path.islink(path) or not os.path.isfile(path):
                    continue
                try:
                    digests[path] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
                except OSError:
                    continue  # a socket or a file removed meanwhile
    return digests
