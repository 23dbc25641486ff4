"""Heuristic false-positive filters: small pure predicates on a candidate secret and its line.

They apply to generic (keyword = value) rules, whose matches are guesses until these rule out
templates, variables and look-alikes. Specific rules reject filler such as `sk_live_xxxx…`
through their own `entropy` minimum instead: a real key body may well contain `-----` or a long
run of `A` (OpenSSH private keys do). Where
detect-secrets already has the heuristic (`detect_secrets.filters.heuristic`) we call it.

Beside this module: `placeholders.py` (sequences, keyboard runs, stock passwords, variable
references), `ui_text.py` (UI text in any script, selectors, routes, locale files),
`examples.py` (issuers' documented example keys, for every rule) and `companions.py` (one
finding per leak).
"""

from __future__ import annotations

import bisect
import os
import posixpath
import re
import string
import urllib.parse

#: Markers that suppress findings on their line; the last two are detect-secrets' and gitleaks'
#: so existing annotations keep working.
INLINE_ALLOW = ("leakstop:allow", "gitleaks:allow", "pragma: allowlist secret")
#: detect-secrets' marker for the line below.
INLINE_ALLOW_NEXT = "pragma: allowlist nextline secret"

_TEMPLATE = re.compile(
    r"""
      \$\{[^}]*\}?            # ${VAR} (shell, Terraform, Spring)
    | \{\{.*?\}\}             # {{ .Values.x }} (Helm, Jinja, Mustache)
    | \{%.*?%\}               # {% ... %}
    | \$\([^)]*\)?            # $(VAR) (Make, Azure Pipelines)
    | %\([^)]*\)[sd]          # %(name)s (Python, ConfigParser)
    | %[A-Za-z_][A-Za-z0-9_]*%   # %VAR% (Windows)
    | \#\{[^}]*\}             # #{var} (Ruby, Octopus)
    | ^\$[A-Za-z_][A-Za-z0-9_]*$ # $VAR
    | ^<[^<>]*>$              # <your-key>
    | ^![A-Za-z]              # a YAML tag such as !vault or !Ref
    | …                       # already redacted (a report, a baseline, a log)
    | \{[A-Za-z_][\w.]*\}     # {name}: a format string (Python, C#, Rust)
    | %[sd](?![A-Za-z0-9])     # %s: printf-style
    | ^\[[^\[\]]*\]$          # [your key]
    | ^\{[^{}]*\}$            # {apiKey}
    """,
    re.VERBOSE,
)

_PLACEHOLDER_WORDS = re.compile(
    r"""(?ix)
      x{4,} | \*{3,} | \#{4,} | \.{3,} | _{4,} | -{4,}
    | your[_-]?(?:own[_-]?)?(?:api[_-]?)?(?:key|token|secret|pass|password|credentials?)
    | (?:key|token|secret|password)[_-]?here
    | change[_-]?me | changeit | placeholder | redacted | replace[_-]?me | insert[_-]?here
    | dummy | fake[_-]?(?:key|token|secret|password) | sample | example
    | not[_-]?a[_-]?(?:real[_-]?)?(?:key|secret|token)
    | ^(?:my|your|some|the|other|new|old|another|test|demo|default|super|top)[_-]?
       (?:(?:db|database|admin|user|app|api|secret|strong|secure)[_-]?)?
       (?:pass(?:word|wd)?|pwd|secret|token|key|api[_-]?key)s?[_-]?\d{0,4}$
    | ^(?:secret|password|passwd|token|api[_-]?key|none|null|nil|true|false|undefined|todo|
         fixme|tbd|test|testing|example|sample|default|empty|string|value|required|optional|
         admin|root|user|username|pass|secret[_-]?key|private[_-]?key|access[_-]?key)$
    """
)

#: A character repeated this often in a row does not occur in random keys (p < 1e-6).
_LONG_REPEAT = re.compile(r"(.)\1{7,}")

_IDENTIFIER_CHAIN = re.compile(r"^[A-Za-z_$][\w$]*(?:(?:\.|->|::)[A-Za-z_$][\w$]*)*(?:\(\))?$")
#: `args[token.index]`, `config["db"]["password"]`, `~azure.core.TokenCredential` (a Sphinx
#: cross-reference in a `:type:` field), `!!options.withCredentials`.
_EXPRESSION_CHAIN = re.compile(
    r"""(?x)^(?:~|!{1,2})?[A-Za-z_$][\w$]*
    (?:(?:\.|\?\.|->|::)[A-Za-z_$][\w$]*|\[(?:[A-Za-z_$][\w$.]*|\d+|"[^"]*"|'[^']*')\])*
    (?:\(\))?$"""
)
#: Operators of C-family code: an unquoted value holding one is an expression.
# `==` only with more after it: base64 padding ends a value.
# `/^...` opens a JavaScript regular-expression literal.
_OPERATOR = re.compile(r"^[=&|]|^/\^|={2,3}(?=[^=\s])|!==?|&&|\|\||\?\.[A-Za-z_$]|\?\?|=>")
#: A sigil variable (`$self`, `$CPAN::Config`, `@args`, `%opts`): Perl, PHP, shell.
_SIGIL_VARIABLE = re.compile(r"^[$@%][A-Za-z_][\w:]*-?$")
_CODE_LITERALS = frozenset(
    {"none", "null", "nil", "true", "false", "undefined", "nan", "self", "this", "new", "return"}
)

_NON_SECRET_KEY = re.compile(
    r"""(?ix)
    ^["']?(?:hash(?:ed)?|sha\d*|md5|digest|encrypted|masked|redacted)(?:[_.-]|(?-i:(?=[A-Z])))
    |
    (?:^|[_.-]|(?-i:(?<=[a-z])(?=[A-Z])))
    (?:hash(?:ed)?|digest|salt|length|len|min|max|policy|url|uri|endpoint|path|file|dir|env
      |var|name|id|type|field|label|hint|prompt|placeholder|regex|pattern|format|expiry
      |expires(?:_?at)?|expiration|ttl|timeout|count|size|enabled|required|reset|mode|header
      |param|strength|rule|rules|error|message|text|title|description|help|input|ref|kind
      |version|provider|location|store|manager|length|cache|key_?id|prefix|suffix|separator
    |last_?used|last_?changed|created(?:_?at)?|updated(?:_?at)?|date|time|age|policy_?name
    |spec|arn|usage|period|algorithm|algo|scheme|style|class|kind|rotation|encryption
    |encoding|method|hasher|selector|route|placeholder_?text|i18n|translation|locale)
    ["']?$
    """
)

#: Files where an unquoted value after `password =` is an expression, not a literal.
CODE_EXTENSIONS = frozenset(
    """
    .py .pyi .js .jsx .mjs .cjs .ts .tsx .go .java .kt .kts .scala .groovy .rb .php .cs .vb .fs
    .c .h .cc .cpp .hpp .m .mm .swift .rs .dart .lua .pl .pm .r .jl .ex .exs .erl .clj .hs .ml
    .vue .svelte
    """.split()
)


#: A value that only masks one (`****`, `xxxxxx`, `...`, `•••`): a form or a redacted copy.
_MASK_ONLY = re.compile(r"^(?:[*xX#._-]|\u2022){3,}$")


def is_unfilled_template(secret: str) -> bool:
    """A slot, not a value: `${PASS}`, `{{ pass }}`, `<password>`, `%(pw)s`, `$DB_PASS`,
    `****`. The only check left for rules that apply to credential files (`.netrc`,
    `.pgpass`), where a weak or stock-looking value is still the real password."""
    return bool(_TEMPLATE.search(secret) or _MASK_ONLY.match(secret))


def is_placeholder(secret: str) -> bool:
    """Templates (`${X}`, `{{ x }}`, `<your-key>`), filler (`xxxx`, `****`) and stock words."""
    return bool(
        _TEMPLATE.search(secret) or _PLACEHOLDER_WORDS.search(secret) or _LONG_REPEAT.search(secret)
    )


#: Hash formats stored where a password goes: they are not the password (crypt, Django,
#: LDAP, htpasswd) or content digests (`sha256:...`, `sha512-...`).
_HASH = re.compile(
    r"""(?x)
    ^(?:\$(?:2[abxy]?|1|5|6|y|gy|7|argon2(?:id|i|d)|scrypt|pbkdf2(?:-sha\d+)?|apr1|P|H)\$
      | (?:pbkdf2_sha\d+|bcrypt(?:_sha256)?|argon2|sha1|md5|scrypt|crypt)\$
      | \{(?:SSHA|SHA|SMD5|MD5|CRYPT|SSHA256|SSHA512|PBKDF2)[\w-]*\}
      | (?:sha1|sha224|sha256|sha384|sha512|md5|blake2b|xxh\d+)[:=-][A-Za-z0-9+/=]{16,}$)
    """
)
_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)
#: An e-mail address: its domain ends in a top-level domain of letters only, so a password
#: such as `ilcxp0JoF2v@FQfIC.O4v` (an `@` and a `.`, but no real domain) is not taken for one.
_EMAIL = re.compile(r"^[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,24}$")
_ASCENDING = re.compile(
    "|".join(
        "".join(chr(c) for c in range(start, start + 6)) for start in range(ord("a"), ord("u"))
    )
)
#: Paths of tests, fixtures, examples and documentation: findings there get a lower severity
#: (they are usually demo values), never silence.
_DEMO_PATH = re.compile(
    r"""(?ix)
    (?:^|/)(?:tests?|testing|spec|specs|__tests__|fixtures?|testdata|mocks?|examples?|samples?
            |docs?|documentation)(?:/|$)
    | (?:^|/)(?:test_[^/]*|tests?\.[a-z]+|[^/]*_test\.[a-z]+|[^/]*\.(?:test|spec)\.[a-z]+
              |[^/]*examples?[^/]*)$
    | \.(?:md|rst|adoc)$
    """
)


def is_identifier_uri(secret: str) -> bool:
    """An ARN, URN or similar name (`arn:aws:secretsmanager:...:secret:db`): it names a
    secret, it is not one."""
    if secret.endswith("/aws4_request"):
        return True  # a SigV4 credential scope: key id/date/region/service, no secret
    return secret.startswith(("arn:aws", "arn:aws-", "urn:", "projects/", "secretsmanager:"))


_TRIPLE_QUOTES = (re.compile(rb'"""'), re.compile(rb"'''"))


class DocstringIndex:
    """Answers "is this offset inside a triple-quoted string?" for one Python file, whose
    example values are documentation, hence demo values.

    Inside means an odd number of triple quotes (either kind, each counted left to right
    without overlap, as `bytes.count` does) end at or before the offset. The quotes are found
    once, on the first query; each query is then a bisect. (Counting them per query instead
    copied the file up to every finding: 66 s for a 12 MB file with 8,000 tokens.)
    """

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._ends: list[int] | None = None

    def contains(self, offset: int) -> bool:
        if self._ends is None:
            self._ends = sorted(
                match.end() for quotes in _TRIPLE_QUOTES for match in quotes.finditer(self._data)
            )
        return bisect.bisect_right(self._ends, offset) % 2 == 1


_ENCRYPTED = re.compile(
    r"""(?x)
    ^(?:ENC\(|ENC\[|enc:|encrypted:|vault:v\d+:|\$ANSIBLE_VAULT;|AQICAH|cipher:
      |-----BEGIN\ PGP\ MESSAGE)
    """
)


def is_encrypted(secret: str) -> bool:
    """Ciphertext committed on purpose: SOPS `ENC[AES256_GCM,...]`, jasypt `ENC(...)`, Vault
    transit `vault:v1:...`, Ansible Vault, AWS KMS blobs, PGP messages."""
    return bool(_ENCRYPTED.match(secret))


def is_sealed_secret_file(data: bytes) -> bool:
    """A Bitnami SealedSecret manifest: its `encryptedData` values are ciphertext. Only the
    first 64 KiB are searched, once per file: this is asked per candidate, and manifests
    declare their kind early."""
    last_data, last_answer = _last_sealed_answer[0]
    if last_data is data:
        return last_answer
    # Bounded finds, not a slice: a copy of 64 KiB per candidate added up.
    sealed = (
        data.find(b"kind: SealedSecret", 0, 65536) >= 0
        or data.find(b'"kind": "SealedSecret"', 0, 65536) >= 0
    )
    _last_sealed_answer[0] = (data, sealed)
    return sealed


#: The file last asked about, and the answer; held, so no other file can take its identity.
_last_sealed_answer: list[tuple[bytes | None, bool]] = [(None, False)]


def is_hash(secret: str) -> bool:
    """A password hash or content digest (`$2b$12$...`, `pbkdf2_sha256$...`, `sha256:...`)."""
    return bool(_HASH.match(secret))


def is_date(secret: str) -> bool:
    return bool(_DATE.match(secret))


def is_email(secret: str) -> bool:
    return bool(_EMAIL.match(secret))


def has_ascending_run(secret: str) -> bool:
    """`bcdefghij`: six letters in alphabet order never occur in random keys."""
    return bool(_ASCENDING.search(secret.lower()))


def is_demo_path(path: str) -> bool:
    """Tests, fixtures, examples and docs: `tests/`, `foo_test.go`, `examples-1.json`, `.md`."""
    return bool(_DEMO_PATH.search(path))


_WORD_SEQUENCE = re.compile(r"^[._:/=&+,;*-]*[A-Za-z]+(?:[._:/=&+,;*-]+[A-Za-z]+)*[._:/=&+,;*-]*$")
#: Acronyms (`DSA`, `HTTP` before `Server`) and capitalised or lower-case words.
_CASE_PIECES = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+")
#: A lone lower-case word shorter than this is a stock or demo password (`nodejs`, `postgres`).
MIN_WORD_PASSWORD = 10
_PATH = re.compile(r"^(?:[A-Za-z]:\\|~?/|\./|\.\./)[\w./\\ -]*$")
_WORDS = re.compile(r"[A-Za-z]{2,}")
#: Regular-expression syntax: a value like `[0-9A-Fa-f]{1,4}` is a pattern, not a key.
# `.*` alone is not enough: generated passwords hold it (`DmEhJk.*Zc9%x3E`); a regex has it
# at an end (`.*\.example\.com`) or next to other syntax.
_REGEX_SYNTAX = re.compile(
    r"\[[^\]]+\][*+?{]|\\[dwsbDWS.]|\(\?[:=!<P]|\{\d+,\d*\}|^\^.*\$$|^\.\*|\.\*$|\.\*[(|]|[)|]\.\*"
)


def has_letter(secret: str) -> bool:
    """Keys and passwords have at least one letter; `3.0-3.12` and `8080` are not secrets."""
    return any(ch.isalpha() for ch in secret)


def has_outer_whitespace(secret: str) -> bool:
    """`' + access_key + '` between two string literals, not a value of its own."""
    return secret != secret.strip()


def is_prose(secret: str) -> bool:
    """Words and spaces (`will be replaced`, `in #security`): a sentence, not a credential.
    At least two words, no digits, and mostly letters."""
    if " " not in secret or any(ch.isdigit() for ch in secret):
        return False
    letters = sum(ch.isalpha() for ch in secret)
    return len(_WORDS.findall(secret)) >= 2 and letters >= 0.7 * len(secret.replace(" ", ""))


def is_regex(secret: str) -> bool:
    """A regular expression (`[0-9A-Fa-f]{1,4}`, `\\d+`, `(?:...)`)."""
    return bool(_REGEX_SYNTAX.search(secret))


def is_word_like(secret: str) -> bool:
    """Letters (and separators) only, shaped like names: `privateKeyUsagePeriod`,
    `_DSAPrivateKey`, `detect_secrets.main:main`, `:py:data:`, `secret%3Dpassword`.

    Split at case changes, a name falls into words (`Elliptic`, `Curve`, `DSA`); random
    letters fall into fragments of one or two (`aZ`, `bY`, `c`). So a letters-only value whose
    letters sit mostly in pieces of three or more is a name.
    """
    text = urllib.parse.unquote(secret)
    if not _WORD_SEQUENCE.match(text):
        return False
    if any(not ch.isalpha() for ch in text):
        return True  # letters-only pieces between separators: `a.b:c`, `x-y`, `:py:data:`
    pieces = _CASE_PIECES.findall(text)
    letters = sum(len(piece) for piece in pieces)
    short = sum(len(piece) < 3 for piece in pieces)
    # `JobId`, `ShardId`: words with at most one short piece (`Id`, `Db`) are still names.
    return short <= max(1, len(pieces) // 4) and letters >= 2.5 * len(pieces)


def is_weak_word_password(secret: str) -> bool:
    """One short lower-case word: a stock or demo password (`nodejs`, `postgres`)."""
    return secret.isalpha() and secret.islower() and len(secret) < MIN_WORD_PASSWORD


def is_path_like(secret: str) -> bool:
    """`/home/app/.pgpass`, `./secrets/db.txt`, `C:\\keys\\a.pem`: where a secret lives."""
    return bool(_PATH.match(secret))


def is_code_reference(secret: str) -> bool:
    """An attribute chain, call or language literal (`settings.DB_PASSWORD`, `getPassword()`,
    `None`): an expression, not a value, in any file."""
    if secret.lower() in _CODE_LITERALS:
        return True
    if _IDENTIFIER_CHAIN.match(secret):
        return any(sep in secret for sep in (".", "->", "::", "()"))
    return bool(_EXPRESSION_CHAIN.match(secret)) and any(ch in secret for ch in ".[~!")


def is_indexed_expression(secret: str) -> bool:
    """`args[token.index]`, `~azure.core.TokenCredential`: a subscript or a Sphinx reference
    is code even between quotes or backticks (prose cites code that way)."""
    return bool(_EXPRESSION_CHAIN.match(secret)) and ("[" in secret or secret.startswith("~"))


def is_sigil_variable(secret: str) -> bool:
    """`$self` (cut before `->`), `$CPAN::Config`: in source code, a variable. In config files
    a value may start with `$`, so callers apply this to source code only."""
    return bool(_SIGIL_VARIABLE.match(secret))


#: A union of type names (`Buffer|Uint8Array|string`, `Credentials|null`): TypeScript and
#: Python annotations put these where a value would be.
_TYPE_UNION = re.compile(
    r"^[A-Za-z_$][\w$.]*(?:<[\w$.,<> ]*>|\[\])?(?:\|[A-Za-z_$][\w$.]*(?:<[\w$.,<> ]*>|\[\])?)+$"
)
#: A number literal: `0x8816`, `0o755`, `0b1010`, `1e-9`.
_NUMBER = re.compile(
    r"^(?:0[xX][0-9a-fA-F_]{1,16}|0[oO][0-7_]+|0[bB][01_]+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)[lLuUnN]?$"
)
#: An API route (`/v1/accounts:resetPassword`, `/api/users/{id}/password`): word segments,
#: each a lower-case word, a camelCase name, a version or a {parameter}.
_ROUTE = re.compile(
    r"^/(?:[a-z][a-z0-9]*(?:[A-Z][a-z0-9]+)*|v\d+|\{[\w-]+\}|:[a-z]\w*)"
    r"(?:[/:.-](?:[a-z][a-z0-9]*(?:[A-Z][a-z0-9]+)*|v\d+|\{[\w-]+\}|:[a-z]\w*))*/?$"
)
#: Code cut out of minified JavaScript between two string literals: a call and closing
#: brackets (`+s),{code:t.errorCode}))}e(null,i)`), or an assignment to an attribute chain
#: (`e.error.retryable=!0`).
_CALL = re.compile(r"[A-Za-z_$][\w$]*\(")
_ATTRIBUTE_ASSIGNMENT = re.compile(r"^[A-Za-z_$][\w$]*(?:\.[\w$]+)+={1,3}[!\w\"'$]")


def is_type_union(secret: str) -> bool:
    """`Buffer|Uint8Array|Blob|string`: type names joined by `|`, an annotation."""
    return bool(_TYPE_UNION.match(secret))


def is_number_literal(secret: str) -> bool:
    """`0x8816`, `1e-9`: a number, not a secret (a hex key is far longer than 16 digits)."""
    return bool(_NUMBER.match(secret))


def is_route(secret: str) -> bool:
    """`/v1/accounts:resetPassword`: an API path that names the operation, not a secret."""
    return bool(_ROUTE.match(secret))


def is_code_fragment(secret: str) -> bool:
    """Minified code between two string literals, or an attribute assignment."""
    closers = secret.count(")") + secret.count("}")
    return (bool(_CALL.search(secret)) and closers >= 2) or bool(
        _ATTRIBUTE_ASSIGNMENT.match(secret)
    )


def is_code_expression(secret: str) -> bool:
    """An unquoted value that is a piece of code: it starts with or holds an operator
    (`==18||e.token===20`, `null==s?void`, `options?.addSuffix`, `!!options.x`). Meaningful
    only for unquoted values: `=`, `&&` or `?` may well be in a quoted password."""
    return bool(_OPERATOR.search(secret))


def is_bare_identifier(secret: str) -> bool:
    """A name (`dbPassword`, `DB_PASSWORD`, `PKCS7PrivateKeyTypes`): in source code an
    unquoted value is an expression, so any identifier is a variable or a type, not a literal.

    Meaningful only for unquoted values in source code: in config files bare words are values.
    """
    return bool(_IDENTIFIER_CHAIN.match(secret))


#: Tokens that are not credentials: pagination cursors, idempotency and request ids.
_NON_SECRET_TOKEN = re.compile(
    r"""(?ix)(?:next|page|pagination|continuation|sync|cursor|marker|idempotency|client|input|output
    |request|lifecycle_?action|change|resume|start|end|prev(?:ious)?|csrf|xsrf|cancel
    |ticket|invite|confirmation|verification)[_.-]?token["']?$"""
)


def is_non_secret_key(key: str) -> bool:
    """The assigned name describes something about a secret, not the secret itself
    (`password_min_length`, `secretName`, `token_url`, `api_key_header`)."""
    return bool(_NON_SECRET_KEY.search(key) or _NON_SECRET_TOKEN.search(key))


#: Runs a value may be cut from (upper-cased): the base64 alphabet in either order, letters
#: and digits, digits, hex digits. The idea is detect-secrets' heuristic; importing that
#: package cost every scan ~0.15 s.
_RUNS = (
    string.ascii_uppercase * 2 + string.digits + "+/",
    string.digits + string.ascii_uppercase * 2 + "+/",
    (string.digits + string.ascii_uppercase) * 2,
    string.digits * 2,
    "0123456789ABCDEF" * 2,
    string.ascii_uppercase + "=/",
)
#: A name that says the value is an id: `id`, `myid`, `userid` at the start of the line, or
#: any `_id`/`_ids`, followed by a separator.
_ID_NAME = re.compile(r"(?:^(?:id|myid|userid)|_id)s?[^a-z0-9]", re.IGNORECASE)
#: Package managers' lock files whose names do not end in `.lock` (is_lock_file takes that
#: suffix as well): their hashes and versions are not secrets.
_LOCK_FILES = frozenset(
    {
        "Brewfile.lock.json",
        "Cartfile.resolved",
        "Package.resolved",
        "package-lock.json",
        "packages.lock.json",
        "pnpm-lock.yaml",
        "go.sum",
    }
)


def is_sequential(secret: str) -> bool:
    """`abcdef…`, `123456…` and similar runs: a slice of an alphabet, not a secret."""
    upper = secret.upper()
    return any(upper in run for run in _RUNS)


def is_likely_id(secret: str, line: str) -> bool:
    """The value is assigned to a name like an id (`user_id`, `ids`)."""
    index = line.find(secret)
    return index >= 0 and bool(_ID_NAME.search(line, 0, index))


def is_lock_file(path: str) -> bool:
    return posixpath.basename(path) in _LOCK_FILES or path.endswith(".lock")


#: Files a build writes (minified bundles, source maps): a generic `key = value` guess there
#: reads code as values. Issuer rules still run on them: a bundled API key is found.
_GENERATED = (
    ".min.js",
    ".min.mjs",
    ".min.cjs",
    ".min.css",
    ".js.map",
    ".mjs.map",
    ".cjs.map",
    ".css.map",
)


def is_generated_file(path: str) -> bool:
    return path.endswith(_GENERATED)


def is_code_file(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in CODE_EXTENSIONS


def has_inline_allow(line: str, previous_line: str = "") -> bool:
    """The line carries an allow marker, or the line above says `pragma: allowlist nextline`."""
    return any(marker in line for marker in INLINE_ALLOW) or INLINE_ALLOW_NEXT in previous_line
