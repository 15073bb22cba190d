"""A small JSON-schema validator for the answers of schema-constrained requests.

The embedded model's grammar should make every answer fit its schema, but a grammar built from a
schema is only as good as the converter that built it, and ``max_tokens`` can cut an answer off
mid-object: so every answer is checked again before anyone sees it. ``jsonschema`` is not a
dependency, and the schemas Vigil sends use a small subset, which this module covers: ``type``
(a name or a list of names), ``enum``, ``const``, ``properties``, ``required``,
``additionalProperties`` (false or a schema), ``items``, ``minItems``/``maxItems``,
``minLength``/``maxLength``, ``minimum``/``maximum`` and ``anyOf``. Other keywords are ignored:
they do not make an answer invalid here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}


def _is(value: Any, name: str) -> bool:
    if name not in _TYPES:
        return True  # an unknown type name constrains nothing we can check
    if isinstance(value, bool) and name in ("integer", "number"):
        return False  # JSON true is not the number 1
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES[name])


def violations(value: Any, schema: Mapping[str, Any], path: str = "$") -> list[str]:
    """Every way ``value`` (parsed JSON) breaks ``schema``, as ``"$.field: what"``; [] if none."""
    found: list[str] = []
    kind = schema.get("type")
    if kind is not None:
        names = [kind] if isinstance(kind, str) else list(kind)
        if not any(_is(value, name) for name in names):
            return [f"{path}: expected {' or '.join(names)}, got {type(value).__name__}"]
    if "const" in schema and value != schema["const"]:
        found.append(f"{path}: must be {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{path}: {value!r} is not one of {list(schema['enum'])!r}")
    if "anyOf" in schema and not any(
        not violations(value, option, path) for option in schema["anyOf"]
    ):
        found.append(f"{path}: matches none of the anyOf options")
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            found.append(f"{path}: longer than {schema['maxLength']} characters")
        if "minLength" in schema and len(value) < schema["minLength"]:
            found.append(f"{path}: shorter than {schema['minLength']} characters")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            found.append(f"{path}: below {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            found.append(f"{path}: above {schema['maximum']}")
    if isinstance(value, dict):
        found += _object(value, schema, path)
    if isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            found.append(f"{path}: more than {schema['maxItems']} items")
        if "minItems" in schema and len(value) < schema["minItems"]:
            found.append(f"{path}: fewer than {schema['minItems']} items")
        items = schema.get("items")
        if isinstance(items, Mapping):
            for i, item in enumerate(value):
                found += violations(item, items, f"{path}[{i}]")
    return found


def _object(value: dict[str, Any], schema: Mapping[str, Any], path: str) -> list[str]:
    found: list[str] = []
    properties: Mapping[str, Any] = schema.get("properties", {})
    for name in schema.get("required", ()):
        if name not in value:
            found.append(f"{path}: missing required field {name!r}")
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        where = f"{path}.{name}"
        if name in properties:
            found += violations(item, properties[name], where)
        elif extra is False:
            found.append(f"{path}: unexpected field {name!r}")
        elif isinstance(extra, Mapping):
            found += violations(item, extra, where)
    return found
