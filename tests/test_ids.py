"""Typed or posted ids: what the database can look up, or 0."""

from kanat.core.ids import MAX_ID, as_id


def test_only_ascii_digits_within_64_bits_are_ids():
    assert as_id("42") == 42 and as_id(" 7 ") == 7 and as_id(12) == 12
    assert as_id(str(MAX_ID)) == MAX_ID
    for bad in ("", None, "x", "-1", "1.5", "²", "١٢", str(MAX_ID + 1), "9" * 40):
        assert as_id(bad) == 0, bad
