"""Values people type where a secret will go: sequences (`a1b2c3d4…`, `ABCDEFGHIJKL`),
keyboard runs (`qwertyuiop`), short repeated patterns (`abcabcabc`), stock passwords in any
spelling (`P@55w0rd!`, `password2`) and references to a variable in any template or shell
syntax (`$VAR`, `'"'$VAR'"'`, `%VAR%`, `<%= ENV['X'] %>`, `@VAR@`, `__VAR__`).

Pure predicates, run on candidates only. The sequence checks are safe on issuer tokens too:
a run of 10 successive characters in a random base62 body has a probability near 62**-9 per
position.
"""

from __future__ import annotations

import re

#: Keyboard rows and columns people run a finger along (US layout, plus the digit row).
_KEYBOARD = (
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "qazwsxedcrfvtgbyhnujmikolp",
)
#: A keyboard run this long is a placeholder (`qwerty` is 6).
_KEYBOARD_RUN = 6


def _step(a: str, b: str) -> int:
    """+1 when `b` follows `a` in its own class (digits wrap 9 -> 0), -1 when it precedes
    it, 0 otherwise."""
    if a.isdigit() and b.isdigit():
        delta, size = ord(b) - ord(a), 10
    elif a.isalpha() and b.isalpha():
        delta, size = ord(b.lower()) - ord(a.lower()), 26
    else:
        return 0
    return {1: 1, size - 1: -1}.get(delta % size, 0)


def _sequence_cover(text: str, digit_runs: bool = True) -> int:
    """How many characters of `text` (letters and digits only) sit in runs of successors,
    read one by one (`abcdef`, `987654`) or two apart (`a1b2c3`, `1a2b3c`). A run keeps
    one direction: `1212` is no sequence. Without `digit_runs`, runs of digits alone do
    not count (an id such as a Telegram bot's `7654321098` is a number, not filler)."""
    covered = [False] * len(text)
    for stride in (1, 2):
        run, direction = 0, 0
        for index in range(len(text) - stride):
            step = _step(text[index], text[index + stride])
            if step and (run == 0 or step == direction):
                run, direction = run + 1, step
                continue
            _mark(covered, text, index, run, stride, digit_runs)
            run, direction = (1, step) if step else (0, 0)
        _mark(covered, text, len(text) - stride, run, stride, digit_runs)
    return sum(covered)


def _mark(
    covered: list[bool], text: str, end: int, run: int, stride: int, digit_runs: bool
) -> None:
    """Mark a finished run of `run` steps ending at `end`, if it is long enough to count:
    four characters in a row, or four pairs interleaved."""
    if run < (3 if stride == 1 else 6):
        return
    span = range(end - run, end + stride)
    if not digit_runs and text[span.start : span.stop].isdigit():
        return
    for position in span:
        covered[position] = True


#: Every keyboard run of _KEYBOARD_RUN keys, either way, as one alternation inside a
#: lookahead so that overlapping runs are all found (one pass instead of ~200 searches).
_KEYBOARD_RUNS = re.compile(
    "(?=("
    + "|".join(
        sorted(
            {
                line[start : start + _KEYBOARD_RUN]
                for row in _KEYBOARD
                for line in (row, row[::-1])
                for start in range(len(line) - _KEYBOARD_RUN + 1)
            }
        )
    )
    + "))"
)


def _keyboard_cover(text: str) -> int:
    covered = [False] * len(text)
    for found in _KEYBOARD_RUNS.finditer(text.lower()):
        for position in range(found.start(), found.start() + _KEYBOARD_RUN):
            covered[position] = True
    return sum(covered)


def _is_periodic(text: str) -> bool:
    """`abcabcabc`, `12ab12ab12ab`: a pattern of at most 4 characters, repeated 3+ times."""
    for period in range(1, 5):
        if (
            len(text) >= 3 * period
            and text == (text[:period] * (len(text) // period + 1))[: len(text)]
        ):
            return True
    return False


def is_sequence_placeholder(value: str, *, strict: bool = False) -> bool:
    """Letters and digits that are mostly a sequence, keyboard run or repeated pattern:
    `a1b2c3d4e5f6`, `ABCDEFGHIJKL`, `1234567890abcdef`, `qwertyuiop123`, `1a2b3c4d-5e6f-…`.

    Separators (`-`, `_`, `.`) are ignored. By default (generic rules) a run of 8 such
    characters or half the value is enough; `strict` (the random body of an issuer token,
    12 characters or more) asks for 10, or 60% of the value.
    """
    text = "".join(ch for ch in value if ch.isascii() and ch.isalnum())
    # An issuer body shorter than 12 carries too little evidence either way.
    if len(text) < (12 if strict else 8):
        return False
    if _is_periodic(text.lower()):
        return True
    covered = max(_sequence_cover(text, digit_runs=not strict), _keyboard_cover(text))
    if strict:
        return covered >= 10 or covered >= 0.6 * len(text)
    return covered >= 8 or covered >= 0.5 * len(text)


#: Stock passwords and words people put where a password goes.
_STOCK = frozenset(
    """
    password passwd passwort passphrase pass pwd secret secrets admin administrator root
    letmein welcome qwerty hunter changeme changeit default guest test tester testing
    demo sample example dummy foobar abc abcd login user username token apikey mypassword
    anonymous
    mysecret topsecret supersecret
    """.split()
)
_LEET = str.maketrans(
    {
        "@": "a",
        "4": "a",
        "0": "o",
        "1": "i",
        "!": "i",
        "3": "e",
        "5": "s",
        "$": "s",
        "7": "t",
        "+": "t",
    }
)
#: Words people put before a stock password: `mypassword`, `testpass`, `somepass`.
_STOCK_PREFIXES = (
    "my",
    "your",
    "the",
    "some",
    "new",
    "old",
    "test",
    "demo",
    "default",
    "super",
    "strong",
    "secure",
    "top",
    "dev",
    "prod",
    "local",
    "admin",
    "db",
    "app",
    "user",
)
#: What people append to a stock password: `2`, `123`, `!`, `2024!`.
_STOCK_SUFFIX = re.compile(r"[_.-]?(?:\d{1,4}[!@#$%^&*?.]{0,3}|[!@#$%^&*?.]{1,3})$")
_STOCK_CHARACTERS = re.compile(r"[A-Za-z0-9@$!_.#%^&*?+-]{3,32}")


def _is_stock_word(word: str, spelled: bool) -> bool:
    """`word`, after any stock prefixes, is a stock word (also in leetspeak if `spelled`)."""
    while True:
        if word in _STOCK:
            return True
        if spelled:
            plain = word.translate(_LEET)
            if plain in _STOCK or plain.rstrip("i") in _STOCK:
                return True
        prefix = next((p for p in _STOCK_PREFIXES if word.startswith(p) and word != p), None)
        if prefix is None:
            return False
        word = word[len(prefix) :].lstrip("_.-")


def is_stock_password(value: str) -> bool:
    """A stock or demo password in any spelling: `password2`, `P@55w0rd!`, `s3cr3t`,
    `hunter2`, `Letmein123`, `mynewpassword`, `test123`.

    For generic rules only: a name next to a value is a guess, and these values are what
    samples and docs put there. An issuer or credential-file rule (`.netrc`, a Git
    credential store) reports a stock password as the working, weak credential it is.
    """
    if not _STOCK_CHARACTERS.fullmatch(value):
        return False
    # `-anonymous@`: FTP's convention for "no password" keeps its decoration.
    text = value.lower().strip("_.-@")
    return _is_stock_word(text, spelled=True) or _is_stock_word(
        _STOCK_SUFFIX.sub("", text), spelled=True
    )


#: References to a value defined elsewhere, in the syntaxes of shells, CI systems, template
#: engines and build tools.
_REFERENCE = re.compile(
    r"""(?x)
      <%=?-?.*?-?%>                         # ERB, EJS, ASP: <%= ENV['X'] %>
    | \$\{\{.*?\}\}                          # GitHub Actions ${{ secrets.X }}
    | \{\{\{?.*?\}?\}\}                       # Mustache, Handlebars, Jinja, Helm, Go templates
    | \{%.*?%\} | \{\#.*?\#\}                 # Jinja statements and comments
    | \[\[.*?\]\]                            # Pug, Ansible-style doubled brackets
    | @\{[^}]+\}                             # Razor, Azure Bicep
    | %\{[^}]+\}                             # Puppet, HAProxy, Ruby format, Logstash
    | \$\[[^\]]+\]                           # Azure Pipelines runtime expressions
    | \#\{[^}]+\}\#?                         # Ruby, Octopus, replace-tokens #{X}#
    | \$\((?:inputs\.)?[A-Za-z_][\w.]*\)     # $(VAR) in Make and Azure Pipelines
    | \$\{[^}]*\}                            # ${VAR} shell, Terraform, Spring
    | (?:^|['"\s=])\$env:[A-Za-z_]\w*         # PowerShell $env:VAR
    | (?:^|['"\s=:])\$\$?[A-Za-z_]\w*(?:'|"|$)  # a shell variable closing a quote splice
    | %[A-Za-z_][\w.-]*%                     # %VAR% (Windows, Ansible INI, dotenv tools)
    | @[A-Z][A-Z0-9_]+@                       # @VAR@ (autoconf, CMake configure_file)
    | __[A-Z][A-Z0-9_]+__                     # __VAR__ (token replacement tasks)
    | \benv\([A-Za-z_'"][^)]*\)               # env(X), env('X') in PHP, Symfony, Python
    | \bENV\[[^\]]+\]                         # Ruby ENV['X']
    | \bprocess\.env\.[A-Za-z_]\w*           # Node.js
    | \bos\.environ\b | \bgetenv\(            # Python, PHP, C
    """
)
#: The quote splicing that puts a shell variable inside a quoted string: `'"'$VAR'"'`,
#: `"'"$VAR"'"`, `\"$VAR\"`.
_SPLICE = str.maketrans("", "", "'\"\\`")


def is_variable_reference(value: str) -> bool:
    """The value names a variable or template expression instead of holding a secret."""
    if _REFERENCE.search(value):
        return True
    spliced = value.translate(_SPLICE).strip()
    return bool(
        re.fullmatch(
            # `@SECRET_KEY` (ansible-test's substitutions) as well as `@VAR@`
            r"\$\$?\{?[A-Za-z_]\w*\}?|%[A-Za-z_]\w*%|\$env:[A-Za-z_]\w*|@[A-Z][A-Z0-9_]{2,}@?",
            spliced,
        )
    )
