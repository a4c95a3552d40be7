"""Usage figures: which values count, and their compact form on Workspace__c.Latest_Usage__c."""

from __future__ import annotations

from handlers.usage import USAGE_MAX_CHARS, figures, from_text, to_text


def test_only_finite_numbers_other_than_lifecycle_fields_are_figures():
    data = {"mrr": 5, "seats": 3, "ratio": 0.5, "active": True, "plan": "x", "nan": float("nan"),
            "inf": float("inf"), "n" * 50: 1}
    assert figures(data) == (("n" * 40, 1.0), ("ratio", 0.5), ("seats", 3.0))
    assert figures({"usage": {"seats": 2}, "projects": 9}) == (("seats", 2.0),)
    assert figures({"usage": "not an object", "projects": 9}) == (("projects", 9.0),)


def test_text_is_compact_sorted_and_whole_numbers_stay_whole():
    assert to_text((("projects", 2.0), ("ratio", 0.25))) == '{"projects":2,"ratio":0.25}'
    assert to_text(()) == "{}"


def test_text_that_would_not_fit_the_field_drops_the_last_figures():
    many = tuple((f"figure_{i:04d}", float(i)) for i in range(1000))
    text = to_text(many)
    assert len(text) <= USAGE_MAX_CHARS
    kept = from_text(text)
    assert list(kept) == [name for name, _ in many[:len(kept)]]
    assert 100 < len(kept) < 1000


def test_stored_text_reads_back_and_garbage_reads_as_none():
    assert from_text('{"seats":3,"ratio":0.5}') == {"seats": 3.0, "ratio": 0.5}
    for garbage in (None, "", "not json", "[1, 2]", 7):
        assert from_text(garbage) == {}
