"""CSV exports: Excel reads the accents (BOM) and never runs a cell (formula neutralisation)."""

from __future__ import annotations

import csv
import io

import pytest

from app.spreadsheets import BOM, csv_text, safe_cell


@pytest.mark.parametrize("hostile", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_formula_like_cells_are_shown_as_text(hostile):
    assert safe_cell(hostile) == "'" + hostile


def test_numbers_and_plain_text_are_left_alone():
    assert safe_cell(-3) == -3
    assert safe_cell(2.5) == 2.5
    assert safe_cell("Peñuelas") == "Peñuelas"
    assert safe_cell(None) == ""
    assert safe_cell(True) == "1"


def test_the_file_starts_with_a_bom_and_round_trips():
    text = csv_text(["nombre", "total"], [["José =1", 3], ["=cmd|' /C calc'!A0", -1]])
    assert text.startswith(BOM)
    rows = list(csv.reader(io.StringIO(text.removeprefix(BOM))))
    assert rows == [["nombre", "total"], ["José =1", "3"], ["'=cmd|' /C calc'!A0", "-1"]]
    assert "\r\n" in text
