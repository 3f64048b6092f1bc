"""The trail's filter form, shared by the internal-control pages and the API (``?case=&actor=&action=
&since=&until=``). Dates are days in America/La_Paz (``until`` inclusive) or ISO 8601 date-times."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

from django import forms
from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _

from . import actions
from .selectors import TrailFilters, action_prefixes

LA_PAZ = zoneinfo.ZoneInfo("America/La_Paz")
CASE_RE = re.compile(r"^[A-Z]{2,5}-\d{4}-\d{1,9}$")


class DayOrMomentField(forms.CharField):
    """A day (``2026-11-25``: the start of that day in La Paz) or an ISO 8601 date-time."""

    def __init__(self, *, end_of_day: bool = False, **kwargs):
        self.end_of_day = end_of_day
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}))
        super().__init__(**kwargs)

    def to_python(self, value):
        value = super().to_python(value).strip()
        if not value:
            return None
        try:
            day = parse_date(value)
            moment = None if day else parse_datetime(value)
        except ValueError:
            day = moment = None
        if day is not None:
            if not dt.date(1900, 1, 1) <= day < dt.date(9999, 12, 31):
                raise ValidationError(_("Enter a date between 1900 and 9998."), code="out_of_range")
            start = dt.datetime.combine(day, dt.time.min, tzinfo=LA_PAZ)
            return start + dt.timedelta(days=1) if self.end_of_day else start
        if moment is not None:
            if not 1900 <= moment.year < 9999:
                raise ValidationError(_("Enter a date between 1900 and 9998."), code="out_of_range")
            return moment if moment.tzinfo else moment.replace(tzinfo=LA_PAZ)
        raise ValidationError(_("Enter a date (YYYY-MM-DD) or an ISO 8601 date and time."), code="invalid")


def action_choices():
    grouped: dict[str, list] = {}
    for value, label in actions.choices():
        grouped.setdefault(value.split(".", 1)[0], []).append((value, label))
    return [("", _("All actions"))] + [
        (prefix, sorted(items, key=lambda c: str(c[1]))) for prefix, items in sorted(grouped.items())
    ]


class TrailFilterForm(forms.Form):
    case = forms.CharField(label=_("Case"), max_length=32, required=False)
    actor = forms.CharField(label=_("User"), max_length=150, required=False)
    action = forms.CharField(label=_("Action"), max_length=64, required=False)
    since = DayOrMomentField(label=_("From"))
    until = DayOrMomentField(label=_("To"), end_of_day=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].widget = forms.Select(choices=action_choices())

    def clean_case(self):
        code = self.cleaned_data["case"].strip().upper()
        if code and not CASE_RE.match(code):
            raise ValidationError(_("Enter a case code such as INI-2026-000123."), code="invalid")
        return code

    def clean_actor(self):
        return self.cleaned_data["actor"].strip()

    def clean_action(self):
        action = self.cleaned_data["action"].strip()
        if action and not actions.is_known(action) and action.rstrip(".") not in action_prefixes():
            raise ValidationError(_("Unknown action."), code="invalid")
        return action

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since >= until:
            self.add_error("until", _("The end must be after the start."))
        return data

    def filters(self) -> TrailFilters:
        """The validated filters (call after ``is_valid()``)."""
        data = self.cleaned_data
        return TrailFilters(
            case=data.get("case", ""),
            actor=data.get("actor", ""),
            action=data.get("action", ""),
            since=data.get("since"),
            until=data.get("until"),
        )
