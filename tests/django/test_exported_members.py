"""The Django integration's public list, pinned (it needs Django configured, hence here)."""

from __future__ import annotations

import accounts_sync.contrib.django as integration

PUBLIC = [
    "DEFAULT_PERMISSIONS",
    "AccountsSyncViews",
    "CloseConnectionsLauncher",
    "DjangoInstanceRepository",
    "DjangoSyncSessionRepository",
    "DjangoThreadLauncher",
    "MappedInstance",
    "ServiceSource",
    "accounts_sync_urls",
    "build_service",
    "permission_authorize",
]


def test_the_public_list_is_pinned_and_resolves() -> None:
    assert sorted(integration.__all__) == sorted(PUBLIC)
    for name in integration.__all__:
        assert getattr(integration, name) is not None
