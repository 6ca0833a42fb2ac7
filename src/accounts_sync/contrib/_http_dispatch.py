"""One dispatch for every framework: the route table, and what each route does between the
framework's request and the neutral :class:`HttpResponse`.

An adapter registers :data:`ROUTES` in its framework's syntax, passes each request to
:meth:`HttpDispatch.handle` with its URL arguments and a :class:`Transaction` factory, and turns
the answer into its framework's response. Everything else — the authorize call, the checks of
hostile ids, the error mapping, the envelopes — is here, once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeAlias, TypeVar

import attrs

from .._clock import utc_now
from .._enums import RecordStatus, SessionStatus
from .._errors import ConflictError, NotFoundError
from .._instrumentation import sessions_ended
from .._lifecycle import MAX_SESSION_ID_LENGTH, fits_integer, plausible_session_id
from .._messages import Messages
from .._pages import page_records, page_sessions
from .._service import AccountsSyncActionsService, AccountsSyncBackgroundPreparedSession
from .._sessions import SyncSessionInfo
from ..ports import SyncSessionRepository
from ._http_authorize import Action, Authorize, Authorizer, Refusal, Target
from ._http_errors import (
    HttpResponse,
    error_envelope,
    error_response,
    method_not_allowed,
    ok_envelope,
)
from ._http_query import (
    RECORDS_IN_SESSION,
    duration,
    record_cursor,
    record_query,
    session_cursor,
    session_query,
)

__all__ = [
    "MAX_SESSION_ID_LENGTH",
    "ROUTES",
    "DeferredLaunch",
    "HttpDispatch",
    "Launch",
    "Route",
    "ServiceSource",
    "Transaction",
]

ServiceSource: TypeAlias = (
    "AccountsSyncActionsService[Any] | Callable[[], AccountsSyncActionsService[Any]]"
)
"""The service itself, or a zero-argument callable returning it (called on every request)."""

_T = TypeVar("_T")


@attrs.frozen
class Route:
    """One endpoint: ``path`` is relative to the prefix, with ``{instance_id}`` (an integer) and
    ``{session_id}`` (a path segment) for the adapter to write in its own syntax."""

    action: str
    method: str
    path: str
    endpoint: str
    """The Flask endpoint name (``url_for("accounts_sync.<endpoint>")``)."""
    url_name: str
    """The Django URL name (``reverse("<url_name>")``)."""


ROUTES: tuple[Route, ...] = (
    Route(
        Action.SYNC_ALL,
        "POST",
        "instances/actions/sync-accounts",
        "sync_all_accounts",
        "accounts_sync_sync_all",
    ),
    Route(
        Action.SYNC_INSTANCE,
        "POST",
        "instances/{instance_id}/actions/sync-accounts",
        "sync_instance_accounts",
        "accounts_sync_sync_instance",
    ),
    Route(
        Action.LIST_SESSIONS,
        "GET",
        "sync-sessions",
        "list_sync_sessions",
        "accounts_sync_sessions",
    ),
    Route(
        Action.VIEW_SESSION,
        "GET",
        "sync-sessions/{session_id}",
        "get_sync_session",
        "accounts_sync_session",
    ),
    Route(
        Action.VIEW_SESSION,
        "GET",
        "sync-sessions/{session_id}/records",
        "list_sync_session_records",
        "accounts_sync_session_records",
    ),
    Route(
        Action.CANCEL_SESSION,
        "POST",
        "sync-sessions/{session_id}/actions/cancel",
        "cancel_sync_session",
        "accounts_sync_cancel_session",
    ),
)


class Launch(Protocol):
    """A launch registered to run after the commit; ``error`` is what the launcher raised."""

    @property
    def error(self) -> Exception | None: ...


class Transaction(Protocol):
    """The framework's unit of work for one request.

    ``scope()`` wraps the writes (Django: ``transaction.atomic``); ``commit()`` and
    ``rollback()`` end them (under Django's ``atomic``, the scope's exit commits and
    ``rollback()`` marks it). ``launch_after_commit`` registers the full sync's launch so it
    runs after the outermost commit and never after a rollback, and returns what reports its
    outcome (``launch`` itself, or a launch the framework runs in its place).
    """

    def scope(self) -> AbstractContextManager[object]: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def launch_after_commit(self, launch: DeferredLaunch) -> Launch: ...


@attrs.define(eq=False)
class DeferredLaunch:
    """``service.launch_background_full_sync`` for a framework's after-commit hook.

    :meth:`run` never raises: the service has logged a failed launch and failed the session, and
    the failure is kept in ``error`` for the view to answer 500, without breaking the host's
    other after-commit callbacks.
    """

    service: AccountsSyncActionsService[Any]
    prepared: AccountsSyncBackgroundPreparedSession
    created_by: int | None
    error: Exception | None = None

    def run(self) -> None:
        """Launch now; keep the launcher's error."""
        try:
            self.service.launch_background_full_sync(
                created_by=self.created_by, prepared=self.prepared
            )
        except Exception as error:
            self.error = error


@attrs.define(eq=False)
class _Call:
    """One request on its way through a route."""

    service: AccountsSyncActionsService[Any]
    request: Any
    action: str
    authorizer: Authorizer
    transaction: Callable[[], Transaction]
    query: Mapping[str, str]
    context: dict[str, Any] = attrs.field(factory=dict)

    @property
    def messages(self) -> Messages:
        return self.service.messages

    def authorize(self, target: Target) -> int | None:
        actor_id = self.authorizer(self.request, self.action, target)
        self.context["actor_id"] = actor_id
        return actor_id


class HttpDispatch:
    """The endpoints of :data:`ROUTES` behind one ``handle`` call, shared by every framework
    adapter."""

    def __init__(
        self, service: ServiceSource, *, authorize: Authorize[Any] | None, refusal: Refusal
    ) -> None:
        self.authorizer = Authorizer(authorize, refusal=refusal)
        # A failing factory leaves no service to ask: its 500 speaks the last service's
        # language (a fixed service's from the start), else the default.
        self.messages = Messages()
        if isinstance(service, AccountsSyncActionsService):
            fixed = service
            self.messages = service.messages
            self.get_service: Callable[[], AccountsSyncActionsService[Any]] = lambda: fixed
        elif callable(service):
            self.get_service = service
        else:
            raise TypeError(
                "service must be an AccountsSyncActionsService or a factory returning one"
            )

    def handle(
        self,
        route: Route,
        request: Any,
        args: Mapping[str, object],
        transaction: Callable[[AccountsSyncActionsService[Any]], Transaction],
        *,
        method: str | None = None,
        query: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        """Authorize and run ``route`` for ``request``; every failure is an envelope.

        With the request's ``method``, one the route does not take answers the 405 envelope
        (``HEAD`` is taken wherever ``GET`` is). ``query`` holds the query string's parameters,
        one value per name (``_http_query.first_values`` reads a framework's pairs alike).
        """
        if method is not None and method not in _METHODS[route.method]:
            return method_not_allowed(", ".join(_METHODS[route.method]), self.messages)
        try:
            service = self.get_service()
        except Exception as error:
            return error_response(error, messages=self.messages, action=route.action, context={})
        self.messages = service.messages
        call = _Call(
            service,
            request,
            route.action,
            self.authorizer,
            lambda: transaction(service),
            query={} if query is None else query,
        )
        try:
            return _HANDLERS[route.endpoint](call, args)
        except Exception as error:
            return error_response(
                error, messages=call.messages, action=route.action, context=call.context
            )


def _in_transaction(tx: Transaction, body: Callable[[Transaction], _T]) -> _T:
    with tx.scope():
        try:
            return body(tx)
        except BaseException:
            tx.rollback()
            raise


def _sync_all(call: _Call, args: Mapping[str, object]) -> HttpResponse:
    actor_id = call.authorize(None)
    service = call.service

    def prepare_and_commit(tx: Transaction) -> tuple[AccountsSyncBackgroundPreparedSession, Launch]:
        prepared = service.prepare_background_full_sync(created_by=actor_id)
        call.context["session_id"] = prepared.session_id
        launch = tx.launch_after_commit(DeferredLaunch(service, prepared, actor_id))
        tx.commit()
        return prepared, launch

    prepared, launch = _in_transaction(call.transaction(), prepare_and_commit)
    if launch.error is not None:
        # Committed, but the launcher failed: the service has logged it and failed the session.
        # (Still ``None`` when the host's outer transaction commits after this view: Django's
        # ``ATOMIC_REQUESTS``.)
        raise launch.error
    return ok_envelope(call.messages.background_launched, {"session_id": prepared.session_id})


def _sync_instance(call: _Call, args: Mapping[str, object]) -> HttpResponse:
    instance_id = _instance_id(args["instance_id"])
    if instance_id is None or not fits_integer(instance_id):
        # No database row has this id, and some drivers overflow on it: the hook sees no target.
        call.authorize(None)
        raise NotFoundError(call.messages.instance_not_found)
    actor_id = call.authorize(instance_id)
    call.context["instance_id"] = instance_id
    service = call.service

    def sync(tx: Transaction) -> HttpResponse:
        outcome = service.sync_instance_accounts(instance_id=instance_id, actor_id=actor_id)
        if not outcome.success:
            tx.rollback()
            return error_envelope(
                400,
                "INVALID_REQUEST",
                outcome.message,
                extra={"result": outcome.result, "instance_id": instance_id},
            )
        tx.commit()
        return ok_envelope(outcome.message, {"result": outcome.result})

    return _in_transaction(call.transaction(), sync)


def _instance_id(raw: object) -> int | None:
    """The id in the URL; None when the segment is no id (``abc``, ``-1``, ``１２``)."""
    if isinstance(raw, str):
        # The adapters route any segment here, so a malformed id gets the 404 envelope
        # instead of the framework's HTML page.
        return int(raw) if raw.isascii() and raw.isdigit() else None
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise TypeError(f"instance_id must be an int or a str, got {type(raw).__name__}")
    return raw


def _authorized_session(call: _Call, args: Mapping[str, object]) -> SyncSessionInfo:
    session_id = args["session_id"]
    info = None
    if plausible_session_id(session_id):
        assert isinstance(session_id, str)
        info = call.service.sessions.get_session(session_id)
    if info is None:
        # Authorize with no target first: a caller who may not act is refused (401/403) and
        # learns nothing about which ids exist; an allowed one is told it does not exist.
        call.authorize(None)
        raise NotFoundError(call.messages.session_not_found)
    call.context["session_id"] = info.session_id
    call.authorize(info)
    return info


def _list_sessions(call: _Call, args: Mapping[str, object]) -> HttpResponse:
    # The list is about no one session: the hook sees no target, as for a full sync.
    call.authorize(None)
    query = session_query(call.query, call.messages)
    sessions = call.service.sessions
    page = page_sessions(
        sessions,
        limit=query.limit + 1,
        before=query.before,
        statuses=query.statuses,
        sync_category=query.sync_category,
    )
    now = getattr(sessions, "clock", utc_now)()
    items = [{**info.as_dict(), "duration_seconds": duration(info, now)} for info in page]
    cursor = session_cursor(page[query.limit - 1]) if len(page) > query.limit else None
    return ok_envelope("", {"sessions": items[: query.limit], "next_cursor": cursor})


def _view_session(call: _Call, args: Mapping[str, object]) -> HttpResponse:
    info = _authorized_session(call, args)
    records, cursor = _records_page(call, info.session_id, after=None, limit=RECORDS_IN_SESSION)
    data: dict[str, Any] = {"session": info.as_dict(), "records": records}
    if cursor is not None:
        # Only then: a session of up to 100 records answers exactly as it always has.
        data["next_cursor"] = cursor
    return ok_envelope("", data)


def _session_records(call: _Call, args: Mapping[str, object]) -> HttpResponse:
    info = _authorized_session(call, args)
    query = record_query(call.query, call.messages)
    records, cursor = _records_page(
        call,
        info.session_id,
        after=query.after_record_id,
        limit=query.limit,
        statuses=query.statuses,
    )
    return ok_envelope("", {"records": records, "next_cursor": cursor})


def _records_page(
    call: _Call,
    session_id: str,
    *,
    after: int | None,
    limit: int,
    statuses: Sequence[RecordStatus] | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of records as JSON, and the cursor to the next one (None on the last page): one
    record more than the page is read to tell."""
    page = page_records(
        call.service.sessions, session_id, after_record_id=after, limit=limit + 1, statuses=statuses
    )
    cursor = record_cursor(page[limit - 1]) if len(page) > limit else None
    return [record.as_dict() for record in page[:limit]], cursor


def _cancel_session(call: _Call, args: Mapping[str, object]) -> HttpResponse:
    info = _authorized_session(call, args)
    sessions = call.service.sessions
    texts = call.messages

    def cancel(tx: Transaction) -> HttpResponse:
        if not sessions.request_cancel(info.session_id):
            raise ConflictError(
                texts.session_not_cancellable, extra={"session_id": info.session_id}
            )
        tx.commit()
        if info.status is SessionStatus.PENDING:
            _count_if_cancelled(sessions, info.session_id)
        return ok_envelope(texts.session_cancelled, {"session_id": info.session_id})

    return _in_transaction(call.transaction(), cancel)


def _count_if_cancelled(sessions: SyncSessionRepository, session_id: str) -> None:
    """Count a pending session the cancel ended at once: no run claims it, so no run counts it.
    One that was claimed meanwhile is still running, and its run counts it when it ends."""
    current = sessions.get_session(session_id)
    if current is not None and current.status is SessionStatus.CANCELLED:
        sessions_ended(SessionStatus.CANCELLED)


# The methods each route answers: HEAD wherever GET, as HTTP expects.
_METHODS = {"GET": ("GET", "HEAD"), "POST": ("POST",)}

# By endpoint: the session and its records share the ``view_sync_session`` action.
_HANDLERS: dict[str, Callable[[_Call, Mapping[str, object]], HttpResponse]] = {
    "sync_all_accounts": _sync_all,
    "sync_instance_accounts": _sync_instance,
    "list_sync_sessions": _list_sessions,
    "get_sync_session": _view_session,
    "list_sync_session_records": _session_records,
    "cancel_sync_session": _cancel_session,
}
