"""Charts of the transparency pages and /budget/ (issue 11, item 13): executed against in force per
program and per source, the budget in force by stage; inline SVG with the figures as text; the pages
open on the latest closed year that has data."""

import re
from decimal import Decimal

import pytest
from django.test import Client

from cases import charts
from reports.selectors import current_fiscal_year
from tests.factories import BudgetLineFactory

from .conftest import make_world

pytestmark = pytest.mark.django_db


def test_compare_scales_every_bar_to_the_largest_amount_in_force():
    rows = charts.compare(
        [("A", "", Decimal("1000.00"), Decimal("250.00")), ("B", "", Decimal("500.00"), Decimal("500.00"))]
    )
    assert [(r.force_width, r.executed_width, r.percent) for r in rows] == [
        ("100.00", "25.00", Decimal("25.0")),
        ("50.00", "50.00", Decimal("100.0")),
    ]
    # Nothing in force: no bar and no percentage (never a division by zero).
    [empty] = charts.compare([("C", "", Decimal(0), Decimal(0))])
    assert (empty.force_width, empty.executed_width, empty.percent) == ("0.00", "0.00", None)


def test_stages_add_up_to_the_amount_in_force():
    labels = dict.fromkeys(("paid", "executed", "committed", "reserved", "available"), "x")
    segments = charts.stages(
        in_force=Decimal("1000"),
        reserved=Decimal("100"),
        committed=Decimal("200"),
        executed=Decimal("400"),
        paid=Decimal("300"),
        labels=labels,
    )
    assert [(s.key, s.amount, s.x, s.width) for s in segments] == [
        ("paid", Decimal("300"), "0.00", "30.00"),
        ("executed", Decimal("100"), "30.00", "10.00"),
        ("committed", Decimal("200"), "40.00", "20.00"),
        ("reserved", Decimal("100"), "60.00", "10.00"),
        ("available", Decimal("300"), "70.00", "30.00"),
    ]


def test_the_public_page_draws_executed_against_in_force(world):
    html = Client().get("/reports/", {"fiscal_year": world.year}).content.decode()
    charts_html = html[html.index('id="charts-title"') : html.index('id="by-source"')]
    assert charts_html.count('class="chart-bar"') == 3 + 2  # three programs, two sources
    assert 'aria-hidden="true"' in charts_html and "<figcaption" in charts_html
    assert "Bs 553,75 ejecutado de Bs 3.000,00 · <strong>18,5 %</strong>" in charts_html
    # Coordinates with a dot, whatever the language.
    widths = re.findall(r'<rect x="0" y="0" width="([^"]+)"', charts_html)
    assert widths and all(re.fullmatch(r"\d+\.\d\d", w) for w in widths)


def test_the_goals_page_opens_on_the_latest_closed_year_with_data(finance):
    # Data three years ago, nothing since but the year in progress (not public): both pages open on
    # the year with data, not on an empty last year.
    year = current_fiscal_year() - 3
    make_world(year, finance)
    BudgetLineFactory(fiscal_year=current_fiscal_year())
    for page in ("/reports/metas/", "/reports/"):
        response = Client().get(page)
        assert response.status_code == 200
        assert response.context["fiscal_year"] == year, page
