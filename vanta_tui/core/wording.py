"""Validation errors and values worded for an operator: no pydantic text, no Python reprs.

The loader (`store.loader`), the actions' refusals and the CLI all word a validation error
through `validation_reason`, so an operator reads "must be greater than 0 (found -3)",
never "Input should be greater than 0 [type=greater_than, input_value=Decimal('-3')...]".
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from vanta_tui.core.types import format_utc

MAX_SHOWN = 60
"""How many characters of an offending value a message quotes."""

_BY_TYPE: Mapping[str, str] = {
    "missing": "missing (required)",
    "extra_forbidden": "not a known field",
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
    "decimal_parsing": "must be a number",
    "decimal_type": "must be a number",
    "finite_number": "must be a finite number",
    "decimal_max_places": "must have at most {decimal_places} decimal places",
    "decimal_max_digits": "must have at most {max_digits} digits",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "string_type": "must be text",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "enum": "must be one of {expected}",
    "literal_error": "must be {expected}",
    "datetime_parsing": "must be a UTC time such as 2026-11-24T08:05:00Z",
    "datetime_type": "must be a UTC time such as 2026-11-24T08:05:00Z",
    "datetime_from_date_parsing": "must be a UTC time such as 2026-11-24T08:05:00Z",
    "timezone_aware": "must be a UTC time with its zone, such as 2026-11-24T08:05:00Z",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "string_too_long": "must be at most {max_length} characters",
    "too_short": "must have at least {min_length} item(s)",
    "too_long": "must have at most {max_length} item(s)",
}


def shown(value: object) -> str:
    """``value`` as an operator would write it (JSON-like), cut to `MAX_SHOWN` characters."""
    if isinstance(value, bool) or value is None:
        text = json.dumps(value)
    elif isinstance(value, datetime):
        text = format_utc(value) if value.tzinfo is not None else value.isoformat()
    elif isinstance(value, Decimal | int | float):
        text = str(value)
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = str(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


def validation_reason(error: Mapping[str, Any]) -> str:
    """One pydantic error (an item of ``ValidationError.errors()``) in an operator's words,
    without the value it found (see `validation_found`)."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    template = _BY_TYPE.get(kind)
    if kind == "string_too_short":
        template = (
            "must not be empty"
            if ctx.get("min_length") == 1
            else "must be at least {min_length} characters"
        )
    if template is not None:
        try:
            return template.format(**{k: _plain(v) for k, v in ctx.items()})
        except (KeyError, IndexError):
            pass
    message = str(error.get("msg", ""))
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if message.startswith("Input should be "):
        message = "must be " + message.removeprefix("Input should be ")
    return message


def validation_found(error: Mapping[str, Any]) -> str:
    """`validation_reason` with the offending value (``(found -3)``) where one helps."""
    reason = validation_reason(error)
    if error.get("type") in {"missing", "model_type", "dict_type"} or "input" not in error:
        return reason
    value = error["input"]
    if isinstance(value, dict | list):
        return reason
    return f"{reason} (found {shown(value)})"


def first_problem(exc: Exception) -> str:
    """The first problem of a pydantic ``ValidationError`` as ``place: reason (found ...)``;
    any other exception's own text."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    found = errors()
    if not found:
        return str(exc)
    first = found[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if not _internal(p))
    reason = validation_found(first)
    return f"{where}: {reason}" if where else reason


def _internal(step: object) -> bool:
    """A pydantic location step that names a validator, not a place in the data."""
    return isinstance(step, str) and (step.startswith("function-") or step in _NOISE)


_NOISE = frozenset({"decimal", "str", "datetime", "tuple", "list", "dict", "none", "is-instance"})


def _plain(value: object) -> object:
    """A constraint from an error's context as text (``0``, not ``Decimal('0')``)."""
    return value if isinstance(value, str) else shown(value)
