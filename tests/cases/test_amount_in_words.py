"""Amounts in words as Bolivian documents write them (``cases.official_pdf.amount_in_words``) and in
figures (``Bs 120.000,00``)."""

from decimal import Decimal

import pytest

from cases.official_pdf import amount_in_figures, amount_in_words, integer_in_words


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("0", "CERO 00/100 BOLIVIANOS"),
        ("0.50", "CERO 50/100 BOLIVIANOS"),
        ("1", "UN 00/100 BOLIVIANOS"),
        ("1.01", "UN 01/100 BOLIVIANOS"),
        ("15", "QUINCE 00/100 BOLIVIANOS"),
        ("16", "DIECISÉIS 00/100 BOLIVIANOS"),
        ("21", "VEINTIÚN 00/100 BOLIVIANOS"),
        ("22", "VEINTIDÓS 00/100 BOLIVIANOS"),
        ("30", "TREINTA 00/100 BOLIVIANOS"),
        ("31", "TREINTA Y UN 00/100 BOLIVIANOS"),
        ("99.99", "NOVENTA Y NUEVE 99/100 BOLIVIANOS"),
        ("100", "CIEN 00/100 BOLIVIANOS"),
        ("101", "CIENTO UN 00/100 BOLIVIANOS"),
        ("115", "CIENTO QUINCE 00/100 BOLIVIANOS"),
        ("500", "QUINIENTOS 00/100 BOLIVIANOS"),
        ("555", "QUINIENTOS CINCUENTA Y CINCO 00/100 BOLIVIANOS"),
        ("700", "SETECIENTOS 00/100 BOLIVIANOS"),
        ("900", "NOVECIENTOS 00/100 BOLIVIANOS"),
        ("1000", "MIL 00/100 BOLIVIANOS"),
        ("1001", "MIL UN 00/100 BOLIVIANOS"),
        ("2000", "DOS MIL 00/100 BOLIVIANOS"),
        ("21000", "VEINTIÚN MIL 00/100 BOLIVIANOS"),
        ("31000", "TREINTA Y UN MIL 00/100 BOLIVIANOS"),
        ("100000", "CIEN MIL 00/100 BOLIVIANOS"),
        ("101000", "CIENTO UN MIL 00/100 BOLIVIANOS"),
        ("120000", "CIENTO VEINTE MIL 00/100 BOLIVIANOS"),
        ("118500.50", "CIENTO DIECIOCHO MIL QUINIENTOS 50/100 BOLIVIANOS"),
        ("1000000", "UN MILLÓN 00/100 BOLIVIANOS"),
        ("1001000", "UN MILLÓN MIL 00/100 BOLIVIANOS"),
        ("1000001", "UN MILLÓN UN 00/100 BOLIVIANOS"),
        ("2000000", "DOS MILLONES 00/100 BOLIVIANOS"),
        ("21000000", "VEINTIÚN MILLONES 00/100 BOLIVIANOS"),
        ("100000000", "CIEN MILLONES 00/100 BOLIVIANOS"),
        ("2500000.05", "DOS MILLONES QUINIENTOS MIL 05/100 BOLIVIANOS"),
        (
            "999999999.99",
            "NOVECIENTOS NOVENTA Y NUEVE MILLONES NOVECIENTOS NOVENTA Y NUEVE MIL NOVECIENTOS NOVENTA Y "
            "NUEVE 99/100 BOLIVIANOS",
        ),
    ],
)
def test_amount_in_words(amount, words):
    assert amount_in_words(Decimal(amount)) == words


@pytest.mark.parametrize("amount", ["-0.01", "1000000000", "1000000000.00"])
def test_out_of_range_is_refused(amount):
    with pytest.raises(ValueError):
        amount_in_words(Decimal(amount))


def test_every_integer_below_a_million_reads_back_distinctly():
    # No two amounts share their words (a missing or doubled word would collide somewhere).
    seen: dict[str, int] = {}
    for n in range(0, 1_000_000, 7):
        words = integer_in_words(n)
        assert words not in seen, (n, seen.get(words))
        assert "  " not in words and words == words.strip()
        seen[words] = n


@pytest.mark.parametrize(
    ("amount", "figures"),
    [
        ("0", "Bs 0,00"),
        ("5.5", "Bs 5,50"),
        ("999.99", "Bs 999,99"),
        ("1000", "Bs 1.000,00"),
        ("118500.50", "Bs 118.500,50"),
        ("120000", "Bs 120.000,00"),
        ("1234567.89", "Bs 1.234.567,89"),
    ],
)
def test_amount_in_figures(amount, figures):
    assert amount_in_figures(Decimal(amount)) == figures
