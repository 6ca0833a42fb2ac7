"""Every secret format of docs/security.md, in text, in exception chains and in structures.

Each case seeds one secret value; redaction must remove it and keep the text around it.
"""

from __future__ import annotations

import string
import time
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts_sync import redact
from accounts_sync._redaction import MASK, describe_error, is_sensitive_key, redact_text

SECRET = "S3cr3t-Value_9"

# (name, text holding {secret}); the text before and after the secret is ordinary and must stay.
FORMATS = [
    ("url", "postgresql://app:{secret}@db.internal:5432/app"),
    ("url with / and space", "postgresql://app:pa/ss w{secret}@db.internal/app"),
    ("url with @ and :", "mysql://root:a@b:{secret}@db/app"),
    ("query password", "https://api.example/v1?user=bob&password={secret}&page=2"),
    ("query pwd", "https://api.example/v1?pwd={secret}"),
    ("query token", "GET /cb?state=xyz&access_token={secret} HTTP/1.1"),
    ("libpq", "host=db port=5432 password={secret} user=app"),
    ("libpq quoted", "host=db password='a b {secret}' user=app"),
    ("odbc PWD", "Driver={{ODBC 18}};Server=db;UID=sa;PWD={secret};Database=app"),
    ("odbc Password braced", "Server=db;Password={{x;{secret}}};Database=app"),
    ("token=", "retrying with token={secret} now"),
    ("bearer header", "Authorization: Bearer {secret}\nAccept: */*"),
    ("basic header", "Authorization: Basic {secret}"),
    ("bare bearer", "upstream said Bearer {secret} is expired"),
    ("cookie header", "Cookie: theme=dark; session={secret}\nHost: x"),
    (
        "pem",
        "key follows\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow{secret}\nAB==\n"
        "-----END RSA PRIVATE KEY-----\nkey ends",
    ),
    ("pem unterminated", "truncated -----BEGIN PRIVATE KEY-----\nMIIE{secret}"),
    ("json", 'body {{"user": "bob", "password": "{secret}", "n": 1}}'),
    ("json escaped", 'body "{{\\"user\\": \\"bob\\", \\"api_key\\": \\"{secret}\\"}}" sent'),
    ("python repr", "{{'user': 'bob', 'client_secret': '{secret}'}}"),
    ("yaml-like", "db_password: {secret}\nuser: bob"),
    ("dsn key", "dsn=mysql://u@h/{secret} next"),
]
SURVIVORS = ("bob", "db", "next", "Accept", "key follows", "key ends", "truncated", "sent", "Host")


def _format(template: str, secret: str = SECRET) -> str:
    return template.format(secret=secret)


def _assert_clean(original: str, redacted: str, secret: str = SECRET) -> None:
    assert secret not in redacted
    for word in SURVIVORS:
        if word in original.replace(secret, ""):
            assert word in redacted, (word, redacted)


@pytest.mark.parametrize(("name", "template"), FORMATS)
def test_format_masked_in_text(name: str, template: str) -> None:
    text = _format(template)
    redacted = redact_text(f"before {text} after")
    _assert_clean(text, redacted)
    assert redacted.startswith("before ")
    assert redacted.endswith(" after") or name in {"pem unterminated"}


@pytest.mark.parametrize(("name", "template"), FORMATS)
def test_format_masked_in_an_exception_chain(name: str, template: str) -> None:
    text = _format(template)
    try:
        try:
            raise ConnectionError(f"cannot connect: {text}")
        except ConnectionError as inner:
            raise RuntimeError(f"sync failed ({text})") from inner
    except RuntimeError as error:
        described = describe_error(error)
        cause = describe_error(error.__cause__)  # type: ignore[arg-type]
    assert described.startswith("RuntimeError: sync failed (")
    assert cause.startswith("ConnectionError: cannot connect:")
    for line in (described, cause):
        assert SECRET not in line
        assert "\n" not in line


@pytest.mark.parametrize(("name", "template"), FORMATS)
def test_format_masked_in_nested_structures(name: str, template: str) -> None:
    text = _format(template)
    data = {"run": [{"log": (text, {"lines": [text]})}, {text}], "name": "bob"}
    redacted = redact(data)
    assert SECRET not in repr(redacted)
    assert redacted["name"] == "bob"
    assert data["run"][0]["log"][0] == text  # the input is not changed


@pytest.mark.parametrize(
    "key",
    [
        "authorization",
        "Proxy-Authorization",
        "auth",
        "X-Auth",
        "basicAuth",
        "AUTH_HEADER",
        "dsn",
        "DATABASE_DSN",
        "passphrase",
        "conn_str",
        "connection_string",
        "ConnectionString",
        "cookie",
        "Set-Cookie",
        "api_key",
        "apikey",
        "private_key",
        "credential",
        "passwd",
        "pwd",
        "my_secret",
        "tokenizer",
        "OLD_PASSWORD",
    ],
)
def test_sensitive_keys(key: str) -> None:
    assert is_sensitive_key(key)
    assert redact({"a": [{key: {"nested": "x"}}]}) == {"a": [{key: MASK}]}


@pytest.mark.parametrize("key", ["author", "authority", "oauth_provider", "name", "host", "user"])
def test_ordinary_keys(key: str) -> None:
    assert not is_sensitive_key(key)


def test_a_dsn_is_masked_whole() -> None:
    assert redact({"dsn": "host=db user=app"}) == {"dsn": MASK}
    assert redact({"connection_string": "Server=db"}) == {"connection_string": MASK}


@pytest.mark.parametrize(
    "text",
    [
        "the tokenizer splits words into tokens",
        "password reset succeeded for bob",
        "the author and the authority agree",
        "the bearer instrument is payable",
        "see https://example.com/docs/a@b and http://example.com:8080/path@x",
        "time 12:30:45, ratio a=b, x == y",
        "no url here: user:pass@host",
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
    ],
)
def test_ordinary_text_survives(text: str) -> None:
    assert redact_text(text) == text


# --- Properties ---------------------------------------------------------------------------------

secrets = st.builds(
    lambda head, tail: head + tail,
    st.text(alphabet=string.ascii_letters, min_size=1, max_size=4),
    st.text(alphabet=string.ascii_letters + string.digits, min_size=8, max_size=16),
).filter(lambda value: any(c.isdigit() for c in value))
anything = st.text(max_size=40)
formats = st.sampled_from([template for _, template in FORMATS])


@settings(deadline=None, max_examples=300)
@given(anything, formats, secrets, anything)
def test_a_secret_in_any_format_inside_any_text_is_masked(
    before: str, template: str, secret: str, after: str
) -> None:
    assert secret not in redact_text(f"{before} {_format(template, secret)} {after}")


@settings(deadline=None, max_examples=300)
@given(st.lists(st.one_of(anything, formats.map(_format)), max_size=4).map(" ".join))
def test_redaction_is_idempotent_and_bounded(text: str) -> None:
    once = redact_text(text)
    assert redact_text(once) == once
    assert len(once) <= 2 * len(text) + len(MASK)


@settings(deadline=None)
@given(
    st.recursive(
        st.none() | st.integers() | anything, lambda c: st.lists(c) | st.dictionaries(anything, c)
    )
)
def test_redact_never_raises(data: Any) -> None:
    redact(data)


# --- Linear time ------------------------------------------------------------------------------


def test_one_mib_of_adversarial_input_redacts_quickly() -> None:
    size = 1 << 20
    runs = [
        "a" * 65_536,
        ":" * 65_536,
        "@" * 65_536,
        "/" * 65_536,
        "=" * 65_536,
        ":@/=" * 16_384,
        "a://a:" * 10_000,
        ("ab://u:" + "p" * 50 + " ") * 1_000,
        "-----BEGIN RSA PRIVATE KEY-----" * 2_000,
        "-----BEGIN PRIVATE KEY-----" + "QUJD" * 16_384,
        "token=" * 10_000,
        "author: " * 8_000,
        'password="' * 6_000,
        '\\"password\\":\\"\\\\' * 3_000,
        "pwd={" * 10_000,
        "Bearer " * 8_000,
        "a://" + "u" * 300 + ":",
    ]
    text = "".join(runs)
    text = (text * (size // len(text) + 1))[:size]
    start = time.perf_counter()
    redact_text(text)
    assert time.perf_counter() - start < 2.0  # a guard against quadratic patterns, not a benchmark


# --- describe_error -----------------------------------------------------------------------------


class DriverError(Exception):
    """Stands for a DBAPI driver's exception."""


def test_database_errors_never_show_sql_or_parameters() -> None:
    orig = DriverError(f"connection to db failed: password={SECRET}\nDETAIL: more")
    error = sa.exc.OperationalError(
        "SELECT secret_column FROM users WHERE pw = %(pw)s", {"pw": "param-value-1"}, orig
    )
    described = describe_error(error)
    assert described == "DriverError: connection to db failed: password=***"
    wrapped = sa.exc.StatementError(
        "bad", "INSERT INTO t VALUES (:v)", {"v": "param-value-2"}, None
    )
    assert "INSERT" not in describe_error(wrapped)
    assert "param-value-2" not in describe_error(wrapped)


def test_descriptions_are_bounded_and_never_raise() -> None:
    long = describe_error(ValueError("x" * 5_000 + f" password={SECRET}"))
    assert len(long) == 1_000
    assert long.endswith("…")

    class Hostile(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no text")

    assert describe_error(Hostile()).startswith("Hostile: ")
    assert describe_error(ValueError()) == "ValueError"
    assert describe_error(ValueError("a\n  b")) == "ValueError: a b"


@pytest.fixture(scope="module")
def cli_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    from accounts_sync.sqlalchemy import sqlite_url

    return sqlite_url(tmp_path_factory.mktemp("cli") / "redaction.sqlite3")


@pytest.mark.parametrize(("name", "template"), FORMATS)
def test_format_masked_in_cli_output(
    name: str, template: str, cli_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A store written by someone else may hold a raw secret: ``sessions show`` still prints
    it masked (and on one line per field)."""
    from accounts_sync import RecordStatus, SessionStatus, SyncCategory, SyncType
    from accounts_sync.cli import main, open_store
    from accounts_sync.ports import RecordOutcome

    text = _format(template)
    sessions = open_store(cli_database).sessions
    session_id = sessions.create_session(
        sync_type=SyncType.MANUAL_TASK, sync_category=SyncCategory.OTHER, created_by=None
    ).session_id
    sessions.claim_session(session_id)
    sessions.add_records(session_id, [(1, "db-1")])
    sessions.start_records(session_id, [1])
    failed = RecordOutcome(instance_id=1, status=RecordStatus.FAILED, error_message=text)
    sessions.finish_records(session_id, [failed])
    sessions.finish_session(session_id, status=SessionStatus.FAILED, error_message=text)

    assert main(["sessions", "show", session_id, "--database", cli_database]) == 0
    printed = capsys.readouterr()
    assert SECRET not in printed.out + printed.err
    assert "db-1" in printed.out
    assert "***" in printed.out  # the message was printed, masked
