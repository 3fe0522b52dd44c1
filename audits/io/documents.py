"""Reading back a JSON document the tool wrote (findings.json, a fix plan, suppressions, an undo
record): nothing in it is trusted.

A person may edit such a file, another tool may write it, or it may be damaged. Before any of
it is used it must be a file of a bounded size, parse as JSON without exhausting the parser
(deep nesting, thousand-digit numbers) and match the document type's JSON Schema (types, sizes,
patterns). A document that does not is refused as a :class:`UserError` (exit 2) that names
every field in error, never a crash deep inside the command that would have used it.
"""

from __future__ import annotations

import itertools
import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from audits.model.errors import InputProblem, UserError

# A findings.json of a 1,000,000-student board is a few hundred MB; anything far beyond that
# is not one of ours.
MAX_DOCUMENT_BYTES = 2 * 1024 ** 3
# Shown per document: a hand-edited plan with 10,000 bad fields is named by its first ones.
MAX_PROBLEMS = 50


def read_document(path: str | Path, *, what: str, schema: Mapping[str, Any] | None = None,
                  max_bytes: int = MAX_DOCUMENT_BYTES, missing: str | None = None,
                  kind: tuple[str, str] | None = None) -> Any:
    """The parsed JSON document at ``path``, checked against ``schema``; ``what`` names the
    file in messages ("fix plan", "--previous findings file"), ``missing`` replaces the message
    for a file that does not exist. ``kind`` is (the document type's name, the prefix of its
    ``schema`` value): a JSON file of another kind is named as such, not field by field."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise UserError(f"The {what} {path} is not a file")
        if size > max_bytes:
            raise UserError(f"The {what} {path.name} is {size / 1024 ** 2:,.0f} MB, more than "
                            f"any {what} connect-audit writes ({max_bytes / 1024 ** 2:,.0f} MB)")
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(missing or f"The {what} was not found: {path}") from None
    except OSError as error:
        raise UserError(f"The {what} {path} cannot be read: {error.strerror}") from None
    document = parse_document(data, what=what, name=path.name)
    if kind is not None:
        name, prefix = kind
        if not isinstance(document, dict) or not str(document.get("schema", "")).startswith(
                prefix):
            raise UserError(f"{path.name} is not a connect-audit {name} (it has no "
                            f"\"schema\": \"{prefix}…\")")
    if schema is not None:
        check_document(document, schema, what=what, name=path.name)
    return document


def describe_json_error(error: Exception) -> str:
    """A JSON file's reading error in plain words (never the parser's own message)."""
    if isinstance(error, UnicodeDecodeError):
        return "it is not UTF-8 text"
    message = str(getattr(error, "msg", "") or error)
    if "BOM" in message:
        return "it starts with a stray byte-order mark; save it again as UTF-8"
    line, column = getattr(error, "lineno", None), getattr(error, "colno", None)
    where = f" (line {line}, column {column})" if line else ""
    if "Expecting value" in message and line == 1 and column == 1:
        return "it is empty or not JSON"
    return f"it is not valid JSON{where}"


def parse_document(data: bytes | str, *, what: str, name: str) -> Any:
    """``data`` parsed as JSON, or a :class:`UserError` saying plainly why it is not."""
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    except UnicodeDecodeError as error:
        raise UserError(f"The {what} {name} cannot be read: "
                        f"{describe_json_error(error)}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise UserError(f"The {what} {name} cannot be read: "
                        f"{describe_json_error(error)}") from None
    except RecursionError:
        raise UserError(f"The {what} {name} nests brackets thousands of levels deep; it is "
                        "not a document connect-audit wrote") from None
    except (ValueError, MemoryError) as error:
        # Python refuses integers of more than 4,300 digits.
        raise UserError(f"The {what} {name} cannot be read as JSON: "
                        f"{str(error).splitlines()[0][:200]}") from None


@lru_cache(maxsize=None)
def _validator(schema_json: str):
    from jsonschema import Draft202012Validator

    schema = json.loads(schema_json)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def problems_in(document: Any, schema: Mapping[str, Any], *, name: str) -> list[InputProblem]:
    """Every place where ``document`` breaks ``schema``, as input problems naming the field
    (``actions[3].survivor``) and what was expected."""
    validator = _validator(json.dumps(schema, sort_keys=True))
    problems = []
    try:
        errors = list(itertools.islice(validator.iter_errors(document), MAX_PROBLEMS))
    except RecursionError:
        return [InputProblem("bad-document", "nests too deep to check", file=name)]
    for error in sorted(errors, key=lambda e: list(map(str, e.path))):
        field = field_path(error.absolute_path)
        value = error.instance
        shown = value if isinstance(value, (str, int, float, bool)) or value is None else \
            type(value).__name__
        problems.append(InputProblem("bad-document", _expected(error), file=name,
                                     column=field or "(the whole document)",
                                     value=str(shown)[:80]))
    return problems


@lru_cache(maxsize=None)
def _compiled(schema_json: str):
    import fastjsonschema

    return fastjsonschema.compile(json.loads(schema_json))


def check_document(document: Any, schema: Mapping[str, Any], *, what: str, name: str) -> None:
    """A :class:`UserError` naming the fields of ``document`` that break ``schema``. A valid
    document (the usual case, and large: every finding of a board) is checked by a compiled
    validator; only a broken one is walked again to name all its faults."""
    import fastjsonschema

    try:
        _compiled(json.dumps(schema, sort_keys=True))(document)
        return
    except fastjsonschema.JsonSchemaException:
        pass
    except RecursionError:
        raise UserError(f"The {what} {name} nests too deep to check") from None
    problems = problems_in(document, schema, name=name) or [
        InputProblem("bad-document", "does not match its schema", file=name)]
    if problems:
        raise UserError(f"The {what} {name} is not one connect-audit can use: "
                        f"{len(problems)} field(s) are wrong", problems)


def field_path(path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _expected(error) -> str:
    kind = error.validator
    if kind == "type":
        wanted = error.validator_value
        wanted = " or ".join(wanted) if isinstance(wanted, list) else wanted
        return f"must be {'an' if str(wanted)[0] in 'aeiou' else 'a'} {wanted}"
    if kind == "required":
        return error.message.replace("'", '"')
    if kind in ("maxLength", "minLength", "maxItems", "minItems", "maximum", "minimum",
                "maxProperties"):
        return f"{kind} is {error.validator_value}"
    if kind == "enum":
        return "must be one of " + ", ".join(map(str, error.validator_value))
    if kind == "const":
        return f"must be {error.validator_value!r}"
    if kind == "pattern":
        return "has characters or a shape an id of this field cannot have"
    return error.message[:200]


# ----------------------------------------------------------------------------- schema pieces

def text(max_length: int = 1000) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_length}


# Record ids of the export (contact_id, student_id, account_id, ...): text as the SIS holds it.
ID = {"type": "string", "minLength": 1, "maxLength": 200}
SHA256 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}


def strings(max_items: int = 100_000, item: Mapping[str, Any] = ID) -> dict[str, Any]:
    return {"type": "array", "maxItems": max_items, "items": dict(item)}


FINGERPRINT = {
    "type": "object",
    "required": ["algorithm", "tables"],
    "properties": {
        "algorithm": {"const": "sha256"},
        "export": {"type": "string", "maxLength": 64},
        "tables": {"type": "object", "maxProperties": 64, "additionalProperties": {
            "type": "object", "required": ["sha256"],
            "properties": {"file": text(500), "sha256": SHA256}}},
    },
}
