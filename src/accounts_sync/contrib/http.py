"""The framework-neutral HTTP contract shared by the Flask and Django adapters.

Everything both frameworks must do alike lives behind this module, once: the route table
(:data:`ROUTES`), the ``authorize`` hook's call and the check of its answer, the checks of
hostile ids, the mapping of errors to statuses and message codes, and the JSON envelopes. An
adapter only translates its framework's request into :meth:`HttpDispatch.handle`, the
:class:`HttpResponse` into its framework's response, and provides its :class:`Transaction`.

Errors map to answers here, whatever their informational ``http_status``:

| error | status | `message_code` |
| --- | --- | --- |
| `ValidationError` | 400 | `VALIDATION_ERROR` |
| `NotFoundError` | 404 | `RESOURCE_NOT_FOUND` |
| `ConflictError` | 409 | `CONFLICT` |
| `NotAuthenticated` | 401 | `AUTHENTICATION_REQUIRED` |
| `PermissionDenied` | 403 | `PERMISSION_REQUIRED` |
| anything else | 500 | `INTERNAL_ERROR`, with the generic message |
"""

from __future__ import annotations

from .._errors import NotAuthenticated, PermissionDenied
from ._http_authorize import (
    Action,
    Authorize,
    AuthorizeAction,
    Authorizer,
    AuthorizeTarget,
    HookResultError,
    Refusal,
    Target,
    require_authorize,
)
from ._http_dispatch import (
    MAX_SESSION_ID_LENGTH,
    ROUTES,
    DeferredLaunch,
    HttpDispatch,
    Launch,
    Route,
    ServiceSource,
    Transaction,
)
from ._http_errors import HttpResponse, error_response, status_of

__all__ = [
    "MAX_SESSION_ID_LENGTH",
    "ROUTES",
    "Action",
    "Authorize",
    "AuthorizeAction",
    "AuthorizeTarget",
    "Authorizer",
    "DeferredLaunch",
    "HookResultError",
    "HttpDispatch",
    "HttpResponse",
    "Launch",
    "NotAuthenticated",
    "PermissionDenied",
    "Refusal",
    "Route",
    "ServiceSource",
    "Target",
    "Transaction",
    "error_response",
    "require_authorize",
    "status_of",
]
