"""Value generators for the accuracy corpus: credentials in their issuers' real formats.

Every value is drawn from a seeded ``random.Random`` and never corresponds to a real credential.
Key material (RSA, EC P-256, Ed25519) is mathematically valid, built with the standard library
only, so that a scanner that parses or validates key structure accepts it as a real key.
Standard library only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import random
import string
import struct
import zlib

UPPER = string.ascii_uppercase
LOWER = string.ascii_lowercase
DIGITS = string.digits
ALNUM = UPPER + LOWER + DIGITS
HEX = "0123456789abcdef"
B64 = UPPER + LOWER + DIGITS + "+/"
B64URL = UPPER + LOWER + DIGITS + "-_"
BASE62 = DIGITS + UPPER + LOWER  # ordering used by GitHub/npm checksums (pybase62 default)
AWS_ID_CHARS = UPPER + "234567"


# --------------------------------------------------------------------------------------------
# small encoding helpers


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def b64url_nopad(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def base62(n: int, width: int = 0) -> str:
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = BASE62[r] + out
    return out.rjust(width, "0") if width else (out or "0")


def wrap(s: str, width: int) -> list[str]:
    return [s[i : i + width] for i in range(0, len(s), width)]


def int_bytes(n: int) -> bytes:
    return n.to_bytes(max(1, (n.bit_length() + 7) // 8), "big")


# --------------------------------------------------------------------------------------------
# DER


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    b = int_bytes(n)
    return bytes([0x80 | len(b)]) + b


def der(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _der_len(len(body)) + body


def der_int(n: int) -> bytes:
    b = n.to_bytes((n.bit_length() + 8) // 8, "big") if n else b"\x00"
    return der(0x02, b)


def der_seq(*items: bytes) -> bytes:
    return der(0x30, b"".join(items))


def der_oid(dotted: str) -> bytes:
    parts = [int(x) for x in dotted.split(".")]
    body = bytes([parts[0] * 40 + parts[1]])
    for p in parts[2:]:
        enc = [p & 0x7F]
        p >>= 7
        while p:
            enc.append(0x80 | (p & 0x7F))
            p >>= 7
        body += bytes(reversed(enc))
    return der(0x06, body)


DER_NULL = b"\x05\x00"


def der_octets(b: bytes) -> bytes:
    return der(0x04, b)


def der_bits(b: bytes) -> bytes:
    return der(0x03, b"\x00" + b)


def der_utf8(s: str) -> bytes:
    return der(0x0C, s.encode())


def der_printable(s: str) -> bytes:
    return der(0x13, s.encode())


def der_utctime(s: str) -> bytes:
    return der(0x17, s.encode())


def der_ctx(n: int, body: bytes, constructed: bool = True) -> bytes:
    return der((0xA0 if constructed else 0x80) | n, body)


def pem(label: str, data: bytes) -> str:
    return "\n".join([f"-----BEGIN {label}-----", *wrap(b64(data), 64), f"-----END {label}-----"])


# --------------------------------------------------------------------------------------------
# RSA

_SMALL_PRIMES = [p for p in range(3, 3000) if all(p % q for q in range(2, int(p**0.5) + 1))]
_SMALL_PRODUCT = math.prod(_SMALL_PRIMES)


def _probable_prime(n: int, rng: random.Random, rounds: int = 16) -> bool:
    if math.gcd(n, _SMALL_PRODUCT) != 1:
        return False
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for _ in range(rounds):
        a = rng.randrange(2, n - 2)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int, rng: random.Random) -> int:
    while True:
        c = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if _probable_prime(c, rng):
            return c


class RSAKey:
    def __init__(self, rng: random.Random, bits: int = 2048):
        e = 65537
        while True:
            p = _prime(bits // 2, rng)
            q = _prime(bits // 2, rng)
            if p == q:
                continue
            phi = (p - 1) * (q - 1)
            if math.gcd(e, phi) == 1:
                break
        if p < q:  # PKCS#1 convention: p > q
            p, q = q, p
        self.n, self.e, self.p, self.q = p * q, e, p, q
        self.d = pow(e, -1, phi)
        self.dp, self.dq = self.d % (p - 1), self.d % (q - 1)
        self.qinv = pow(q, -1, p)
        self.bits = bits

    # encodings ---------------------------------------------------------------------------
    def pkcs1_der(self) -> bytes:
        return der_seq(*(der_int(x) for x in (0, self.n, self.e, self.d, self.p, self.q,
                                              self.dp, self.dq, self.qinv)))

    def pkcs1_pem(self) -> str:
        return pem("RSA PRIVATE KEY", self.pkcs1_der())

    def pkcs8_pem(self) -> str:
        alg = der_seq(der_oid("1.2.840.113549.1.1.1"), DER_NULL)
        return pem("PRIVATE KEY", der_seq(der_int(0), alg, der_octets(self.pkcs1_der())))

    def spki_der(self) -> bytes:
        alg = der_seq(der_oid("1.2.840.113549.1.1.1"), DER_NULL)
        return der_seq(alg, der_bits(der_seq(der_int(self.n), der_int(self.e))))

    def public_pem(self) -> str:
        return pem("PUBLIC KEY", self.spki_der())

    def sign_sha256(self, msg: bytes) -> bytes:
        digest_info = bytes.fromhex("3031300d060960864801650304020105000420") + hashlib.sha256(msg).digest()
        k = (self.n.bit_length() + 7) // 8
        em = b"\x00\x01" + b"\xff" * (k - len(digest_info) - 3) + b"\x00" + digest_info
        return pow(int.from_bytes(em, "big"), self.d, self.n).to_bytes(k, "big")

    def certificate_pem(self, rng: random.Random, cn: str, org: str, year: int) -> str:
        sigalg = der_seq(der_oid("1.2.840.113549.1.1.11"), DER_NULL)
        name = der_seq(
            der(0x31, der_seq(der_oid("2.5.4.6"), der_printable("US"))),
            der(0x31, der_seq(der_oid("2.5.4.10"), der_utf8(org))),
            der(0x31, der_seq(der_oid("2.5.4.3"), der_utf8(cn))),
        )
        validity = der_seq(der_utctime(f"{year % 100:02d}0115000000Z"),
                           der_utctime(f"{(year + 2) % 100:02d}0115000000Z"))
        tbs = der_seq(der_ctx(0, der_int(2)), der_int(rng.getrandbits(120)), sigalg, name,
                      validity, name, self.spki_der())
        cert = der_seq(tbs, sigalg, der_bits(self.sign_sha256(tbs)))
        return pem("CERTIFICATE", cert)

    # ssh ----------------------------------------------------------------------------------
    def ssh_public_blob(self) -> bytes:
        return ssh_string(b"ssh-rsa") + ssh_mpint(self.e) + ssh_mpint(self.n)

    def ssh_public_line(self, comment: str) -> str:
        return f"ssh-rsa {b64(self.ssh_public_blob())} {comment}"

    def openssh_private(self, rng: random.Random, comment: str) -> str:
        priv = (ssh_string(b"ssh-rsa") + ssh_mpint(self.n) + ssh_mpint(self.e) + ssh_mpint(self.d)
                + ssh_mpint(self.qinv) + ssh_mpint(self.p) + ssh_mpint(self.q))
        return openssh_container(rng, self.ssh_public_blob(), priv, comment)

    def putty_ppk(self, comment: str) -> str:
        pub = self.ssh_public_blob()
        priv = ssh_mpint(self.d) + ssh_mpint(self.p) + ssh_mpint(self.q) + ssh_mpint(self.qinv)
        mac_key = hashlib.sha1(b"putty-private-key-file-mac-key").digest()
        mac_data = (ssh_string(b"ssh-rsa") + ssh_string(b"none") + ssh_string(comment.encode())
                    + ssh_string(pub) + ssh_string(priv))
        mac = hmac.new(mac_key, mac_data, hashlib.sha1).hexdigest()
        pub_lines = wrap(b64(pub), 64)
        priv_lines = wrap(b64(priv), 64)
        return "\n".join(["PuTTY-User-Key-File-2: ssh-rsa", "Encryption: none", f"Comment: {comment}",
                          f"Public-Lines: {len(pub_lines)}", *pub_lines,
                          f"Private-Lines: {len(priv_lines)}", *priv_lines, f"Private-MAC: {mac}"])

    # OpenPGP --------------------------------------------------------------------------------
    def pgp_blocks(self, uid: str, ctime: int) -> tuple[str, str]:
        pub_body = b"\x04" + struct.pack(">I", ctime) + b"\x01" + pgp_mpi(self.n) + pgp_mpi(self.e)
        # OpenPGP stores p < q and u = p^-1 mod q
        p, q = min(self.p, self.q), max(self.p, self.q)
        secret = pgp_mpi(self.d) + pgp_mpi(p) + pgp_mpi(q) + pgp_mpi(pow(p, -1, q))
        sec_body = pub_body + b"\x00" + secret + struct.pack(">H", sum(secret) & 0xFFFF)
        uid_pkt = pgp_packet(13, uid.encode())
        sec = pgp_armor("PGP PRIVATE KEY BLOCK", pgp_packet(5, sec_body) + uid_pkt)
        pub = pgp_armor("PGP PUBLIC KEY BLOCK", pgp_packet(6, pub_body) + uid_pkt)
        return sec, pub


def ssh_string(b: bytes) -> bytes:
    return struct.pack(">I", len(b)) + b


def ssh_mpint(n: int) -> bytes:
    return ssh_string(n.to_bytes((n.bit_length() + 8) // 8, "big") if n else b"")


def openssh_container(rng: random.Random, pub_blob: bytes, priv_fields: bytes, comment: str) -> str:
    check = struct.pack(">I", rng.getrandbits(32)) * 2
    body = check + priv_fields + ssh_string(comment.encode())
    i = 1
    while len(body) % 8:
        body += bytes([i])
        i += 1
    blob = (b"openssh-key-v1\x00" + ssh_string(b"none") + ssh_string(b"none") + ssh_string(b"")
            + struct.pack(">I", 1) + ssh_string(pub_blob) + ssh_string(body))
    return "\n".join(["-----BEGIN OPENSSH PRIVATE KEY-----", *wrap(b64(blob), 70),
                      "-----END OPENSSH PRIVATE KEY-----"])


def pgp_mpi(n: int) -> bytes:
    return struct.pack(">H", n.bit_length()) + int_bytes(n)


def pgp_packet(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 192:
        ln = bytes([n])
    elif n < 8384:
        ln = bytes([((n - 192) >> 8) + 192, (n - 192) & 0xFF])
    else:
        ln = b"\xff" + struct.pack(">I", n)
    return bytes([0xC0 | tag]) + ln + body


def crc24(data: bytes) -> int:
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def pgp_armor(label: str, data: bytes) -> str:
    return "\n".join([f"-----BEGIN {label}-----", "", *wrap(b64(data), 64),
                      "=" + b64(struct.pack(">I", crc24(data))[1:]), f"-----END {label}-----"])


# --------------------------------------------------------------------------------------------
# EC P-256

_P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_G = (0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
      0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5)


def _ec_add(P1, P2):
    if P1 is None:
        return P2
    if P2 is None:
        return P1
    (x1, y1), (x2, y2) = P1, P2
    if x1 == x2 and (y1 + y2) % _P == 0:
        return None
    if P1 == P2:
        lam = (3 * x1 * x1 - 3) * pow(2 * y1, -1, _P) % _P
    else:
        lam = (y2 - y1) * pow(x2 - x1, -1, _P) % _P
    x3 = (lam * lam - x1 - x2) % _P
    return (x3, (lam * (x1 - x3) - y1) % _P)


def _ec_mul(k: int, P):
    R = None
    while k:
        if k & 1:
            R = _ec_add(R, P)
        P = _ec_add(P, P)
        k >>= 1
    return R


class ECKey:
    def __init__(self, rng: random.Random):
        self.d = rng.randrange(1, _N)
        x, y = _ec_mul(self.d, _G)
        self.pub = b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big")

    def sec1_der(self, with_params: bool = True) -> bytes:
        parts = [der_int(1), der_octets(self.d.to_bytes(32, "big"))]
        if with_params:
            parts.append(der_ctx(0, der_oid("1.2.840.10045.3.1.7")))
        parts.append(der_ctx(1, der_bits(self.pub)))
        return der_seq(*parts)

    def sec1_pem(self) -> str:
        return pem("EC PRIVATE KEY", self.sec1_der())

    def pkcs8_pem(self) -> str:
        alg = der_seq(der_oid("1.2.840.10045.2.1"), der_oid("1.2.840.10045.3.1.7"))
        return pem("PRIVATE KEY", der_seq(der_int(0), alg, der_octets(self.sec1_der(False))))

    def public_pem(self) -> str:
        alg = der_seq(der_oid("1.2.840.10045.2.1"), der_oid("1.2.840.10045.3.1.7"))
        return pem("PUBLIC KEY", der_seq(alg, der_bits(self.pub)))


# --------------------------------------------------------------------------------------------
# Ed25519 (RFC 8032 public-key derivation)

_EP = 2**255 - 19
_ED = -121665 * pow(121666, _EP - 2, _EP) % _EP
_EI = pow(2, (_EP - 1) // 4, _EP)


def _xrecover(y: int) -> int:
    xx = (y * y - 1) * pow(_ED * y * y + 1, _EP - 2, _EP)
    x = pow(xx, (_EP + 3) // 8, _EP)
    if (x * x - xx) % _EP:
        x = x * _EI % _EP
    return _EP - x if x % 2 else x


_EBy = 4 * pow(5, _EP - 2, _EP) % _EP
_EB = (_xrecover(_EBy), _EBy)


def _ed_add(P, Q):
    (x1, y1), (x2, y2) = P, Q
    t = _ED * x1 * x2 * y1 * y2
    return ((x1 * y2 + x2 * y1) * pow(1 + t, _EP - 2, _EP) % _EP,
            (y1 * y2 + x1 * x2) * pow(1 - t, _EP - 2, _EP) % _EP)


def _ed_mul(P, e: int):
    Q = (0, 1)
    while e:
        if e & 1:
            Q = _ed_add(Q, P)
        P = _ed_add(P, P)
        e >>= 1
    return Q


class Ed25519Key:
    def __init__(self, rng: random.Random):
        self.seed = bytes(rng.getrandbits(8) for _ in range(32))
        h = hashlib.sha512(self.seed).digest()
        a = int.from_bytes(h[:32], "little")
        a &= (1 << 254) - 8
        a |= 1 << 254
        x, y = _ed_mul(_EB, a)
        self.pub = (y | ((x & 1) << 255)).to_bytes(32, "little")

    def ssh_public_blob(self) -> bytes:
        return ssh_string(b"ssh-ed25519") + ssh_string(self.pub)

    def ssh_public_line(self, comment: str) -> str:
        return f"ssh-ed25519 {b64(self.ssh_public_blob())} {comment}"

    def openssh_private(self, rng: random.Random, comment: str) -> str:
        priv = ssh_string(b"ssh-ed25519") + ssh_string(self.pub) + ssh_string(self.seed + self.pub)
        return openssh_container(rng, self.ssh_public_blob(), priv, comment)


# --------------------------------------------------------------------------------------------
# token formats


class Values:
    """Random credential values in issuers' formats. All draws come from ``rng``."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self._seen: set[str] = set()

    # primitives ---------------------------------------------------------------------------
    def s(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def unique(self, fn, *a):
        for _ in range(100):
            v = fn(*a)
            if v not in self._seen:
                self._seen.add(v)
                return v
        raise RuntimeError("could not draw a unique value")

    def hexs(self, n: int) -> str:
        return self.s(HEX, n)

    def digits(self, n: int) -> str:
        return self.rng.choice("123456789") + self.s(DIGITS, n - 1)

    def b64_bytes(self, nbytes: int) -> str:
        return b64(bytes(self.rng.getrandbits(8) for _ in range(nbytes)))

    def rbytes(self, n: int) -> bytes:
        return bytes(self.rng.getrandbits(8) for _ in range(n))

    def uuid4(self) -> str:
        h = list(self.hexs(32))
        h[12] = "4"
        h[16] = self.rng.choice("89ab")
        h = "".join(h)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def with_mixed(self, alphabet: str, n: int) -> str:
        """A random string that contains at least one upper, one lower and one digit."""
        need = [cls for cls in (str.isupper, str.islower, str.isdigit) if any(cls(c) for c in alphabet)]
        while True:
            v = self.s(alphabet, n)
            if all(any(cls(c) for c in v) for cls in need):
                return v

    # checksummed tokens -------------------------------------------------------------------
    def _crc_token(self, prefix: str, good: bool = True) -> str:
        body = self.with_mixed(ALNUM, 30)
        crc = zlib.crc32(body.encode()) & 0xFFFFFFFF
        if not good:
            crc = (crc + 1 + self.rng.randrange(10**6)) & 0xFFFFFFFF
        return prefix + body + base62(crc, 6)

    def github(self, prefix: str = "ghp_", good: bool = True) -> str:
        return self.unique(self._crc_token, prefix, good)

    def github_fine_grained(self) -> str:
        return self.unique(lambda: "github_pat_11" + self.with_mixed(UPPER + DIGITS, 20) + "_"
                           + self.with_mixed(ALNUM, 59))

    def npm(self) -> str:
        return self.unique(self._crc_token, "npm_")

    # providers --------------------------------------------------------------------------------
    def aws_key_id(self, prefix: str = "AKIA") -> str:
        return self.unique(lambda: prefix + self.s(AWS_ID_CHARS, 16))

    def aws_secret(self) -> str:
        return self.unique(lambda: self.with_mixed(UPPER + LOWER + DIGITS + "+/", 40))

    def aws_session_token(self) -> str:
        body = self.b64_bytes(self.rng.randrange(300, 420)).rstrip("=")
        return self.unique(lambda: "IQoJb3JpZ2luX2VjE" + self.s("HIJKLMNOPQ", 1) + "a" + body)

    def gcp_api_key(self) -> str:
        return self.unique(lambda: "AIza" + "Sy" + self.with_mixed(ALNUM + "-_", 33))

    def azure_storage_key(self) -> str:
        return self.unique(lambda: b64(self.rbytes(64)))

    def azure_sas_sig(self) -> str:
        return b64(self.rbytes(32))

    def azure_client_secret(self) -> str:
        return self.unique(lambda: self.s(ALNUM, 3) + self.s(DIGITS, 1) + "Q~"
                           + self.with_mixed(ALNUM + "_~.-", 34))

    def gitlab(self, prefix: str = "glpat-") -> str:
        if prefix == "glptt-":
            return self.unique(lambda: prefix + self.hexs(40))
        if prefix == "glrt-":
            return self.unique(lambda: prefix + self.with_mixed(ALNUM + "_-", 20))
        return self.unique(lambda: prefix + self.with_mixed(ALNUM + "_-", 20))

    def slack(self, kind: str) -> str:
        if kind == "bot":
            return self.unique(lambda: f"xoxb-{self.digits(12)}-{self.digits(13)}-{self.with_mixed(ALNUM, 24)}")
        if kind == "user":
            return self.unique(lambda: f"xoxp-{self.digits(12)}-{self.digits(12)}-{self.digits(13)}-{self.hexs(32)}")
        if kind == "app":
            return self.unique(lambda: f"xapp-1-A{self.s(UPPER + DIGITS, 10)}-{self.digits(13)}-{self.hexs(64)}")
        if kind == "webhook":
            return self.unique(lambda: "https://hooks.slack.com/services/T" + self.s(UPPER + DIGITS, 10) + "/B"
                               + self.s(UPPER + DIGITS, 10) + "/" + self.with_mixed(ALNUM, 24))
        raise ValueError(kind)

    def stripe(self, prefix: str) -> str:
        if prefix == "whsec_":
            return self.unique(lambda: "whsec_" + self.with_mixed(ALNUM, 32))
        acct = "51" + self.with_mixed(ALNUM, 14)
        return self.unique(lambda: prefix + acct + self.with_mixed(ALNUM, 83))

    def stripe_short(self, prefix: str) -> str:
        return self.unique(lambda: prefix + self.with_mixed(ALNUM, 24))

    def twilio_sid(self, prefix: str = "AC") -> str:
        return self.unique(lambda: prefix + self.hexs(32))

    def twilio_auth_token(self) -> str:
        return self.unique(lambda: self.hexs(32))

    def twilio_api_secret(self) -> str:
        return self.unique(lambda: self.with_mixed(ALNUM, 32))

    def sendgrid(self) -> str:
        return self.unique(lambda: "SG." + self.with_mixed(ALNUM + "-_", 22) + "." + self.with_mixed(ALNUM + "-_", 43))

    def mailgun(self) -> str:
        return self.unique(lambda: "key-" + self.hexs(32))

    def openai(self, project: bool) -> str:
        if project:
            return self.unique(lambda: "sk-proj-" + self.with_mixed(ALNUM + "-_", 74) + "T3BlbkFJ"
                               + self.with_mixed(ALNUM + "-_", 74))
        return self.unique(lambda: "sk-" + self.with_mixed(ALNUM, 20) + "T3BlbkFJ" + self.with_mixed(ALNUM, 20))

    def anthropic(self) -> str:
        return self.unique(lambda: "sk-ant-api03-" + self.with_mixed(ALNUM + "-_", 93) + "AA")

    def huggingface(self) -> str:
        return self.unique(lambda: "hf_" + self.with_mixed(UPPER + LOWER, 34).replace("0", "a"))

    def pypi(self) -> str:
        ident = json.dumps({"version": 1, "permissions": {"projects": ["acme-billing-client"]}},
                           separators=(",", ":")).encode()
        mac = (b"\x02\x01\x08pypi.org\x02" + bytes([len(ident)]) + ident + b"\x00"
               + b"\x02\x01" + bytes([16]) + self.rbytes(16) + b"\x00\x00\x06\x20" + self.rbytes(32))
        return self.unique(lambda: "pypi-" + b64url_nopad(mac))

    def dockerhub(self) -> str:
        return self.unique(lambda: "dckr_pat_" + self.with_mixed(ALNUM + "-_", 27))

    def heroku_v2(self) -> str:
        return self.unique(lambda: "HRKU-AA" + self.with_mixed(ALNUM + "-_", 58))

    def digitalocean(self, prefix: str = "dop_v1_") -> str:
        return self.unique(lambda: prefix + self.hexs(64))

    def datadog_api(self) -> str:
        return self.unique(lambda: self.hexs(32))

    def datadog_app(self) -> str:
        return self.unique(lambda: self.hexs(40))

    def newrelic_user(self) -> str:
        return self.unique(lambda: "NRAK-" + self.s(UPPER + DIGITS, 27))

    def newrelic_license(self) -> str:
        return self.unique(lambda: self.hexs(36) + "NRAL")

    def sentry_user_token(self) -> str:
        return self.unique(lambda: "sntryu_" + self.hexs(64))

    def sentry_org_token(self) -> str:
        payload = {"iat": 1717000000 + self.rng.randrange(10**7), "url": "https://sentry.io",
                   "region_url": "https://us.sentry.io", "org": "acme"}
        body = b64(json.dumps(payload, separators=(",", ":")).encode()).rstrip("=")
        return self.unique(lambda: "sntrys_" + body + "_" + self.with_mixed(ALNUM + "+/", 43))

    def shopify(self, prefix: str) -> str:
        return self.unique(lambda: prefix + self.hexs(32))

    def square_access(self) -> str:
        return self.unique(lambda: "EAAA" + self.with_mixed(ALNUM + "-_", 60))

    def square_oauth_secret(self) -> str:
        return self.unique(lambda: "sq0csp-" + self.with_mixed(ALNUM + "-_", 43))

    def braintree(self) -> str:
        return self.unique(lambda: "access_token$production$" + self.s(LOWER + DIGITS, 16) + "$" + self.hexs(32))

    def discord_bot(self) -> str:
        uid = str(self.rng.randrange(10**17, 10**18 * 2))
        return self.unique(lambda: b64(uid.encode()).rstrip("=") + "." + self.with_mixed(ALNUM + "-_", 6)
                           + "." + self.with_mixed(ALNUM + "-_", 38))

    def discord_webhook(self) -> str:
        return self.unique(lambda: f"https://discord.com/api/webhooks/{self.digits(19)}/"
                           + self.with_mixed(ALNUM + "-_", 68))

    def telegram(self) -> str:
        return self.unique(lambda: f"{self.digits(10)}:AA" + self.with_mixed(ALNUM + "-_", 33))

    def jwt(self, sub: str, aud: str, exp_year: int = 2031) -> str:
        hdr = {"alg": self.rng.choice(["HS256", "RS256"]), "typ": "JWT"}
        iat = 1700000000 + self.rng.randrange(3 * 10**7)
        exp = int((exp_year - 1970) * 365.25 * 86400) + self.rng.randrange(10**6)
        payload = {"sub": sub, "aud": aud, "iss": "https://auth.acme-corp.io/", "iat": iat, "exp": exp,
                   "scope": self.rng.choice(["billing:write", "orders:read orders:write", "admin", "reports:read"]),
                   "jti": self.uuid4()}
        sig_len = 32 if hdr["alg"] == "HS256" else 256
        return self.unique(lambda: b64url_nopad(json.dumps(hdr, separators=(",", ":")).encode()) + "."
                           + b64url_nopad(json.dumps(payload, separators=(",", ":")).encode()) + "."
                           + b64url_nopad(self.rbytes(sig_len)))

    # passwords and generic secrets --------------------------------------------------------
    PW_SPECIAL = "!@#%^*-_=+.?~"

    def random_password(self, n: int | None = None) -> str:
        n = n or self.rng.randrange(14, 25)
        if self.rng.random() < 0.3:  # generator output without symbols (pwgen -s, openssl rand -hex ...)
            return self.unique(lambda: self.with_mixed(ALNUM, n + 4))
        while True:
            v = self.with_mixed(ALNUM + self.PW_SPECIAL, n)
            if any(c in self.PW_SPECIAL for c in v) and v[0] not in "-=#!@%^*" and v not in self._seen:
                self._seen.add(v)
                return v

    HUMAN_WORDS = ["Summer", "Winter", "Autumn", "Spring", "Falcon", "Tiger", "Dragon", "Monkey", "Orange",
                   "Purple", "Rocket", "Phoenix", "Coffee", "Sunshine", "Galaxy", "Thunder", "Maple", "River",
                   "Harbor", "Eagle", "Silver", "Copper", "Velvet", "Panda", "Zebra", "Cobalt", "Atlas", "Nova"]
    HUMAN_SUFFIX = ["Deploy", "Prod", "Billing", "Admin", "Ops", "Team", "Db", "Acme", "Backup", "Stage",
                    "Reports", "Vault", "Infra", "Orders", "Payments"]

    def human_password(self) -> str:
        r = self.rng
        for _ in range(100):
            style = r.randrange(4)
            w = r.choice(self.HUMAN_WORDS)
            year = str(r.choice(range(2019, 2026)))
            sym = r.choice("!@#*?")
            if style == 0:
                v = f"{w}{year}{sym}{r.choice(self.HUMAN_SUFFIX)}"
            elif style == 1:
                v = f"{r.choice(self.HUMAN_SUFFIX)}{sym}{w}{r.randrange(10, 99)}"
            elif style == 2:
                v = f"{w.replace('o', '0').replace('a', '@').replace('e', '3')}{sym}{year}"
            else:
                v = f"{w}{r.choice(self.HUMAN_SUFFIX)}{r.randrange(100, 999)}{sym}"
            if v not in self._seen:
                self._seen.add(v)
                return v
        raise RuntimeError

    def generic_token(self) -> str:
        r = self.rng.randrange(5)
        if r == 0:
            return self.unique(lambda: self.hexs(self.rng.choice([32, 40, 48, 64])))
        if r == 1:
            return self.unique(lambda: self.with_mixed(ALNUM, self.rng.choice([32, 40, 48])))
        if r == 2:
            return self.unique(lambda: b64(self.rbytes(self.rng.choice([24, 32, 48]))))
        if r == 3:
            return self.unique(lambda: b64url_nopad(self.rbytes(32)))
        return self.unique(lambda: self.with_mixed(ALNUM + "-_", 43))

    def django_secret(self) -> str:
        return self.unique(lambda: "django-insecure-" + self.with_mixed(LOWER + DIGITS + "!@#%^*(-_=+)", 50)
                           if self.rng.random() < 0.3 else self.with_mixed(LOWER + DIGITS + "!@#%^*(-_=+)", 50))

    # decoy-ish helpers ------------------------------------------------------------------------
    def git_sha(self) -> str:
        return self.hexs(40)

    def sha256_hex(self) -> str:
        return hashlib.sha256(self.rbytes(16)).hexdigest()

    def sri(self, alg: str = "sha512") -> str:
        n = {"sha512": 64, "sha384": 48, "sha256": 32, "sha1": 20}[alg]
        return f"{alg}-" + b64(self.rbytes(n))

    def bcrypt(self) -> str:
        alpha = "./" + UPPER + LOWER + DIGITS
        return "$2b$12$" + self.s(alpha, 53)

    def png_base64(self, n: int = 180) -> str:
        # a real PNG signature + IHDR followed by random IDAT-looking bytes
        data = (b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + struct.pack(">II", 16, 16)
                + b"\x08\x06\x00\x00\x00" + struct.pack(">I", binascii.crc32(b"IHDR")) + self.rbytes(n))
        return b64(data)


def sha1(s: str) -> str:
    return hashlib.sha1(s.encode()).hexdigest()


def sha256(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()
