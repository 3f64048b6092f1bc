"""Money and dates as the agency writes them: ``Bs 60.949.269,00``, La Paz time."""

import datetime as dt
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from cases.templatetags.expediente_tags import bs, lpz_date, lpz_datetime, money, percent, share, short_hash


def render(source: str, **context) -> str:
    return Template("{% load expediente %}" + source).render(Context(context))


@pytest.mark.parametrize(
    ("value", "spanish", "english"),
    [
        (Decimal("60949269.00"), "Bs 60.949.269,00", "Bs 60,949,269.00"),
        ("32077374.7", "Bs 32.077.374,70", "Bs 32,077,374.70"),
        (Decimal("0"), "Bs 0,00", "Bs 0.00"),
        (Decimal("999.995"), "Bs 1.000,00", "Bs 1,000.00"),
        (Decimal("-1500.5"), "Bs -1.500,50", "Bs -1,500.50"),
        (12, "Bs 12,00", "Bs 12.00"),
    ],
)
def test_bs_in_spanish_and_english(value, spanish, english):
    with translation.override("es"):
        assert bs(value) == spanish
        assert render("{{ v|bs }}", v=value) == spanish
    with translation.override("en"):
        assert bs(value) == english


def test_money_without_currency_and_empty_values():
    with translation.override("es"):
        assert money(Decimal("28871894.30")) == "28.871.894,30"
        assert bs(None) == "—" and bs("") == "—" and bs("not a number") == "—"


def test_floats_are_refused():
    with pytest.raises(TypeError):
        bs(1.5)


def test_dates_are_shown_in_la_paz():
    utc_midnight = dt.datetime(2021, 2, 27, 2, 30, tzinfo=dt.UTC)  # 26/02/2021 22:30 in La Paz (UTC-4)
    with translation.override("es"), timezone_override("UTC"):
        assert lpz_datetime(utc_midnight) == "26/02/2021 22:30"
        assert lpz_date(utc_midnight) == "26/02/2021"
        assert lpz_date(dt.date(2020, 12, 31)) == "31/12/2020"
        assert lpz_datetime(None) == "—"


def test_percent_one_decimal():
    with translation.override("es"):
        assert percent(Decimal("52.63")) == "52,6 %"
        assert percent(Decimal("52.66")) == "52,7 %"
        assert percent("100", 0) == "100 %"
        assert share(Decimal("0.50")) == "50 %" and share(None) == "—"
    with translation.override("en"):
        assert percent(Decimal("52.63")) == "52.6 %"


def timezone_override(name):
    from django.utils import timezone

    return timezone.override(name)


def test_a_long_hash_is_shown_short():
    sha = "5a838678058f6de375e8635b5f2fea47a4e5f07cb1a882a44b10f39abc6f34ff"
    assert short_hash(sha) == "5a838678…bc6f34ff"
    assert short_hash("REG-2026-000001") == "REG-2026-000001"  # short values stay whole
    assert short_hash(None) == ""
