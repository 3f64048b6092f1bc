import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from .conftest import api_client
from .test_api import EXPECTED_SOURCES, EXPECTED_TOTAL, URL, pdf_text

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("budget_execution", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_json_to_stdout_equals_the_api(world):
    document = json.loads(run("--fiscal-year", str(world.year)))
    assert document["by_source"] == EXPECTED_SOURCES
    assert document["total"] == EXPECTED_TOTAL
    api = api_client().get(URL, {"fiscal_year": world.year}).json()
    assert {k: v for k, v in document.items() if k != "generated_at"} == {
        k: v for k, v in api.items() if k != "generated_at"
    }


def test_csv_to_stdout(world):
    rows = list(csv.DictReader(io.StringIO(run("--fiscal-year", str(world.year), "--format", "csv"))))
    assert rows[-1]["table"] == "total"
    assert (rows[-1]["in_force"], rows[-1]["executed"], rows[-1]["percent"]) == ("3500.00", "953.75", "27.3")


def test_binary_formats_to_files(world, tmp_path):
    xlsx, pdf = tmp_path / "r.xlsx", tmp_path / "r.pdf"
    run("--fiscal-year", str(world.year), "--format", "xlsx", "--output", str(xlsx))
    run("--fiscal-year", str(world.year), "--format", "pdf", "--output", str(pdf))
    sheet = load_workbook(xlsx).active
    assert sheet["A1"].value == f"Ejecución presupuestaria — gestión {world.year}"
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert "953,75" in pdf_text(pdf.read_bytes())


def test_english_and_default_file_name(world, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run("--fiscal-year", str(world.year), "--format", "pdf", "--language", "en")
    text = pdf_text((tmp_path / f"ejecucion-presupuestaria-{world.year}.pdf").read_bytes())
    assert "3,500.00" in text and "Page 1 of 1" in text


def test_json_to_a_file(world, tmp_path):
    target = tmp_path / "r.json"
    assert run("--fiscal-year", str(world.year), "--output", str(target)) == ""
    assert json.loads(target.read_text(encoding="utf-8"))["total"] == EXPECTED_TOTAL


def test_bad_year_is_refused(db):
    with pytest.raises(CommandError, match=r"Introduzca una gestión entre 2000 y 2100\."):
        run("--fiscal-year", "veinte")
