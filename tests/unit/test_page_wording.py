"""Wording on the desk's pages (issue 31 item 14): no doubled punctuation after an intake
question, and a one-row export says "1 row"."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from pages.today_box import asked


def test_an_intake_question_ending_in_a_question_mark_gets_no_colon():
    assert asked("What should we follow up on?") == "What should we follow up on?"
    assert asked("Allergies") == "Allergies:"
    assert asked("Notes:") == "Notes:"


def _one_and_two_rows() -> None:
    import pandas as pd

    from pages.downloads import download_buttons

    download_buttons(None, pd.DataFrame({"a": [1]}), "one", what="test.one")
    download_buttons(None, pd.DataFrame({"a": [1, 2]}), "two", what="test.two")


def test_the_csv_button_counts_one_row_in_the_singular():
    at = AppTest.from_function(_one_and_two_rows).run()
    assert not at.exception
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["CSV (1 row)", "Excel", "CSV (2 rows)", "Excel"]
