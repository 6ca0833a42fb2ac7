"""The session centre's pages on the Flask blueprint (docs: Session centre)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, render_template, request

from .._service import AccountsSyncActionsService
from ._centre import (
    CENTRE_ROUTES,
    STATIC_FOLDER,
    STATIC_PATH,
    TEMPLATE_FOLDER,
    CentreLinks,
    CentrePage,
    Csrf,
    SessionCentre,
)
from ._http_dispatch import HttpDispatch, Transaction
from ._http_query import first_values

__all__ = ["mount_centre"]

_LIST, _DETAIL = CENTRE_ROUTES


def mount_centre(
    blueprint: Blueprint,
    dispatch: HttpDispatch,
    transaction: Callable[[AccountsSyncActionsService[Any]], Transaction],
) -> None:
    """Add the pages and their static files to ``blueprint`` (before it is registered).

    The templates come after the app's own in Jinja's search: an app overrides one by putting
    a file of the same name (``accounts_sync/centre/sessions.html``) in its templates folder.
    """
    centre = SessionCentre(dispatch, transaction)
    blueprint.template_folder = str(TEMPLATE_FOLDER)
    blueprint.static_folder = str(STATIC_FOLDER)
    blueprint.static_url_path = "/" + STATIC_PATH.rstrip("/")

    def sessions_page() -> Any:
        links = _links(_LIST.path)
        return _render(centre.sessions_page(request, _query(), links))

    def session_page(session_id: str) -> Any:
        links = _links(_DETAIL.path.format(session_id=session_id))
        return _render(centre.session_page(request, session_id, _query(), links))

    blueprint.add_url_rule("/" + _LIST.path, endpoint=_LIST.endpoint, view_func=sessions_page)
    blueprint.add_url_rule(
        "/" + _DETAIL.path.format(session_id="<session_id>"),
        endpoint=_DETAIL.endpoint,
        view_func=session_page,
    )


def _query() -> dict[str, str]:
    return first_values(request.args.items(multi=True))


def _links(relative: str) -> CentreLinks:
    return CentreLinks.for_page(request.script_root + request.path, relative, _csrf())


def _csrf() -> Csrf | None:
    # Flask-WTF's CSRFProtect puts ``csrf_token`` in Jinja's globals; without it there is no
    # token to send (the host protects its POSTs some other way, or not at all).
    generate = current_app.jinja_env.globals.get("csrf_token")
    if not callable(generate):
        return None
    config = current_app.config
    headers = config.get("WTF_CSRF_HEADERS") or ["X-CSRFToken"]
    field = str(config.get("WTF_CSRF_FIELD_NAME") or "csrf_token")
    return Csrf(header=str(headers[0]), token=str(generate()), field=field)


def _render(page: CentrePage) -> Any:
    return render_template(page.template, **page.context), page.status
