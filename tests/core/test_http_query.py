"""The query parameters of the paged endpoints: any text is a page or a ValidationError, and
every cursor issued reads back as the position it was made from."""

from __future__ import annotations

import datetime as dt
import uuid

from hypothesis import given
from hypothesis import strategies as st

from accounts_sync import Messages, SyncRecordInfo, SyncSessionInfo, ValidationError
from accounts_sync.contrib._http_query import (
    record_cursor,
    record_query,
    session_cursor,
    session_query,
)

MESSAGES = Messages.english()
NAMES = st.sampled_from(["limit", "cursor", "status", "category", "other"])
VALUES = st.one_of(
    st.text(max_size=300),
    st.from_regex(r"[0-9]{1,6}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9_\-]{0,40}", fullmatch=True),
    st.sampled_from(["failed", "running,pending", "account", "failed,", "100", "0", "501"]),
)


@given(st.dictionaries(NAMES, VALUES, max_size=5))
def test_any_query_is_a_page_or_a_validation_error(query: dict[str, str]) -> None:
    for parse in (session_query, record_query):
        refused: ValidationError | None = None
        try:
            page = parse(query, MESSAGES)
        except ValidationError as error:
            refused = error
        if refused is None:
            assert 1 <= page.limit <= 500
        else:
            assert refused.message.startswith("Invalid query parameter ")


def _record(record_id: int) -> SyncRecordInfo:
    return SyncRecordInfo(
        record_id=record_id, session_id="s", instance_id=1, instance_name="a", status="pending"
    )


@given(st.integers(min_value=1, max_value=2**63 - 1))
def test_a_record_cursor_reads_back_as_its_record(record_id: int) -> None:
    cursor = record_cursor(_record(record_id))
    assert record_query({"cursor": cursor}, MESSAGES).after_record_id == record_id


@given(
    st.datetimes(
        min_value=dt.datetime(2000, 1, 1),
        max_value=dt.datetime(2100, 1, 1),
        timezones=st.sampled_from([dt.timezone.utc, dt.timezone(dt.timedelta(hours=8))]),
    ),
    st.uuids(version=4),
)
def test_a_session_cursor_reads_back_as_its_position(
    created_at: dt.datetime, sid: uuid.UUID
) -> None:
    info = SyncSessionInfo(
        session_id=str(sid),
        sync_type="manual_task",
        sync_category="account",
        status="running",
        created_at=created_at,
    )
    before = session_query({"cursor": session_cursor(info)}, MESSAGES).before
    assert before == (created_at, str(sid))
