"""The session centre's pages as Django views (docs: Session centre)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_safe
from django.views.static import serve

from ..._service import AccountsSyncActionsService
from .._centre import (
    CENTRE_ROUTES,
    STATIC_FOLDER,
    STATIC_PATH,
    CentreLinks,
    CentrePage,
    Csrf,
    SessionCentre,
)
from .._http_dispatch import HttpDispatch, Transaction
from .._http_query import first_values

__all__ = ["centre_urls", "query_of"]

_LIST, _DETAIL = CENTRE_ROUTES


def centre_urls(
    base: str,
    dispatch: HttpDispatch,
    transaction: Callable[[AccountsSyncActionsService[Any]], Transaction],
) -> list[URLPattern]:
    """The pages and their static files under ``base`` (``""`` or ``"api/"``).

    The templates are this app's (``accounts_sync/centre/*.html``): a project overrides one
    with a file of the same name in a directory of its ``TEMPLATES`` ``DIRS``.
    """
    centre = SessionCentre(dispatch, transaction)

    def sessions_page(request: HttpRequest) -> HttpResponse:
        links = _links(request, _LIST.path)
        return _render(request, centre.sessions_page(request, query_of(request), links))

    def session_page(request: HttpRequest, session_id: str) -> HttpResponse:
        links = _links(request, _DETAIL.path.format(session_id=session_id))
        page = centre.session_page(request, session_id, query_of(request), links)
        return _render(request, page)

    def static(request: HttpRequest, name: str) -> Any:
        # Two small files: served here, so the page works without staticfiles' collectstatic.
        return serve(request, name, document_root=str(STATIC_FOLDER))

    return [
        path(base + _LIST.path, require_safe(sessions_page), name=_LIST.url_name),
        path(
            base + _DETAIL.path.format(session_id="<str:session_id>"),
            require_safe(session_page),
            name=_DETAIL.url_name,
        ),
        path(
            base + STATIC_PATH + "<path:name>",
            require_safe(static),
            name="accounts_sync_centre_static",
        ),
    ]


def query_of(request: HttpRequest) -> dict[str, str]:
    """The query string, one value per name, as the dispatch takes it."""
    return first_values((name, value) for name, values in request.GET.lists() for value in values)


def _links(request: HttpRequest, relative: str) -> CentreLinks:
    # ``CSRF_HEADER_NAME`` is the WSGI key (``HTTP_X_CSRFTOKEN``): the header is its tail.
    header = settings.CSRF_HEADER_NAME.removeprefix("HTTP_").replace("_", "-")
    csrf = Csrf(header, get_token(request), field="csrfmiddlewaretoken")
    return CentreLinks.for_page(request.path, relative, csrf)


def _render(request: HttpRequest, page: CentrePage) -> HttpResponse:
    return render(request, page.template, page.context, status=page.status)
