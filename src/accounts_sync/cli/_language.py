"""Which language a run speaks: ``--lang``, else ``ACCOUNTS_SYNC_LANG``, else the locale."""

from __future__ import annotations

from collections.abc import Mapping

from .._messages import LANGUAGES

__all__ = ["LANGUAGES", "LANG_ENV", "choose_language", "language_from_locale"]

LANG_ENV = "ACCOUNTS_SYNC_LANG"


def language_from_locale(environ: Mapping[str, str]) -> str:
    """``zh`` if the locale (``LC_ALL``, else ``LANG``) starts with ``zh``, else ``en``."""
    locale = environ.get("LC_ALL") or environ.get("LANG") or ""
    return "zh" if locale.strip().lower().startswith("zh") else "en"


def choose_language(flag: str | None, environ: Mapping[str, str]) -> str:
    """The run's one language; ``ValueError`` for an unknown ``ACCOUNTS_SYNC_LANG``."""
    if flag:
        return flag
    chosen = environ.get(LANG_ENV, "").strip().lower()
    if not chosen:
        return language_from_locale(environ)
    if chosen not in LANGUAGES:
        raise ValueError(f"{LANG_ENV} must be one of {', '.join(LANGUAGES)}, not {chosen!r}")
    return chosen
