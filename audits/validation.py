"""Structural validation of a board against the contract's table specs, with great-expectations.

Only what makes the export unusable is an input problem: a blank required value, a duplicate
record id, a reference to a record that is not there, a status, type or flag value the SIS
does not have, a date not written ``YYYY-MM-DD``. Missing or malformed emails, duplicate people
and unlinked siblings are findings, not input problems: the checks report them.

One expectation suite per table is built from :data:`audits.model.board.TABLES`, run on one batch
per table with ``COMPLETE`` results; the unexpected indexes are the file row numbers (the
loader sets every index to the row number in its file), so each problem names its file, row,
column and value. great-expectations is imported here only, on first use, so the CLI starts
fast; it runs in an ephemeral context with analytics and progress bars off.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Collection, Mapping

import numpy as np
import pandas as pd

from audits.model.board import ACCOUNT_PERSON_TABLE, FLAG_FALSE, FLAG_TRUE, TABLES, Board, TableSpec
from audits.model.errors import InputProblem

DATE_PATTERN = r"^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])$"
"""``YYYY-MM-DD`` with a real month and day number."""

FLAG_SPELLINGS = tuple(sorted((FLAG_TRUE | FLAG_FALSE) - {""}))


@dataclass(frozen=True)
class _Rule:
    """What one expectation means to the user when a row fails it."""

    kind: str
    column: str
    message: Callable[[str], str]


def validate_board(board: Board, *, raw: Mapping[str, pd.DataFrame] | None = None,
                   unread: Collection[str] = ()) -> list[InputProblem]:
    """Every structural problem in ``board``, each with file, row, column and value.

    ``raw`` are the tables as read, before normalisation (:func:`audits.io.loading.folder.read_export`
    frames). The loader passes them so flag spellings and status values are checked, and
    reported, as exported; normalisation turns an unknown flag spelling into ``False``, so
    without ``raw`` flags that are already booleans are not checked.

    ``unread`` names tables the loader could not read (already reported): they are not
    validated and references to them are not checked.
    """
    raw = raw or {}
    reference_ids = _reference_ids(board, unread)
    context = _context()
    problems: list[InputProblem] = []
    for name, spec in TABLES.items():
        table = board.tables[name]
        if table.empty or name in unread:
            continue
        original = raw.get(name)
        if original is None or len(original) != len(table):
            original = table
        frame = _expectation_frame(spec, table, original, reference_ids)
        rules, expectations = _suite(spec, frame)
        results = _run(context, name, frame, expectations)
        file = board.file_of(name)
        for result in results:
            rule = rules[result.expectation_config.meta["rule"]]
            if result.success:
                continue
            if result.exception_info and result.exception_info.get("raised_exception"):
                raise RuntimeError(f"validation of {name}.{rule.column} failed: "
                                   f"{result.exception_info.get('exception_message')}")
            column = original[rule.column] if rule.column in original.columns else None
            for row in result.result.get("unexpected_index_list") or []:
                value = "" if column is None else str(column.at[row])
                problems.append(InputProblem(
                    rule.kind, rule.message(value), file=file, row=int(row), column=rule.column,
                    value=value if value != "" else None))
    problems.sort(key=lambda p: (p.file or "", p.row or 0, p.column or ""))
    return problems


def _reference_ids(board: Board, unread: Collection[str]
                   ) -> dict[tuple[str, str], pd.Index | None]:
    """The ids every reference may name, computed once per target column (``None`` when the
    target table could not be read)."""
    targets = {(ref.target, ref.target_column)
               for spec in TABLES.values() for ref in spec.references}
    targets |= set(ACCOUNT_PERSON_TABLE.values())
    ids = {}
    for table, column in targets:
        if table in unread:
            ids[(table, column)] = None
            continue
        values = board.tables[table][column].astype(str).str.strip()
        ids[(table, column)] = pd.Index(values[values != ""].unique())
    return ids


def _text(column: pd.Series) -> pd.Series:
    if column.dtype == object or column.hasnans:
        column = column.astype(object).where(column.notna(), "").astype(str)
    return column


def _known(column: str) -> str:
    return f"{column}__known"


def _in_calendar(column: str) -> str:
    return f"{column}__in_calendar"


_NO_SUCH_DAY = ("-02-30", "-02-31", "-04-31", "-06-31", "-09-31", "-11-31")
"""``-MM-DD`` endings no year has; February 29th depends on the year."""

SELF_LINK = "sibling_id__other"
"""Whether a sibling link joins two students (1.0), or a student to themself (0.0)."""


def _is_calendar_date(values: pd.Series) -> pd.Series:
    """0.0 where a ``YYYY-MM-DD`` value is no day of the calendar (February 30th, April 31st,
    February 29th outside a leap year), 1.0 where it is or is not written ``YYYY-MM-DD`` at all
    (the pattern's own rule reports those), null where blank. Only the month and day are
    compared, all at once; the year is read only for February 29th."""
    present = values.notna()
    month_day = values.str.slice(4)
    impossible = month_day.isin(_NO_SUCH_DAY).to_numpy().copy()
    leap_days = (month_day == "-02-29").to_numpy()
    if leap_days.any():
        year = pd.to_numeric(values[leap_days].str.slice(0, 4), errors="coerce").to_numpy()
        leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
        impossible[np.flatnonzero(leap_days)] = ~leap & ~np.isnan(year)
    return pd.Series((~impossible).astype(float), index=values.index).where(present)


def _expectation_frame(spec: TableSpec, table: pd.DataFrame, original: pd.DataFrame,
                       reference_ids: dict[tuple[str, str], pd.Index | None]
                       ) -> pd.DataFrame:
    """Each checked column as its expectations need to see it, null where the export is blank
    (GX counts ``""`` as a value).

    GX fingerprints every batch by hashing it, which is slow on text, so only what an
    expectation compares is text (allowed values, flags, dates); a record id becomes its
    factorised code (uniqueness survives), any other required value its presence, and each
    reference whether its id is known (null when blank: a blank is reported once, as blank).
    Problems quote the export's own values, not these.

    The normalised table already has IDs and required values trimmed and allowed values
    lowercased; flags come from the export's own text, which normalisation does not keep."""
    checked = {*spec.required, *spec.key, *spec.allowed, *spec.flags, *spec.dates,
               *(ref.column for ref in spec.references)}
    text: dict[str, pd.Series] = {}
    for column in (c for c in spec.columns if c in checked):
        if column in spec.flags:
            if column not in original.columns or original[column].dtype == bool:
                continue
            values = _text(original[column]).str.strip().str.lower()
        elif column in spec.dates:
            values = _text(table[column]).str.strip()
        else:
            values = _text(table[column])
        text[column] = values.astype(object).where(values != "", None)
    columns: dict[str, pd.Series] = {}
    for column, values in text.items():
        if column in spec.key:
            codes = pd.Series(pd.factorize(values)[0], index=values.index, dtype=float)
            columns[column] = codes.where(codes >= 0)
        elif column in spec.allowed or column in spec.flags or column in spec.dates:
            columns[column] = values
        else:
            columns[column] = values.notna().astype(float).where(values.notna())
    for column in spec.dates:
        columns[_in_calendar(column)] = _is_calendar_date(text[column])
    for ref in spec.references:
        target_ids = reference_ids[(ref.target, ref.target_column)]
        if target_ids is not None:
            columns[_known(ref.column)] = _is_known(text[ref.column], target_ids)
    if spec.name == "siblings":
        students, siblings = text["student_id"], text["sibling_id"]
        other = (students != siblings).astype(float)
        columns[SELF_LINK] = other.where(students.notna() & siblings.notna())
    if spec.name == "accounts":
        ids, types = text["person_id"], text["account_type"]
        known = pd.Series(float("nan"), index=ids.index)
        for account_type, target in ACCOUNT_PERSON_TABLE.items():
            if reference_ids[target] is not None:
                of_type = (types == account_type).to_numpy()
                known[of_type] = _is_known(ids[of_type], reference_ids[target])
        columns[_known("person_id")] = known
    return pd.DataFrame(columns, index=table.index)


def _is_known(ids: pd.Series, target_ids: pd.Index) -> pd.Series:
    """1.0 where the id is one of ``target_ids``, 0.0 where it is not, null where blank."""
    return ids.isin(target_ids).astype(float).where(ids.notna())


@dataclass
class _Suite:
    """One table's rules and their expectations, numbered alike: an expectation's meta names
    its rule, so a failed expectation finds the wording of its problem."""

    rules: list[_Rule] = field(default_factory=list)
    expectations: list = field(default_factory=list)

    def expect(self, rule: _Rule, expectation_type, **kwargs) -> None:
        """Add ``rule``, checked by an expectation of ``expectation_type``."""
        self.expectations.append(expectation_type(meta={"rule": len(self.rules)}, **kwargs))
        self.rules.append(rule)


def _suite(spec: TableSpec, frame: pd.DataFrame) -> tuple[list[_Rule], list]:
    """The table's rules and their great-expectations expectations, in rule order."""
    import great_expectations.expectations as gxe

    suite = _Suite()
    _record_rules(suite, gxe, spec)
    _value_rules(suite, gxe, spec, frame)
    _reference_rules(suite, gxe, spec, frame)
    return suite.rules, suite.expectations


def _record_rules(suite: _Suite, gxe, spec: TableSpec) -> None:
    """Every row has its required values, and its own id."""
    expect, name = suite.expect, spec.name
    for column in spec.required:
        expect(_Rule("blank-value", column,
                     lambda v, c=column: f"{c} is blank; every {name} row needs one"),
               gxe.ExpectColumnValuesToNotBeNull, column=column)
    if len(spec.key) == 1:
        key = spec.key[0]
        expect(_Rule("duplicate-id", key,
                     lambda v, c=key: f"{c} is on more than one row of {name}; "
                     "each record needs its own id"),
               gxe.ExpectColumnValuesToBeUnique, column=key)
    elif spec.key:
        expect(_Rule("duplicate-id", spec.key[0],
                     lambda v: f"{' + '.join(spec.key)} is on more than one row of {name}"),
               gxe.ExpectCompoundColumnsToBeUnique, column_list=list(spec.key))


def _value_rules(suite: _Suite, gxe, spec: TableSpec, frame: pd.DataFrame) -> None:
    """Statuses and types are values the SIS has, flags are flag spellings, dates are real
    days written YYYY-MM-DD."""
    expect = suite.expect
    for column, values in spec.allowed.items():
        expect(_Rule("bad-value", column,
                     lambda v, c=column, vs=values: f"{c} must be one of {', '.join(vs)} "
                     f"(blank means {vs[0]})"),
               gxe.ExpectColumnValuesToBeInSet, column=column, value_set=list(values))
    for column in spec.flags:
        if column in frame.columns:
            expect(_Rule("bad-flag", column,
                         lambda v, c=column: f"{c} must be Y/N, true/false, 1/0, yes/no or "
                         "blank (blank means N)"),
                   gxe.ExpectColumnValuesToBeInSet, column=column, value_set=list(FLAG_SPELLINGS))
    for column in spec.dates:
        expect(_Rule("bad-date", column, lambda v, c=column: f"{c} must be a date written "
                     "YYYY-MM-DD"),
               gxe.ExpectColumnValuesToMatchRegex, column=column, regex=DATE_PATTERN)
        expect(_Rule("bad-date", column, lambda v, c=column: f"{c} is not a day of the "
                     "calendar (that month has no such day); write the real date YYYY-MM-DD"),
               gxe.ExpectColumnValuesToBeInSet, column=_in_calendar(column), value_set=[1.0])


def _reference_rules(suite: _Suite, gxe, spec: TableSpec, frame: pd.DataFrame) -> None:
    """Every reference names a record that is there: no student is their own sibling, and an
    account's person is a record of the account's type."""
    expect, name = suite.expect, spec.name
    # A reference's id sets run to hundreds of thousands of ids, and GX copies its expectation
    # arguments on every metric it plans, so passing them as a value_set costs minutes. The
    # membership is computed once per column with pandas (_expectation_frame) and GX checks
    # the resulting "known" column instead.
    for ref in spec.references:
        if _known(ref.column) not in frame.columns:
            continue
        expect(_Rule("unknown-reference", ref.column,
                     lambda v, r=ref: f"{r.column} names no {r.target_column} in the "
                     f"{r.target} table"),
               gxe.ExpectColumnValuesToBeInSet, column=_known(ref.column), value_set=[1.0])
    if name == "siblings":
        expect(_Rule("self-sibling", "sibling_id",
                     lambda v: "the student is linked as their own sibling (student_id and "
                     "sibling_id are the same student); remove the row, or put the sibling's "
                     "student_id in sibling_id"),
               gxe.ExpectColumnValuesToBeInSet, column=SELF_LINK, value_set=[1.0])
    if name == "accounts":
        expect(_Rule("unknown-reference", "person_id",
                     lambda v: "person_id names no record of the account's type "
                     "(parent: contact_id in contacts, staff: staff_id in staff, "
                     "student: student_id in students)"),
               gxe.ExpectColumnValuesToBeInSet, column=_known("person_id"), value_set=[1.0])


def _context():
    os.environ["GX_ANALYTICS_ENABLED"] = "False"
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _run(context, name: str, frame: pd.DataFrame, expectations: list):
    import great_expectations as gx

    source = context.data_sources.add_pandas(f"board-{name}")
    batch_definition = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe(name)
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    suite = context.suites.add(gx.ExpectationSuite(name=f"contract-{name}",
                                                   expectations=expectations))
    outcome = batch.validate(suite, result_format={"result_format": "COMPLETE"})
    return outcome.results
