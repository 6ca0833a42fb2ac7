"""What the MySQL/MariaDB collector knows about a server: its version's catalogue, and the
pure conversions from catalogue rows to accounts and privileges."""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from .._errors import CollectionError
from ._snapshot import AccountKind, Privilege

_CATALOGUE_TABLES = (
    "user",
    "db",
    "global_priv",
    "tables_priv",
    "columns_priv",
    "procs_priv",
    "proxies_priv",
    "roles_mapping",
    "role_edges",
    "default_roles",
    "global_grants",
)
_PRIV_COLUMN = re.compile(r"^[A-Za-z_]+_priv$")
_OPTIONAL_USER_COLUMNS = (
    "account_locked",
    "password_expired",
    "password_lifetime",
    "plugin",
    "is_role",
    "default_role",
    "ssl_type",
    "max_questions",
    "max_updates",
    "max_connections",
    "max_user_connections",
    "ssl_cipher",
    "x509_issuer",
    "x509_subject",
    "max_statement_time",
)
_LIMITS = ("max_questions", "max_updates", "max_connections", "max_user_connections")
_TLS_DETAILS = ("ssl_cipher", "x509_issuer", "x509_subject")
# Plugins that check a password: with an empty authentication string, no password is needed.
_PASSWORD_PLUGINS = frozenset(
    {
        "mysql_native_password",
        "mysql_old_password",
        "ed25519",
        "parsec",
        "caching_sha2_password",
        "sha256_password",
    }
)
# Column names whose privilege is not simply the name without ``_priv`` in upper case.
_COLUMN_NAMES = {
    "Create_tmp_table_priv": "CREATE TEMPORARY TABLES",
    "Repl_slave_priv": "REPLICATION SLAVE",
    "Repl_client_priv": "REPLICATION CLIENT",
    "Show_db_priv": "SHOW DATABASES",
}
# Items of the SET columns of tables_priv/procs_priv whose privilege name differs.
_SET_NAMES = {"Delete versioning rows": "DELETE HISTORY"}
# MariaDB's privilege bits (``access`` in mysql.global_priv) and the version that defined each;
# bit 10 is GRANT OPTION. Bits a version does not define grant nothing there, and the built-in
# ``mysql@localhost`` has all 64 set, so they are ignored rather than reported.
_MARIADB_BITS: tuple[tuple[str | None, tuple[int, int, int]], ...] = (
    *(
        (name, (0, 0, 0))
        for name in (
            "SELECT",
            "INSERT",
            "UPDATE",
            "DELETE",
            "CREATE",
            "DROP",
            "RELOAD",
            "SHUTDOWN",
            "PROCESS",
            "FILE",
            None,
            "REFERENCES",
            "INDEX",
            "ALTER",
            "SHOW DATABASES",
            "SUPER",
            "CREATE TEMPORARY TABLES",
            "LOCK TABLES",
            "EXECUTE",
            "REPLICATION SLAVE",
            "BINLOG MONITOR",
            "CREATE VIEW",
            "SHOW VIEW",
            "CREATE ROUTINE",
            "ALTER ROUTINE",
            "CREATE USER",
            "EVENT",
            "TRIGGER",
            "CREATE TABLESPACE",
        )
    ),
    ("DELETE HISTORY", (10, 3, 4)),
    *(
        (name, (10, 5, 2))
        for name in (
            "SET USER",
            "FEDERATED ADMIN",
            "CONNECTION ADMIN",
            "READ_ONLY ADMIN",
            "REPLICATION SLAVE ADMIN",
            "REPLICATION MASTER ADMIN",
            "BINLOG ADMIN",
            "BINLOG REPLAY",
        )
    ),
    ("SLAVE MONITOR", (10, 5, 8)),
    ("SHOW CREATE ROUTINE", (11, 3, 0)),
)
_GRANT_BIT = 10
# MariaDB's ``SSL_type`` enum in its order, as ``mysql.user`` names it (upper-cased there).
_SSL_TYPES = tuple(name.upper() for name in ("", "any", "x509", "specified"))
_TRUE = frozenset({"1", "true", "y", "yes"})


@attrs.frozen
class MySQLServer:
    """What the collector needs to know of a server: flavour and version numbers."""

    version: str
    mariadb: bool
    numbers: tuple[int, int, int]

    @property
    def uses_global_priv(self) -> bool:
        return self.mariadb and self.numbers >= (10, 4, 0)

    @property
    def roles_table(self) -> str | None:
        if self.mariadb:
            return "roles_mapping"
        return "role_edges" if self.numbers >= (8, 0, 0) else None

    @property
    def has_dynamic_privileges(self) -> bool:
        return not self.mariadb and self.numbers >= (8, 0, 0)

    @property
    def has_json_table(self) -> bool:
        """MariaDB 10.6 added JSON_TABLE, which lists every ``IDENTIFIED VIA … OR …`` method."""
        return self.mariadb and self.numbers >= (10, 6, 0)

    @property
    def binlog_monitor(self) -> bool:
        """MariaDB 10.5.2 renamed REPLICATION CLIENT to BINLOG MONITOR (same bit)."""
        return self.mariadb and self.numbers >= (10, 5, 2)


def parse_server_version(text: str) -> MySQLServer:
    """Read ``SELECT VERSION()``: ``10.11.6-MariaDB-0+deb12u1``, ``8.0.36``, ``5.7.44-log``…"""
    raw = text.strip()
    mariadb = "mariadb" in raw.lower()
    if mariadb and raw.startswith("5.5.5-"):
        raw = raw[len("5.5.5-") :]  # the replication-compatibility prefix of old MariaDB
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", raw) or re.match(r"(\d+)\.(\d+)()", raw)
    if match is None:
        raise CollectionError(f"unrecognised server version: {text!r}")
    major, minor, patch = (int(part or 0) for part in match.groups())
    return MySQLServer(text.strip(), mariadb, (major, minor, patch))


def _text(value: object) -> str:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8")
    return "" if value is None else str(value)


def _flag(value: object) -> bool:
    return _text(value).strip().lower() in _TRUE


def _key(user: object, host: object) -> str:
    return f"{_text(user)}@{_text(host).lower()}"


def _column_privilege(column: str, server: MySQLServer) -> str:
    if column == "Repl_client_priv" and server.binlog_monitor:
        return "BINLOG MONITOR"
    return _COLUMN_NAMES.get(column) or column[: -len("_priv")].replace("_", " ").upper()


def _yes_columns(
    columns: Sequence[str], values: Mapping[str, object], server: MySQLServer
) -> list[str]:
    """The privileges of the ``*_priv`` columns set to ``Y`` (``Grant_priv`` is the option)."""
    return [
        _column_privilege(column, server)
        for column in columns
        if column != "Grant_priv" and _flag(values[column])
    ]


def _number(value: object) -> int | None:
    text = _text(value)
    return int(text) if text else None


def _timestamp(value: object) -> str | None:
    """Epoch seconds as ISO 8601 UTC; zero or nothing is ``None``."""
    seconds = _number(_text(value).split(".")[0])
    if not seconds:
        return None
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).isoformat()


def _seconds(value: object) -> str | None:
    """A ``max_statement_time`` as the server's six-decimal text; zero (no limit) is ``None``."""
    text = _text(value)
    if not text or decimal.Decimal(text) == 0:
        return None
    return f"{decimal.Decimal(text):.6f}"


def _lifetime(value: object) -> int | None:
    """``password_lifetime`` in days, 0 for never; absent and -1 both mean the server default,
    which is ``None``."""
    days = _number(value)
    return None if days is None or days < 0 else days


def auth_methods(text: object, plugin: object, empty: bool) -> tuple[tuple[str, ...], bool]:
    """The methods of an account, in order, and whether one is a password that is empty.

    ``text`` is ``plugin:empty,plugin:empty…`` (MariaDB's ``auth_or``), or nothing when the
    account has the one ``plugin``, whose authentication string is ``empty`` or not.
    """
    pairs = [item.rpartition(":") for item in _text(text).split(",") if item]
    methods = [(name, flag == "1") for name, _, flag in pairs] or [(_text(plugin), empty)]
    names = tuple(name for name, _ in methods if name)
    return names, any(blank and name in _PASSWORD_PLUGINS for name, blank in methods)


def _account(
    user: object,
    host: object,
    *,
    is_role: bool,
    locked: bool,
    global_privileges: list[Privilege],
    methods: tuple[tuple[str, ...], bool],
    password_expired: bool,
    password_changed: object,
    settings: Mapping[str, object],
    default_role: object,
) -> dict[str, Any]:
    """One account's fields, the same whichever catalogue layout they came from.

    ``settings`` holds the ``mysql.user`` columns of the same names (limits, TLS, lifetime).
    """
    names, empty = methods
    attributes: dict[str, Any] = {
        "plugin": names[0] if names else None,
        "auth_methods": names if len(names) > 1 else None,
        "password_empty": None if is_role else empty,
        "password_expired": password_expired,
        "password_last_changed": _timestamp(password_changed),
        "password_lifetime": _lifetime(settings.get("password_lifetime")),
        "ssl_type": _text(settings.get("ssl_type")) or None,
        "max_statement_time": _seconds(settings.get("max_statement_time")),
    }
    for name in _TLS_DETAILS:
        attributes[name] = _text(settings.get(name)) or None
    for name in _LIMITS:
        attributes[name] = _number(settings.get(name)) or None  # 0 means unlimited
    if _text(default_role):
        attributes["default_roles"] = (f"{_text(default_role)}@",)  # a MariaDB role's key
    return {
        "user": _text(user),
        "host": _text(host).lower(),
        "kind": AccountKind.ROLE if is_role else AccountKind.USER,
        "locked": locked,
        "attributes": attributes,
        "global": global_privileges,
    }


def ssl_type_name(index: object) -> str:
    """The name of ``mysql.global_priv``'s ``ssl_type`` number (``""`` for none)."""
    number = _number(index) or 0
    return _SSL_TYPES[number] if number < len(_SSL_TYPES) else ""


def _set_items(value: object) -> list[str]:
    return [item for item in _text(value).split(",") if item]


def _set_privilege(item: str) -> str:
    return _SET_NAMES.get(item) or item.upper()


def _level(
    scope: str, target: tuple[str, ...], names: Iterable[str], grant_option: bool
) -> list[Privilege]:
    privileges = [Privilege(scope, target, name, grant_option) for name in names]
    if grant_option and not privileges:
        # ``GRANT USAGE ... WITH GRANT OPTION``: the option alone, nothing else to flag.
        privileges.append(Privilege(scope, target, "USAGE", True))
    return privileges
