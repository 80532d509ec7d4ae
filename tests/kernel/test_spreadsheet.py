from kernel.spreadsheet import spreadsheet_safe


def test_formula_text_is_made_text_and_everything_else_is_left_alone():
    assert (
        spreadsheet_safe('=HYPERLINK("https://evil.example")')
        == '\'=HYPERLINK("https://evil.example")'
    )
    assert spreadsheet_safe("-2+3") == "'-2+3"
    assert spreadsheet_safe("order-1") == "order-1"
    assert spreadsheet_safe("") == ""
    assert spreadsheet_safe(-1000) == -1000  # a negative amount is a number, not a formula
    assert spreadsheet_safe(None) is None
