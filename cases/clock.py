"""Time as the agency reads it: America/La_Paz."""

import datetime as dt
import zoneinfo

from django.utils import timezone

LA_PAZ = zoneinfo.ZoneInfo("America/La_Paz")


def today() -> dt.date:
    """Today's date in La Paz."""
    return timezone.localdate(timezone=LA_PAZ)
