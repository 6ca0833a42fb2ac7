"""Redaction of secrets and conversion to JSON-safe values (docs: Security)."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import functools
import re
import sys
import uuid
from collections.abc import Mapping
from typing import Any

__all__ = [
    "MASK",
    "clean",
    "describe_error",
    "error_text",
    "is_sensitive_key",
    "jsonable",
    "redact",
    "redact_text",
]

MASK = "***"
# Words that make a key secret, anywhere in it (``DB_PASSWORD``, ``refreshToken``,
# ``x-api-key``); ``?`` stands for an optional ``_`` or ``-``.
_SECRET_WORDS = (
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "secret",
    "token",
    "credential",
    "api?key",
    "private?key",
    "authorization",
    "cookie",
    "dsn",
    "conn?str",
    "connection?str",
)


def _alternatives(words: tuple[str, ...]) -> str:
    return "|".join(re.escape(word).replace(r"\?", "[_-]?") for word in words)


_SENSITIVE_KEY = re.compile(_alternatives(_SECRET_WORDS), re.IGNORECASE)
# ``auth`` counts only as a word of its own: ``auth``, ``X-Auth``, ``basicAuth``, but not
# ``author`` or ``oauth_provider``.
_KEY_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_KEY_LIMIT = 64  # the longest key looked at in text, so that every scan is bounded

# Each pattern below starts with a literal or a small character set, which ``re`` skips to
# with a fast scan, and no repeat can run into the next match's text: the cost is linear.

# ``-----BEGIN … PRIVATE KEY-----``, its body (base64, PEM headers, JSON's ``\n``) and the
# ``-----END …-----`` line when present; an unterminated block is masked to its last body
# character.
_PEM_BODY = r"[A-Za-z0-9+/=\s:,*\\]*"
_PEM = re.compile(
    r"(?P<begin>-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----)"
    rf"{_PEM_BODY}(?:-(?!----){_PEM_BODY})*"
    r"(?P<end>-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----)?"
)
# ``scheme://user:password@host``: the password runs from the ``:`` after the user to the last
# ``@`` before whitespace, so it may hold ``@``, ``:``, ``?`` and ``/``, and before its first
# ``@`` also spaces. When in doubt more is masked, never less. It never spans another ``://``, which
# keeps runs of URLs linear. ``host:8080/…`` is a port, not a password.
_URL_PASSWORD = re.compile(
    r"://(?<=[A-Za-z0-9+.\-]://)"
    r"(?P<head>[^\s:/@]{0,256}:)"
    r"(?![0-9]{1,5}(?:[/\s]|$))"
    r"(?:[^@\r\n:]|:(?!//)){0,256}(?:@[^@\s]{0,256}(?=@))*@"
)
# ``key=value`` and ``key: value`` in text (query strings, libpq, ODBC, JSON, headers) are found
# from their separator, scanning the reversed text: there the secret word follows the ``=``
# within a bounded distance, while scanning forwards would try every letter as a key's start.
_REVERSED_WORDS = tuple(word[::-1] for word in _SECRET_WORDS)
# The words' first letters (and ``htua``'s): one cheap test before trying every word.
_REVERSED_FIRSTS = "".join(sorted({word[0] for word in _REVERSED_WORDS} | {"h"}))
_REVERSED_KEY_SEPARATOR = re.compile(
    r"(?P<sep>[=:])[ \t]{0,8}(?:[\"']\\{0,8})?"
    rf"(?P<key>[\w.\-]{{0,{_KEY_LIMIT}}}?(?=[{_REVERSED_FIRSTS}])"
    rf"(?:{_alternatives(_REVERSED_WORDS)}"
    r"|(?<![a-z])htua(?![a-z]))"  # ``auth``, delimited (text is lower-cased: no camelCase)
    rf"[\w.\-]{{0,{_KEY_LIMIT}}})"
)
_VALUE = re.compile(
    # An HTTP authentication scheme stays visible: ``Bearer ***``.
    r"[ \t]{0,8}(?:(?:bearer|basic|digest|token|negotiate|ntlm|bot|apikey)[ \t]+)?"
    r"(?P<value>"
    r"\"[^\"\\\n]*(?:\\.[^\"\\\n]*)*\"?"  # "JSON \" string"
    r"|'[^'\\\n]*(?:\\.[^'\\\n]*)*'?"  # 'libpq \' string'
    # \"Escaped\" JSON inside a string ends at a quote behind exactly as many backslashes as
    # opened it; a quote behind more belongs to the value.
    r"|(?P<esc>\\{1,8})\"[^\"\\\n]*(?:(?:\\+(?![\\\"])|(?P=esc)\\+\")[^\"\\\n]*)*(?:(?P=esc)\")?"
    r"|\{[^}\n]*(?:\}\}[^}\n]*)*\}?"  # ODBC {braced;value}
    r"|[^\s&;\"'<>]+"
    r")"
)
_HEADER_VALUE = re.compile(r"[ \t]{0,8}(?P<value>[^\r\n\"']+)")
# A bare ``Bearer <token>`` outside a header; the token must look like one (a digit or symbol,
# or 16+ letters) so that "the bearer instrument" stays.
_BEARER = re.compile(
    r"earer(?<=(?<![A-Za-z])[Bb]earer)[ \t]+"
    r"(?=[A-Za-z]{16}|[A-Za-z]*[0-9._~+/\-])(?P<token>[A-Za-z0-9._~+/\-]+=*)"
)
_OPENING_QUOTE = re.compile(r"\\*[\"']|\{")


def is_sensitive_key(key: object) -> bool:
    """True when a mapping key names a secret (``password``, ``api_key``, ``DB_TOKEN``, ``dsn``)."""
    if not isinstance(key, str):
        return False
    # Results of one sync service repeat the same few keys instance after instance: remember
    # the short ones (a hostile result's huge keys are not kept alive by the cache).
    return _remembered(key) if len(key) <= 64 else _sensitive(key)


def _sensitive(key: str) -> bool:
    if _SENSITIVE_KEY.search(key) is not None:
        return True
    return "auth" in key.lower() and any(word.lower() == "auth" for word in _KEY_WORDS.findall(key))


_remembered = functools.lru_cache(maxsize=4096)(_sensitive)


def redact_text(text: str) -> str:
    """Mask the secrets in ``text``; the docs' "Security" page lists the formats."""
    if "-----BEGIN " in text:
        text = _PEM.sub(_mask_pem, text)
    if "://" in text and "@" in text:
        text = _URL_PASSWORD.sub(_mask_url_password, text)
    if "=" in text or ":" in text:
        text = _mask_key_values(text)
    if "earer" in text:
        text = _BEARER.sub(_mask_bearer, text)
    return text


def _mask_pem(match: re.Match[str]) -> str:
    return f"{match['begin']}{MASK}{match['end'] or ''}"


def _mask_url_password(match: re.Match[str]) -> str:
    return f"://{match['head']}{MASK}@"


def _mask_bearer(match: re.Match[str]) -> str:
    return f"{match.string[match.start() : match.start('token')]}{MASK}"


def _mask_key_values(text: str) -> str:
    lowered = text.lower()
    if len(lowered) != len(text):  # a few letters (``İ``) lower to two characters
        lowered = text.translate(_ASCII_LOWER)
    size = len(text)
    # Found right to left; masked left to right, so that a separator inside a value already
    # masked is skipped rather than scanned again (``token=token=…`` stays linear).
    separators = [
        (size - match.end(), size - match.start("sep"), match)
        for match in _REVERSED_KEY_SEPARATOR.finditer(lowered[::-1])
    ]
    pieces: list[str] = []
    done = 0
    for key_start, value_start, match in reversed(separators):
        if value_start <= done:
            continue
        header = match["sep"] == ":"
        if header and text.endswith("//", 0, key_start):
            continue  # ``scheme://token:…@host`` names a user; the URL rule masks its password
        # A cookie header holds several cookies, each possibly a session: mask the line.
        value_pattern = _HEADER_VALUE if header and "eikooc" in match["key"] else _VALUE
        value = value_pattern.match(lowered, value_start)
        if value is not None:
            start, end = value.span("value")
            pieces += (text[done:start], _mask_value(text[start:end]))
            done = end
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


_ASCII_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}


def _mask_value(value: str) -> str:
    """``"x"`` → ``"***"``, ``{x}`` → ``{***}``, ``x`` → ``***``: quotes stay, JSON stays JSON."""
    opening = _OPENING_QUOTE.match(value)
    if opening is None:
        return MASK
    start = opening.end()
    closer = "}" if value[start - 1] == "{" else value[:start]
    closed = len(value) >= 2 * start and value.endswith(closer)
    return f"{value[:start]}{MASK}{closer if closed else ''}"


def redact(value: Any) -> Any:
    """Return a copy of ``value`` with secrets masked at any depth; the input is not changed."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {
            key: (MASK if is_sensitive_key(key) else redact(item)) for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [redact(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return [redact(item) for item in _sorted_if_possible(value)]
    return value


def jsonable(value: Any) -> Any:
    """Return ``value`` as JSON-serialisable data: dates → ISO strings, recursively."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, Mapping):
        return {_text(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return [jsonable(item) for item in _sorted_if_possible(value)]
    return _text(value)


def _text(value: object) -> str:
    # A host object whose ``str()`` raises must not turn a finished sync into a crash.
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


def _sorted_if_possible(items: Any) -> list[Any]:
    try:
        return sorted(items)
    except TypeError:
        return list(items)


def clean(value: Any) -> Any:
    """Make JSON-safe, then redact: what the library stores, logs and returns.

    In this order an object whose text holds a secret (an exception carrying a DSN, bytes) is
    turned into text first, so that text is redacted too.
    """
    return redact(jsonable(value))


def error_text(error: BaseException) -> str:
    """``str(error)``, redacted; never raises, even for an exception whose ``str()`` does."""
    return redact_text(_text(error))


def describe_error(error: BaseException) -> str:
    """``"{Type}: {reason}"`` on one line, redacted, at most 1,000 characters; never raises.

    A database error (SQLAlchemy's, or a driver's) is described by the driver's error and the
    first line of its message only, so neither the SQL nor its parameters appear.
    """
    try:
        source = error
        if _is_database_error(error):
            original = getattr(error, "orig", None)
            source = original if isinstance(original, BaseException) else error
        # Redact the whole text before cutting it: a cut could split a secret out of recognition.
        text = redact_text(_text(source)).strip()
        if _is_database_error(source) or source is not error:
            # SQLAlchemy puts the statement, its parameters and a link on the lines below.
            reason = _SQL_DETAILS.split(text, maxsplit=1)[0].partition("\n")[0].strip()
        else:
            reason = " ".join(text.split())
        name = type(source).__name__
        return _bounded(f"{name}: {reason}" if reason else name)
    except Exception:  # a hostile __str__ or __name__ must not turn a failure into a crash
        return f"{type(error).__name__}: <unprintable>"


_ERROR_LIMIT = 1000
_SQL_DETAILS = re.compile(r"\[SQL: |\[parameters: |\(Background on this error at: ")
# PEP 249 names every driver's base classes so; Django's and SQLAlchemy's wrappers keep them.
_DATABASE_ERROR_NAMES = frozenset({"DatabaseError", "InterfaceError", "DBAPIError"})


def _is_database_error(error: BaseException) -> bool:
    sqlalchemy_errors = sys.modules.get("sqlalchemy.exc")
    if sqlalchemy_errors is not None and isinstance(error, sqlalchemy_errors.StatementError):
        return True
    return any(cls.__name__ in _DATABASE_ERROR_NAMES for cls in type(error).__mro__)


def _bounded(text: str) -> str:
    return text if len(text) <= _ERROR_LIMIT else f"{text[: _ERROR_LIMIT - 1]}…"
