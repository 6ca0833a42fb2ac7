"""Every MariaDB account detail of the collector, one server change at a time, through the
ledger; and collections that ignore the session's settings."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from accounts_sync.collectors import MySQLCollector, Privilege
from tests.collectors._changes import diff, one_change, privileges, same_under_settings, synced
from tests.collectors._servers import MyAdmin, my_ident
from tests.ledger._support import Setup

pytestmark = pytest.mark.services


def grant_proxy(admin: MyAdmin, user: str, host: str, proxied: str) -> str:
    """What ``GRANT PROXY ON proxied TO user`` stores: only ``root@localhost`` may run it
    (it holds ``PROXY ON ''@''``), and the tests connect over TCP."""
    return (
        "INSERT INTO mysql.proxies_priv (Host, User, Proxied_host, Proxied_user, With_grant, "
        f"Grantor) VALUES ('{host}', '{user}', '%', '{proxied}', 0, 'root@localhost')"
    )


def collector_for(admin: MyAdmin) -> MySQLCollector:
    return MySQLCollector(include=lambda name: name.startswith(admin.tag))


@pytest.fixture
def my9_setup(my9: MyAdmin, tmp_path: Path) -> Iterator[Setup]:
    my9.run(
        f"CREATE USER {my9.account(my9.tag + '_u')} IDENTIFIED BY 'first-pw'",
        f"CREATE USER {my9.account(my9.tag + '_v')}",
        f"CREATE USER {my9.account(my9.tag + '_w')} IDENTIFIED BY 'other-pw'",
    )
    yield from synced(my9, tmp_path, "mariadb", collector_for(my9))


def last_changed(admin: MyAdmin, user: str) -> str | None:
    with admin.engine.connect() as conn:
        seconds = conn.execute(
            sa.text(
                "SELECT JSON_VALUE(Priv, '$.password_last_changed') FROM mysql.global_priv "
                "WHERE User = :user AND Host = '%'"
            ),
            {"user": user},
        ).scalar_one()
    if not int(seconds or 0):
        return None
    return dt.datetime.fromtimestamp(int(seconds), dt.timezone.utc).isoformat()


def test_every_mariadb_detail_is_one_labelled_change(my9: MyAdmin, my9_setup: Setup) -> None:
    user = my9.tag + "_u"
    key, account = f"{user}@%", my9.account(user)

    def attribute_change(statement: str, **changes: tuple[Any, Any]) -> None:
        """One ALTER; a password reset also moves ``password_last_changed``."""
        before = last_changed(my9, user)
        my9.run(statement)
        after = last_changed(my9, user)
        if before != after:
            changes["password_last_changed"] = (before, after)
        changed = {
            f"attributes.{name}": {"before": old, "after": new}
            for name, (old, new) in changes.items()
        }
        one_change(my9, my9_setup, [], {key: diff(changed=changed)})

    native = "mysql_native_password"
    attribute_change(
        f"ALTER USER {account} IDENTIFIED VIA unix_socket OR {native} USING PASSWORD('first-pw')",
        auth_methods=(None, ["unix_socket", native]),
        plugin=(native, "unix_socket"),
    )
    # Dropping the socket method is seen.
    attribute_change(
        f"ALTER USER {account} IDENTIFIED VIA {native} USING PASSWORD('first-pw')",
        auth_methods=(["unix_socket", native], None),
        plugin=("unix_socket", native),
    )
    attribute_change(f"ALTER USER {account} IDENTIFIED BY ''", password_empty=(False, True))
    time.sleep(1.1)  # the change time has a one-second resolution
    attribute_change(
        f"SET PASSWORD FOR {account} = PASSWORD('second-pw')", password_empty=(True, False)
    )
    attribute_change(
        f"ALTER USER {account} REQUIRE SUBJECT '/CN=app' AND ISSUER '/CN=ca' "
        "AND CIPHER 'AES256-SHA'",
        ssl_type=(None, "SPECIFIED"),
        x509_subject=(None, "/CN=app"),
        x509_issuer=(None, "/CN=ca"),
        ssl_cipher=(None, "AES256-SHA"),
    )
    attribute_change(
        f"ALTER USER {account} WITH MAX_STATEMENT_TIME 2.5", max_statement_time=(None, "2.500000")
    )
    attribute_change(
        f"ALTER USER {account} PASSWORD EXPIRE INTERVAL 30 DAY", password_lifetime=(None, 30)
    )
    attribute_change(f"ALTER USER {account} PASSWORD EXPIRE DEFAULT", password_lifetime=(30, None))
    # PASSWORD EXPIRE leaves -1 as the lifetime: still the server default, no change there.
    attribute_change(f"ALTER USER {account} PASSWORD EXPIRE", password_expired=(False, True))
    proxied = f"{my9.tag}_v@%"
    one_change(
        my9,
        my9_setup,
        [grant_proxy(my9, user, "%", my9.tag + "_v"), "FLUSH PRIVILEGES"],
        {key: diff(granted=privileges(Privilege("proxy", (proxied,), "PROXY")))},
    )


def test_collection_ignores_the_sessions_settings(my9: MyAdmin) -> None:
    t, db = my9.tag, my_ident(my9.database)
    my9.run(
        f"CREATE TABLE {db}.orders (id INT)",
        f"CREATE USER {my9.account(t + '_a', 'Host.Example')} IDENTIFIED BY 'a-pw'",
        f"CREATE USER {my9.account(t + '_b')} REQUIRE X509 WITH MAX_STATEMENT_TIME 1",
        f"GRANT SELECT ON {db}.* TO {my9.account(t + '_a', 'host.example')}",
        f"GRANT INSERT ON {db}.orders TO {my9.account(t + '_b')}",
        grant_proxy(my9, t + "_a", "host.example", t + "_b"),
    )
    reference = same_under_settings(
        my9.url,
        collector_for(my9),
        [
            "SET sql_mode = 'PAD_CHAR_TO_FULL_LENGTH'",
            "SET sql_mode = 'ANSI,NO_BACKSLASH_ESCAPES,PAD_CHAR_TO_FULL_LENGTH'",
            "SET time_zone = '+09:00'",
        ],
        "SELECT CONCAT(@@session.sql_mode, ' ', @@session.time_zone)",
    )
    accounts = reference.by_key()
    assert (
        Privilege("database", (my9.database,), "SELECT")
        in accounts[f"{t}_a@host.example"].privileges
    )
    assert accounts[f"{t}_b@%"].attributes["ssl_type"] == "X509"
