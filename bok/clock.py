"""The day bok works as of. ``BOK_TODAY=YYYY-MM-DD`` pins it, for reproducible builds,
examples in the handbook, and tests of re-validation."""

from __future__ import annotations

import datetime as dt
import os

from .errors import BokError


def today() -> dt.date:
    pinned = os.environ.get("BOK_TODAY")
    if not pinned:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(pinned)
    except ValueError:
        raise BokError(f"BOK_TODAY={pinned!r} is not a date YYYY-MM-DD") from None
