"""JSON Schemas of the seven state files, for the other programs of the VANTA stack.

Each schema is made from the file's pydantic model (`core.models`): a field's docstring is
its ``description``, a model's docstring the object's. To that this module adds what the
model alone does not give:

- an absolute ``$id`` and ``$schema`` (JSON Schema 2020-12);
- numeric defaults as JSON numbers (pydantic writes a `Decimal` default as a string);
- timestamps spelled out as the contract writes them (``2026-11-24T08:05:00Z``);
- the keys of a mapping held to their pattern (an account keyed by no id is refused);
- descriptions as plain text: a docstring's wrapped lines joined, Markdown literals;
- in the top-level ``description``, the rules a schema cannot express that the desk's
  loader enforces: ids that must exist in another file (``core.state_files.cross_check``),
  ids unique within a list, comparisons between two fields, and the rules of every file.

The ``$id``: ``urn:vanta:state:v1:<file name>``, e.g. ``urn:vanta:state:v1:vault.json``.
A URN, not an https URL: the project owns no domain to publish the schemas under, and an
https ``$id`` under a domain it does not control would name a document someone else could
serve; an https ``$id`` also invites editors and validators to fetch it. A URN is absolute,
is never fetched (validators find the schema in their own registry by its ``$id``), and
every schema here is self-contained (its ``$defs`` inside it, ``$ref`` only to fragments),
so nothing needs resolving against it. ``v1`` is the version of the file contract
(``shared/design/state-files.md``), not the files' ``version`` field (a write counter): it
changes only when the contract does in a way a reader or a validator would notice (a file
valid before is refused, or a field changes its meaning); added optional fields keep it.
``vanta`` is a private URN namespace (not registered with IANA), as is usual for a URN that
names a project's own documents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from vanta_tui.core.codec import dumps_pretty
from vanta_tui.core.state_files import StateKind

CONTRACT_VERSION = 1
"""The version of the state-file contract the schemas describe (the ``v1`` of their ids)."""

DIALECT = "https://json-schema.org/draft/2020-12/schema"

TIMESTAMP_PATTERN = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?Z$"
)
"""A timestamp as the contract writes it: ISO 8601, UTC, ``Z``, optional fraction of a
second. (``[0-9]``, not ``\\d``: Python's ``\\d`` matches any Unicode digit.)"""


@dataclass(frozen=True)
class FileRules:
    """What the desk holds a state file to beyond its schema, in words for its description."""

    checked: tuple[str, ...]
    """Checked whenever the desk loads the file: a file breaking one is refused as a whole."""
    kept: tuple[str, ...] = ()
    """Kept by the desk's own writes, and expected of every other writer (not checked on
    load: they compare the file with its earlier self, or with the clock)."""


EVERY_FILE = FileRules(
    checked=(
        "The file is UTF-8 JSON, at most 32 MiB, with an object at the top; no object names "
        "a key twice; no number is NaN or Infinity.",
        "Every number has at most 18 decimal places (the schema bounds numbers to ±10^15 "
        "but cannot count places).",
        "Integers (`version`, `attempts`) are written without a fraction: `1`, not `1.0` "
        "(JSON Schema counts `1.0` as an integer; the desk does not).",
        "Keys the schema does not name are allowed, and kept when the desk rewrites the "
        "file, but no key among them, at any depth, may look like a credential (`api_key`, "
        "`secret`, `token`, `password`, `passphrase`, `private_key`, `access_key`, ...), "
        "nor any string value like one (a PEM private key, a JWT, an AWS or Alpaca key id): "
        "keys live in the environment or the OS keyring, under an `account_ref`.",
        "Timestamps: the desk also reads other ISO 8601 forms that carry a zone (an offset "
        "such as `+02:00`) and converts them to UTC; it writes, and this schema asks for, "
        "`YYYY-MM-DDTHH:MM:SS[.ffffff]Z`. A date that does not exist (February 30) is "
        "refused: the schema's `pattern` checks the form only, its `format: date-time` the "
        "date, where a validator asserts formats.",
    ),
    kept=(
        "A writer replaces the file atomically (a temp file in the same directory, fsync, "
        "rename) while holding the lock file `<name>.lock` beside it, and adds 1 to "
        "`version`.",
    ),
)
"""What the desk holds every state file to that a JSON Schema cannot say."""

RULES: dict[StateKind, FileRules] = {
    StateKind.VAULT: FileRules(
        checked=(
            "Each `vault_id` appears once in `vaults`.",
            "The other files name vaults by `vault_id` (followers, overlay, allocation, "
            "portfolio, PnL, queue): a file naming a vault that is not here does not load.",
            "`vault_overlay.json` may make active, or boost, only personas listed in that "
            "vault's `personas`.",
        ),
    ),
    StateKind.OVERLAY: FileRules(
        checked=(
            "Each key of `vaults` is a `vault_id` of `vault.json`.",
            "A vault's `persona`, and every key of its `persona_boosts`, is one of that "
            "vault's `personas` in `vault.json`.",
        ),
        kept=(
            "Flip mode is turned on only with `expires_at` 1 to 240 minutes ahead and "
            "0 < `amplify` ≤ 1; at `expires_at` the desk turns it off (audited).",
        ),
    ),
    StateKind.ALLOCATION: FileRules(
        checked=(
            "Each key of `vaults` is a `vault_id` of `vault.json`.",
            "A vault's target weights sum to at most 1.",
        ),
    ),
    StateKind.PORTFOLIO: FileRules(
        checked=(
            "Each key of `accounts` is a `vault_id` of `vault.json` or a `follower_id` of "
            "`followers.json`.",
        ),
        kept=(
            "`asof` moves forward with every update; older than 24 hours, the desk calls the "
            "portfolio stale and does not trust drift.",
        ),
    ),
    StateKind.PNL: FileRules(
        checked=(
            "Each key of `vaults` is a `vault_id` of `vault.json` or a `follower_id` of "
            "`followers.json`.",
            "In `nav_history`, each timestamp is later than the one before it.",
        ),
    ),
    StateKind.QUEUE: FileRules(
        checked=(
            "Each `order_id` appears once in `orders`.",
            "An order's `vault_id` is a `vault_id` of `vault.json`; its `follower_id`, if "
            "set, a `follower_id` of `followers.json`; its `parent_id`, if set, the "
            "`order_id` of an order in this file.",
            "`filled_qty` is at most `qty`, and equal to it when `status` is `filled`.",
            "`updated_at` is not earlier than `created_at`.",
        ),
        kept=(
            "An order's `status` moves only along the state machine its description gives.",
            "An order's `client_order_id`, once set, never changes.",
        ),
    ),
    StateKind.FOLLOWERS: FileRules(
        checked=(
            "Each `follower_id` appears once in `followers`.",
            "A follower's `vault_id` is a `vault_id` of `vault.json`.",
            "Child orders in `autotrade_queue.json`, and accounts in `portfolio.json` and "
            "`pnl_summary.json`, name a follower by its `follower_id`.",
        ),
    ),
}
"""Per file, what the desk holds it to that a JSON Schema cannot say: references into
other files (`core.state_files.cross_check`), unique ids, comparisons between fields, and
how the file may change."""


def schema_id(kind: StateKind) -> str:
    """The absolute ``$id`` of ``kind``'s schema (see the module docstring)."""
    return f"urn:vanta:state:v{CONTRACT_VERSION}:{kind.filename}"


def schema_filename(kind: StateKind) -> str:
    """The name ``vanta-tui schema`` writes ``kind``'s schema under."""
    return f"{kind.value}.schema.json"


class _StateFileSchema(GenerateJsonSchema):
    """pydantic's generator, with numeric defaults written as JSON numbers and the keys of
    a mapping held to their pattern."""

    def encode_default(self, dft: Any) -> Any:
        if isinstance(dft, Decimal):
            return _json_number(dft)
        return super().encode_default(dft)

    def dict_schema(self, schema: core_schema.DictSchema) -> JsonSchemaValue:
        """pydantic gives a mapping whose keys have a pattern (``dict[Identifier, ...]``) as
        ``patternProperties`` alone, which lets a key that misses the pattern through with
        any value; the loader refuses such a key. Said as ``propertyNames`` (every key
        matches) and ``additionalProperties`` (every value), the schema refuses it too."""
        json_schema = super().dict_schema(schema)
        patterns = json_schema.get("patternProperties")
        if (
            isinstance(patterns, dict)
            and len(patterns) == 1
            and "additionalProperties" not in json_schema
        ):
            ((pattern, values),) = patterns.items()
            del json_schema["patternProperties"]
            names = json_schema.setdefault("propertyNames", {})
            names["pattern"] = pattern
            json_schema["additionalProperties"] = values
        return json_schema


def _json_number(value: Decimal) -> int | float:
    """``value`` as a JSON number: an int when integral, else a float whose text (the
    shortest that reads back as the same float) is exactly ``value``'s (``0.01``, not
    ``0.01000000000000000020816681711721685``); a default where the two differ is refused."""
    if value == value.to_integral_value():
        return int(value)
    number = float(value)
    if Decimal(repr(number)) != value:
        raise ValueError(f"default {value} has no exact JSON number text as a float")
    return number


_MARKUP = re.compile(r"``([^`]+)``")


def _tidy(text: str) -> str:
    """A docstring as a description: its wrapped lines joined into paragraphs, and its
    reStructuredText literals (in double backquotes) as Markdown ones (in single ones)."""
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text.strip())]
    return _MARKUP.sub(r"`\1`", "\n\n".join(p for p in paragraphs if p))


def _refine(node: Any) -> None:
    """Tidy every description and spell out every timestamp pattern, in place."""
    if isinstance(node, dict):
        description = node.get("description")
        if isinstance(description, str):
            node["description"] = _tidy(description)
        if node.get("format") == "date-time":
            node["pattern"] = TIMESTAMP_PATTERN
        for value in node.values():
            _refine(value)
    elif isinstance(node, list):
        for item in node:
            _refine(item)


def _bullets(rules: tuple[str, ...]) -> str:
    return "\n".join(f"- {rule}" for rule in rules)


def description_of(kind: StateKind, model_description: str) -> str:
    """The top-level description: the model's, then the rules no schema can express."""
    own, every = RULES[kind], EVERY_FILE
    return (
        f"{model_description}\n\n"
        "Checked by the desk whenever it loads the file, beyond this schema (a file breaking "
        f"one is refused as a whole):\n{_bullets(own.checked + every.checked)}\n\n"
        "Kept by the desk's own writes, and expected of every writer:\n"
        f"{_bullets(own.kept + every.kept)}\n\n"
        "The contract: shared/design/state-files.md of the VANTA stack."
    )


def state_file_schema(kind: StateKind) -> dict[str, Any]:
    """The JSON Schema (2020-12) of ``kind``'s file, as JSON data."""
    schema = kind.model.model_json_schema(
        by_alias=True, mode="validation", schema_generator=_StateFileSchema
    )
    _refine(schema)
    description = description_of(kind, schema.pop("description", ""))
    return {
        "$schema": DIALECT,
        "$id": schema_id(kind),
        "title": kind.filename,
        "description": description,
        **{key: value for key, value in schema.items() if key != "title"},
    }


def schema_texts() -> dict[str, str]:
    """Every state file's schema as the text to write, by file name (`schema_filename`)."""
    return {schema_filename(kind): dumps_pretty(state_file_schema(kind)) for kind in StateKind}
