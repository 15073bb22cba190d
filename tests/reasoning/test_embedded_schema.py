"""The validator that re-checks every schema-constrained answer of the embedded model."""

from __future__ import annotations

from typing import Any

from vigil.reasoning.providers.embedded_schema import violations

ENRICHMENT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "explanation": {"type": "string", "maxLength": 30},
        "next_step": {"type": "string", "maxLength": 20},
    },
    "required": ["explanation", "next_step"],
    "additionalProperties": False,
}


def test_valid_answer_has_no_violations() -> None:
    """An answer that fits every constraint is accepted."""
    assert violations({"explanation": "a" * 30, "next_step": ""}, ENRICHMENT) == []


def test_missing_extra_wrong_type_and_too_long_fields_are_each_reported() -> None:
    """Each broken constraint is named with where it broke."""
    found = violations({"explanation": "a" * 31, "next_step": 3, "x": 1}, ENRICHMENT)
    assert found == [
        "$.explanation: longer than 30 characters",
        "$.next_step: expected string, got int",
        "$: unexpected field 'x'",
    ]
    assert violations({"explanation": ""}, ENRICHMENT) == ["$: missing required field 'next_step'"]
    assert violations([], ENRICHMENT) == ["$: expected object, got list"]


def test_enum_items_and_any_of_are_checked() -> None:
    """Enums, array items and their counts, and anyOf alternatives are enforced."""
    pick = {"type": "object", "properties": {"fix": {"enum": ["kb_1", "kb_2"]}}}
    assert violations({"fix": "kb_2"}, pick) == []
    assert violations({"fix": "kb_3"}, pick) == ["$.fix: 'kb_3' is not one of ['kb_1', 'kb_2']"]
    cites = {"type": "array", "items": {"type": "string"}, "maxItems": 2}
    assert violations(["a", 1], cites) == ["$[1]: expected string, got int"]
    assert violations(["a", "b", "c"], cites) == ["$: more than 2 items"]
    either = {"anyOf": [{"type": "integer"}, {"type": "string", "maxLength": 2}]}
    assert violations(7, either) == [] and violations("ab", either) == []
    assert violations("abc", either) == ["$: matches none of the anyOf options"]


def test_booleans_are_not_numbers() -> None:
    """JSON true is not an integer, though Python's bool is an int."""
    assert violations(True, {"type": "integer"}) == ["$: expected integer, got bool"]
    assert violations(2.0, {"type": "integer"}) == []
    assert violations(True, {"type": ["boolean", "null"]}) == []
