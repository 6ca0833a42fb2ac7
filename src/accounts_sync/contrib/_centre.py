"""The session centre: the HTML pages over the JSON endpoints, for every framework.

Each page asks :class:`~accounts_sync.contrib.http.HttpDispatch` exactly what the page's script
asks over HTTP — the same route, the same ``authorize`` call, the same envelopes — and turns the
answer into a :class:`CentrePage` (a template name, a status and a context). The adapter only
renders it with its own engine. The templates use the syntax Jinja and Django templates share,
so one set serves both; it lives in the Django app's ``templates/`` folder (where Django's app
loader finds it), and the Flask blueprint reads the same folder.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import attrs

from .._clock import utc_now
from .._errors import NotAuthenticated, PermissionDenied
from .._messages import Messages
from .._service import AccountsSyncActionsService
from ._centre_rows import RecordRow, SessionRow, script_texts
from ._http_authorize import Action
from ._http_dispatch import ROUTES, HttpDispatch, Route, Transaction
from ._http_errors import HttpResponse, error_response

__all__ = [
    "CENTRE_ROUTES",
    "STATIC_FOLDER",
    "STATIC_PATH",
    "TEMPLATE_FOLDER",
    "CentreLinks",
    "CentrePage",
    "Csrf",
    "SessionCentre",
]

_HERE = Path(__file__).resolve().parent
TEMPLATE_FOLDER = _HERE / "django" / "templates"
"""The one template set (``accounts_sync/centre/*.html``), for Jinja and Django alike."""
STATIC_FOLDER = _HERE / "django" / "static"
"""The page's stylesheet and script (``accounts_sync/centre/centre.css``, ``centre.js``)."""

CENTRE_ROUTES: tuple[Route, ...] = (
    Route(Action.LIST_SESSIONS, "GET", "centre/", "centre", "accounts_sync_centre"),
    Route(
        Action.VIEW_SESSION,
        "GET",
        "centre/sessions/{session_id}",
        "centre_session",
        "accounts_sync_centre_session",
    ),
)
"""The pages, relative to the endpoints' prefix: the sessions list, and one session."""
STATIC_PATH = "centre/static/"
"""Where the adapters serve :data:`STATIC_FOLDER`'s ``accounts_sync/centre/`` files."""

_JSON_ROUTES = {route.endpoint: route for route in ROUTES}
# The endpoints the pages and their script use, by the dispatch's endpoint names.
_LIST, _SESSION, _RECORDS = "list_sync_sessions", "get_sync_session", "list_sync_session_records"
_START, _CANCEL = "sync_all_accounts", "cancel_sync_session"


@attrs.frozen
class Csrf:
    """The framework's CSRF token, the header the page's script sends it in, and the form field
    a button's form sends it in when the script does not run."""

    header: str
    token: str
    field: str


@attrs.frozen
class CentreLinks:
    """Where things are for one request: ``root`` is the endpoints' prefix as a URL, with its
    trailing slash (``/api/v1/``), ``static`` the folder of the page's files."""

    root: str
    static: str
    csrf: Csrf | None = None

    @classmethod
    def for_page(cls, path: str, relative: str, csrf: Csrf | None) -> CentreLinks:
        """The links of a page served at ``path`` (the full path, with any script prefix), which
        ends with the page's route ``relative`` (``centre/``, ``centre/sessions/<id>``)."""
        if not path.endswith(relative):
            raise ValueError(f"{path!r} is not the path of a {relative!r} page")
        root = path[: len(path) - len(relative)]
        return cls(root=root, static=root + STATIC_PATH, csrf=csrf)

    def endpoint(self, name: str, **args: str) -> str:
        """The URL of the JSON endpoint ``name`` (a :class:`Route`'s ``endpoint``)."""
        quoted = {arg: quote(value, safe="") for arg, value in args.items()}
        return self.root + _JSON_ROUTES[name].path.format(**quoted)

    def sessions_page(self) -> str:
        """The URL of the sessions list."""
        return self.root + CENTRE_ROUTES[0].path

    def session_page(self, session_id: str) -> str:
        """The URL of a session's page (``""``: the prefix the script appends ids to)."""
        return self.root + CENTRE_ROUTES[1].path.format(session_id=quote(session_id, safe=""))


@attrs.frozen
class CentrePage:
    """What the adapter renders: ``template`` with ``context``, answered with ``status``."""

    template: str
    status: int
    context: dict[str, Any]


class SessionCentre:
    """The two pages behind the dispatch the JSON endpoints use."""

    def __init__(
        self,
        dispatch: HttpDispatch,
        transaction: Callable[[AccountsSyncActionsService[Any]], Transaction],
    ) -> None:
        self.dispatch = dispatch
        self.transaction = transaction

    def sessions_page(
        self, request: Any, query: Mapping[str, str], links: CentreLinks
    ) -> CentrePage:
        """The recent sessions, filtered and paged by ``query`` as the list endpoint is."""
        return self._guarded(
            Action.LIST_SESSIONS, links, lambda: self._sessions_page(request, query, links)
        )

    def session_page(
        self, request: Any, session_id: str, query: Mapping[str, str], links: CentreLinks
    ) -> CentrePage:
        """One session, and one page of its records (``status``/``cursor`` as the records
        endpoint takes them)."""
        return self._guarded(
            Action.VIEW_SESSION,
            links,
            lambda: self._session_page(request, session_id, query, links),
        )

    def _guarded(
        self, action: str, links: CentreLinks, build: Callable[[], CentrePage]
    ) -> CentrePage:
        # What the dispatch has not answered — the hook failing while a button is probed — is
        # the endpoints' generic 500: logged, its text never shown.
        try:
            return build()
        except Exception as error:
            texts = self.dispatch.messages
            answer = error_response(error, messages=texts, action=action, context={})
            return _error(answer.status, answer.body, texts, links)

    def _sessions_page(
        self, request: Any, query: Mapping[str, str], links: CentreLinks
    ) -> CentrePage:
        answer = self._ask(_LIST, request, {}, query)
        texts = self.dispatch.messages
        if answer.status != 200:
            return _error(answer.status, answer.body, texts, links)
        data = answer.body["data"]
        now = utc_now()
        rows = [
            SessionRow.from_json(
                item, url=links.session_page(item["session_id"]), texts=texts, now=now
            )
            for item in data["sessions"]
        ]
        cursor = data.get("next_cursor")
        poll = links.endpoint(_LIST) + _query_string(query)
        return CentrePage(
            "accounts_sync/centre/sessions.html",
            200,
            _context(
                texts,
                links,
                kind="sessions",
                poll_url=poll,
                live=any(not row.terminal for row in rows),
                sessions=rows,
                next_url=_with(links.sessions_page(), query, cursor=cursor) if cursor else "",
                can_start=self._allowed(request, Action.SYNC_ALL, None),
                start_url=links.endpoint(_START),
            ),
        )

    def _session_page(
        self, request: Any, session_id: str, query: Mapping[str, str], links: CentreLinks
    ) -> CentrePage:
        answer = self._ask(_SESSION, request, {"session_id": session_id}, {})
        texts = self.dispatch.messages
        if answer.status != 200:
            return _error(answer.status, answer.body, texts, links)
        data = answer.body["data"]
        session = data["session"]
        records_url = ""
        if query.get("status") or query.get("cursor"):
            # Not the first page of every record: the records endpoint answers this page.
            records_url = links.endpoint(_RECORDS, session_id=session_id)
            answer = self._ask(_RECORDS, request, {"session_id": session_id}, _records_query(query))
            if answer.status != 200:
                return _error(answer.status, answer.body, texts, links)
            data = answer.body["data"]
        now = utc_now()
        row = SessionRow.from_json(
            session, url=links.session_page(session["session_id"]), texts=texts, now=now
        )
        cursor = data.get("next_cursor")
        page = links.session_page(row.session_id)
        return CentrePage(
            "accounts_sync/centre/session.html",
            200,
            _context(
                texts,
                links,
                kind="session",
                poll_url=links.endpoint(_SESSION, session_id=row.session_id),
                records_url=records_url + _query_string(_records_query(query)),
                live=not row.terminal,
                session=row,
                records=[RecordRow.from_json(r, texts=texts, now=now) for r in data["records"]],
                failed_only=query.get("status") == "failed",
                all_url=page,
                failed_url=_with(page, {}, status="failed"),
                next_url=_with(page, query, cursor=cursor) if cursor else "",
                can_cancel=not row.terminal and self._may_cancel(request, row.session_id),
                cancel_url=links.endpoint(_CANCEL, session_id=row.session_id),
            ),
        )

    def _ask(
        self, endpoint: str, request: Any, args: Mapping[str, object], query: Mapping[str, str]
    ) -> HttpResponse:
        return self.dispatch.handle(
            _JSON_ROUTES[endpoint], request, args, self.transaction, query=query
        )

    def _may_cancel(self, request: Any, session_id: str) -> bool:
        # The hook decides per session, as the cancel endpoint asks it: with the session.
        info = self.dispatch.get_service().sessions.get_session(session_id)
        return info is not None and self._allowed(request, Action.CANCEL_SESSION, info)

    def _allowed(self, request: Any, action: str, target: Any) -> bool:
        """Whether a button is shown: the hook's refusal hides it (the endpoint refuses too)."""
        try:
            self.dispatch.authorizer(request, action, target)
        except (NotAuthenticated, PermissionDenied):
            return False
        return True


def _context(texts: Messages, links: CentreLinks, **page: Any) -> dict[str, Any]:
    # One name in the host's context (``centre``), so no context processor's key is shadowed.
    return {
        "centre": {
            "t": texts,
            "lang": "zh-CN" if texts.language == "zh" else texts.language,
            "script_texts": script_texts(texts),
            "home_url": links.sessions_page(),
            "session_page": links.session_page(""),
            "css_url": links.static + "accounts_sync/centre/centre.css",
            "js_url": links.static + "accounts_sync/centre/centre.js",
            "csrf_header": links.csrf.header if links.csrf else "",
            "csrf_token": links.csrf.token if links.csrf else "",
            "csrf_field": links.csrf.field if links.csrf else "",
            # What the layout reads on every page, so a strict Jinja ``undefined`` never fails.
            "poll_url": "",
            "records_url": "",
            "live": False,
            **page,
        }
    }


def _error(status: int, body: Mapping[str, Any], texts: Messages, links: CentreLinks) -> CentrePage:
    """The envelope's refusal or error as a page, with the same status and message."""
    context = _context(texts, links, kind="error", message=str(body.get("message", "")))
    return CentrePage("accounts_sync/centre/error.html", status, context)


def _records_query(query: Mapping[str, str]) -> dict[str, str]:
    return {name: query[name] for name in ("status", "cursor") if query.get(name)}


def _query_string(query: Mapping[str, str]) -> str:
    kept = {name: value for name, value in query.items() if value}
    return "?" + urlencode(kept) if kept else ""


def _with(url: str, query: Mapping[str, str], **changes: str) -> str:
    return url + _query_string({**query, **changes})
