"""``{{ seconds|unix_datetime|time:"H:i:s" }}``: a unix time (as Redis and JSON hold it) shown as a time."""

from __future__ import annotations

import datetime as dt

from django import template

register = template.Library()


@register.filter
def unix_datetime(value) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(float(value), tz=dt.UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
