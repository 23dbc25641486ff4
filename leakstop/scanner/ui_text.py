"""Text written for people or for the page, found next to a secret-like name: translated UI
strings (`"password": "Введите пароль"`), CSS and DOM selectors (`"#add-password"`), URL
paths and route names (`/account/reset-password`, `password.reset`).

A generic rule sees `password: <value>` in all of them. None is a credential: a credential
has no spaces between words, no sentence punctuation, and no letters of a human script
other than Latin (keys are ASCII), and it is not built from dictionary-shaped pieces.
"""

from __future__ import annotations

import math
import re
from collections import Counter

#: Folders and files that hold translations (gettext, XLIFF, Apple .strings, Java and .NET
#: resources, Android string resources, Laravel `lang/`, i18next, Rails, Flutter .arb).
_LOCALE_PATH = re.compile(
    r"""(?ix)
    (?:^|/)(?:locales?|i18n|l10n|lang|langs|languages|translations?|intl|nls
          |[a-z]{2}(?:[_-][a-z]{2,4})?\.lproj|res/values(?:-[\w-]+)?)/
    | \.(?:po|pot|xliff|xlf|strings|stringsdict|resx|resw|arb|ftl|ts\.xml)$
    | (?:^|/)messages(?:_[a-z]{2}(?:_[A-Za-z]{2})?)?\.properties$
    | (?:^|/)[^/]*_[a-z]{2}(?:_[A-Z]{2})?\.properties$
    | (?:^|/)(?:en|fr|de|es|it|pt|ru|ja|ko|zh|nl|sv|pl|tr|uk|cs|ar|he|fa|hi|th|vi|da|fi|nb|el|hu
              |ro|bg|sk|sl|et|lv|lt|sr|hr|ms|ta|bn|ur|ca|eu|gl)
        (?:[_-](?:[A-Z]{2}|Han[st]|[A-Z][a-z]{3}))?\.(?:json|ya?ml|[cm]?js|ts|php|toml)$
    """
)


def is_locale_path(path: str) -> bool:
    """A translation file: `locales/ru/common.json`, `i18n/de.yml`, `fr.lproj/Main.strings`,
    `messages_de.properties`, `Resources.resx`, `lang/en/auth.php`, `app.po`."""
    return bool(_LOCALE_PATH.search(path.replace("\\", "/")))


#: A word: two or more letters of any script.
_WORD = re.compile(r"[^\W\d_]{2,}")
_SENTENCE_PUNCTUATION = frozenset(".,;:!?…¿¡。、！？，：；")


def _non_latin_letters(text: str) -> int:
    return sum(1 for ch in text if ch.isalpha() and not ch.isascii())


def looks_random(piece: str) -> bool:
    """A piece that could be a key: 12+ characters mixing digits with letters, high entropy.
    In a translation file only such a value is reported by a generic rule."""
    if len(piece) < 12 or not piece.isascii():
        return False
    if not (any(ch.isdigit() for ch in piece) and any(ch.isalpha() for ch in piece)):
        return False
    # `saml-token-profile-1.1`, `v2_0_release`: words and numbers apart, a name.
    if all(part.isalpha() or part.isdigit() for part in re.split(r"[-_.]", piece) if part):
        return False
    counts = Counter(piece)
    entropy = -sum(n / len(piece) * math.log2(n / len(piece)) for n in counts.values())
    return entropy >= 3.0


def is_natural_text(value: str) -> bool:
    """Text in a human language, any script: `Введите пароль`, `パスワードを入力してください`,
    `Forgot password?`, `Das Passwort muss mindestens 8 Zeichen lang sein.`.

    Letters of a non-Latin script make up most of it; or it is two or more words apart
    with spaces, mostly letters, with no piece that looks like a key.
    """
    text = value.strip()
    if not text:
        return False
    letters = sum(ch.isalpha() for ch in text)
    non_latin = _non_latin_letters(text)
    # `Секрет42Юг`: one token mixing cases with digits is a password in any script; UI text
    # has spaces or sentence punctuation, or a script without case (`密码至少8位`).
    if (
        not any(ch.isspace() or ch in _SENTENCE_PUNCTUATION for ch in text)
        and any(ch.isdigit() for ch in text)
        and any(ch.isupper() for ch in text)
        and any(ch.islower() for ch in text)
    ):
        return False
    if non_latin >= 2 and non_latin >= 0.5 * letters:
        return not any(looks_random(piece) for piece in text.split())
    # One word with a letter beyond ASCII (`Contraseña`, `Lösenord`, `API-nøgle`): a word
    # of a language written in Latin letters.
    if non_latin and re.fullmatch(r"(?:[^\W\d_]+[-'’ ]?)+", text):
        return True
    if " " not in text:
        return False
    pieces = text.split()
    if any(looks_random(piece) for piece in pieces):
        return False
    words = _WORD.findall(text)
    if len(words) < 2:
        return False
    visible = len(text) - text.count(" ")
    if letters < 0.6 * visible:
        return False
    # Two words are a sentence only with a capital, punctuation or one of them long;
    # `x9 kq` and `ab cd` read as no language.
    if len(words) == 2:
        return (
            text[0].isupper()
            or text[-1] in _SENTENCE_PUNCTUATION
            or any(len(word) >= 4 for word in words)
        )
    return True


#: A CSS/DOM selector: `#add-password`, `.pwd-input`, `input[type=password]`,
#: `form#login > input.password`, `[data-test="password"]`.
_SELECTOR = re.compile(
    r"""(?x)^
    (?:[a-z][a-z0-9-]*)?                          # element
    (?:[#.][A-Za-z_-][\w-]*|\[[\w-]+(?:[~|^$*]?=["']?[^"'\]]*["']?)?\]|:{1,2}[a-z-]+(?:\([^)]*\))?)+
    (?:\s*[\s>+~]\s*
       (?:[a-z][a-z0-9-]*)?
       (?:[#.][A-Za-z_-][\w-]*|\[[\w-]+(?:[~|^$*]?=["']?[^"'\]]*["']?)?\]|:{1,2}[a-z-]+(?:\([^)]*\))?)*
    )*$"""
)
_NAME_PIECES = re.compile(r"[A-Za-z]+|\d+")


def _reads_as_names(text: str) -> bool:
    """Letter pieces of three or more, or known short ones: names people chose, not random
    characters (`add-password`, `login_form2`, `pwd-input`)."""
    pieces = _NAME_PIECES.findall(text)
    letters = [piece for piece in pieces if piece.isalpha()]
    if not letters:
        return False
    short = sum(len(piece) < 3 and piece.lower() not in _SHORT_NAMES for piece in letters)
    return short <= len(letters) // 3 and sum(len(p) for p in pieces if p.isdigit()) <= 2


_SHORT_NAMES = frozenset("id js ui ux db pw ok no to up in on of at by my me is v1 v2 v3".split())


def is_selector(value: str) -> bool:
    """A CSS or DOM selector naming the element a password is typed into."""
    if not value or (value[0] not in "#.[" and not re.match(r"[a-z][a-z0-9-]*[#.\[:]", value)):
        return False
    if not _SELECTOR.match(value):
        return False
    return _reads_as_names(re.sub(r"[\"'=\[\]#.:>+~()]", " ", value))


#: Path parameters in route syntaxes: `{id}`, `:token`, `<int:pk>`, `*`, `[slug]`.
_ROUTE_PARAMETER = re.compile(r"\{[^}/]*\}|:[A-Za-z_]\w*|<[^>/]*>|\[[^\]/]*\]|\*\*?")


def is_route(value: str) -> bool:
    """A URL path or route name: `/account/reset-password`, `/api/v1/users/{id}/password`,
    `auth/password/:token`, `password.reset`, `users#update_password`, `#/settings/pwd`."""
    text = value.strip()
    if not text or any(ch.isspace() for ch in text):
        return False
    if text.startswith(("/", "#/", "./", "~/")) or text.count("/") >= 2:
        body = _ROUTE_PARAMETER.sub("x", text.split("?", 1)[0])
        segments = [s for s in re.split(r"[/#]", body) if s]
        return bool(segments) and all(
            (re.fullmatch(r"[A-Za-z0-9_.~-]+", s) and _reads_as_names(s)) or s == "x"
            for s in segments
        )
    # Route names: dotted or namespaced lower-case words (`password.reset`, `auth:pwd_change`).
    if re.fullmatch(r"[a-z][a-z0-9_-]*(?:[.:#][a-z][a-z0-9_-]*)+", text):
        return _reads_as_names(text)
    return False


_URL = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:)?//(?P<host>[^/\s@?#]+)(?P<rest>[/?#]\S*)?$")


def is_plain_url(value: str) -> bool:
    """A URL with no credentials in it (no userinfo, no random-looking piece):
    `https://docs.oasis-open.org/wss/…#SAMLV1.1`, `//tools.ietf.org/html/rfc6749#section-6`.
    A URL with a token in its path or query is left to the issuer rules."""
    match = _URL.match(value.strip())
    if match is None:
        return False
    pieces = re.split(r"[/?#&=]", match.group("rest") or "")
    return not any(looks_random(piece) for piece in pieces)


def is_ui_text(value: str) -> bool:
    """Any of the shapes here: UI text, a selector, a route or a plain URL."""
    return is_natural_text(value) or is_selector(value) or is_route(value) or is_plain_url(value)
