"""Security: secrets under sensitive keys and in every common text format are masked, at any depth.

The formats and key rules are the table of docs/security.md.
"""

from __future__ import annotations

import copy
import re
import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts_sync import redact
from accounts_sync._redaction import is_sensitive_key, redact_text

MASK = "***"
SENSITIVE_WORDS = (
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "credential",
    "api_key",
    "apikey",
    "private_key",
    "passphrase",
    "authorization",
    "cookie",
    "dsn",
    "conn_str",
    "connection_string",
)
# Broader than the spec on purpose (``api-key``): a key generated as "safe" must never be one a
# reasonable implementation could call sensitive.
_LOOKS_SENSITIVE = re.compile(
    r"password|passwd|pwd|secret|token|credential|api[_-]?key|private[_-]?key|passphrase"
    r"|auth|cookie|dsn|conn"
)
SAFE_KEY_ALPHABET = string.ascii_letters + string.digits + "_-. "


def is_spec_sensitive(key: object) -> bool:
    return isinstance(key, str) and any(word in key.lower() for word in SENSITIVE_WORDS)


def mixed_case(word: str) -> st.SearchStrategy[str]:
    return st.lists(st.booleans(), min_size=len(word), max_size=len(word)).map(
        lambda ups: "".join(c.upper() if up else c for c, up in zip(word, ups, strict=True))
    )


sensitive_keys = st.builds(
    lambda prefix, word, suffix: prefix + word + suffix,
    st.text(max_size=5),
    st.sampled_from(SENSITIVE_WORDS).flatmap(mixed_case),
    st.text(max_size=5),
)
safe_keys = st.text(alphabet=SAFE_KEY_ALPHABET, max_size=10).filter(
    lambda key: not _LOOKS_SENSITIVE.search(key.lower())
)
# Plain strings that cannot hold a secret format (no separator, URL, header or PEM block).
plain_text = st.text(max_size=12).filter(lambda text: not re.search(r"[=:]|earer|-----", text))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), plain_text)


def trees(keys: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """JSON-like data: dicts in lists in dicts…, with keys drawn from ``keys``."""
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)
        ),
        max_leaves=25,
    )


any_trees = trees(st.one_of(sensitive_keys, safe_keys))


def check_redacted(original: Any, redacted: Any) -> None:
    """``redacted`` is ``original`` with exactly the sensitive keys' values masked."""
    if isinstance(original, dict):
        assert isinstance(redacted, dict)
        assert list(redacted) == list(original)
        for key, value in original.items():
            if is_spec_sensitive(key):
                assert redacted[key] == MASK, key
            else:
                check_redacted(value, redacted[key])
    elif isinstance(original, list):
        assert isinstance(redacted, list)
        assert len(redacted) == len(original)
        for before, after in zip(original, redacted, strict=True):
            check_redacted(before, after)
    else:
        assert redacted == original
        assert type(redacted) is type(original)


@settings(deadline=None)
@given(any_trees)
def test_sensitive_keys_are_masked_at_any_depth(data: Any) -> None:
    before = copy.deepcopy(data)
    redacted = redact(data)
    check_redacted(before, redacted)
    assert data == before, "redact mutated its input"


@settings(deadline=None)
@given(trees(safe_keys))
def test_non_sensitive_data_is_unchanged(data: Any) -> None:
    assert redact(data) == data


@settings(deadline=None)
@given(sensitive_keys, trees(st.one_of(sensitive_keys, safe_keys)))
def test_whole_subtrees_under_a_sensitive_key_are_masked(key: str, secret: Any) -> None:
    data = {"outer": [{"inner": {key: secret, "keep": 1}}]}
    assert redact(data) == {"outer": [{"inner": {key: MASK, "keep": 1}}]}


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "PASSWORD",
        "db_password",
        "passwd",
        "Pwd",
        "client_secret",
        "SECRET_KEY",
        "access_token",
        "refreshToken",
        "credentials",
        "api_key",
        "X-APIKEY",
        "private_key",
        "ssh_private_key",
    ],
)
def test_spec_words_in_any_position_and_case(key: str) -> None:
    data = {"level1": [{"level2": {key: "s3cr3t", "name": "db-1"}}, {key: ["a", {"b": 1}]}]}
    assert redact(data) == {
        "level1": [{"level2": {key: MASK, "name": "db-1"}}, {key: MASK}],
    }


def test_tuples_and_sets_become_lists_and_are_walked() -> None:
    data = {"items": ({"token": "x"}, "mysql://u:p@h")}
    assert redact(data) == {"items": [{"token": MASK}, "mysql://u:***@h"]}
    assert data == {"items": ({"token": "x"}, "mysql://u:p@h")}


def test_non_string_keys_are_not_sensitive() -> None:
    assert redact({1: "a", None: "b", ("password",): "c"}) == {
        1: "a",
        None: "b",
        ("password",): "c",
    }


# --- Passwords inside URLs ----------------------------------------------------------------------

schemes = st.sampled_from(
    [
        "mysql",
        "postgresql",
        "postgresql+psycopg",
        "mysql+pymysql",
        "redis",
        "amqp",
        "https",
        "x-y.z",
    ]
)
users = st.text(alphabet=string.ascii_letters + string.digits + "._-%", max_size=8)
# Anything but whitespace and '/', including ':' and '@'.
passwords = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc"), blacklist_characters="/"
    ),
    min_size=1,
    max_size=12,
)
# A host named like a secret (``dsn``, ``token``) reads as ``dsn:<secret>`` before its port, and
# redaction masks the port too: more, never less (see the example test below).
hosts = st.builds(
    lambda name, port: name + (f":{port}" if port is not None else ""),
    st.from_regex(r"[a-z0-9][a-z0-9.-]{0,10}", fullmatch=True).filter(
        lambda name: not is_sensitive_key(name)
    ),
    st.none() | st.integers(1, 65535),
)
# No raw ``@`` after the host: ``u:p@host/a@b`` cannot tell a password ``p@host/a`` from a
# path, and redaction then masks the longer reading (see the example test below).
paths = st.one_of(st.just(""), st.from_regex(r"/[A-Za-z0-9_./?=&-]{0,12}", fullmatch=True))
surrounding = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8).filter(
    lambda text: "://" not in text
)


@settings(deadline=None)
@given(surrounding, schemes, users, passwords, hosts, paths, surrounding)
def test_url_passwords_are_masked(
    before: str, scheme: str, user: str, password: str, host: str, path: str, after: str
) -> None:
    url = f"{scheme}://{user}:{password}@{host}{path}"
    text = f"{before} {url} {after}"
    assert redact_text(text) == f"{before} {scheme}://{user}:{MASK}@{host}{path} {after}"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("mysql://:@?@0", "mysql://:***@0"),  # a password "@?", not a query
        ("mysql://u:0@0/@", "mysql://u:***@"),  # ambiguous: the longer reading is masked
        ("postgresql://u:p@ss@db/app?x=@y", "postgresql://u:***@y"),
    ],
)
def test_an_ambiguous_url_masks_the_longer_password(text: str, masked: str) -> None:
    assert redact_text(text) == masked


@settings(deadline=None)
@given(schemes, users, passwords, hosts, paths)
def test_url_passwords_are_masked_inside_structures(
    scheme: str, user: str, password: str, host: str, path: str
) -> None:
    data = {"targets": [{"url": f"{scheme}://{user}:{password}@{host}{path}"}], "n": 1}
    before = copy.deepcopy(data)
    assert redact(data) == {
        "targets": [{"url": f"{scheme}://{user}:{MASK}@{host}{path}"}],
        "n": 1,
    }
    assert data == before


@settings(deadline=None)
@given(schemes, users, hosts, paths)
def test_urls_without_a_password_are_unchanged(
    scheme: str, user: str, host: str, path: str
) -> None:
    for url in (f"{scheme}://{host}{path}", f"{scheme}://{user}@{host}{path}"):
        assert redact_text(url) == url


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mysql://root:hunter2@db:3306/app", "mysql://root:***@db:3306/app"),
        ("redis://:hunter2@cache:6379/0", "redis://:***@cache:6379/0"),
        # A host named like a secret: its port is masked as well (more, never less).
        ("mysql://:0@dsn:1/app", "mysql://:***@dsn:***"),
        ("postgresql+psycopg://u:p@ss:w@h/db", "postgresql+psycopg://u:***@h/db"),
        (
            "a mysql://u:p1@h1 and postgresql://v:p2@h2 too",
            "a mysql://u:***@h1 and postgresql://v:***@h2 too",
        ),
        ("http://example.com:8080/path@x", "http://example.com:8080/path@x"),
        ("no url here: user:pass@host", "no url here: user:pass@host"),
        ("", ""),
    ],
)
def test_url_examples(text: str, expected: str) -> None:
    assert redact_text(text) == expected
