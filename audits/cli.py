"""The ``connect-audit`` command line. Every command is a thin layer over ``audits.api``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
import click

from audits.engine.memory import collector_paused, exit_now
from audits.io.cells import terminal_text
from audits.model.errors import ExitCode, UserError

# great-expectations must never phone home; set before anything imports it.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

FAIL_ON = click.Choice(["error", "warning", "info", "never"])
FORMATS = ("xlsx", "html", "json")


class AuditGroup(click.Group):
    """Catches errors in one place: the user's are printed plainly with exit 2; a failure of the
    tool itself exits 3 (so a script never reads a crash as "findings found"), with the
    traceback only when CONNECT_AUDIT_DEBUG is set, since tracebacks can quote board values."""

    def invoke(self, ctx: click.Context):
        from audits.io.signals import Terminated, signals_as_exceptions

        try:
            # SIGTERM (a scheduler stopping the job) unwinds like Ctrl-C: staging folders are
            # removed and forked workers ended on the way out.
            with signals_as_exceptions():
                return super().invoke(ctx)
        except UserError as error:
            click.echo(f"connect-audit: {terminal_text(error.render())}", err=True)
            sys.exit(ExitCode.UNUSABLE)
        except KeyboardInterrupt:
            # Not click's "Aborted!" and exit 1, which a script would read as "findings found".
            click.echo("connect-audit: interrupted (Ctrl-C)", err=True)
            sys.exit(ExitCode.INTERRUPTED)
        except Terminated:
            click.echo("connect-audit: stopped (SIGTERM)", err=True)
            sys.exit(ExitCode.TERMINATED)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except Exception as error:  # noqa: BLE001 - the one place a bug is turned into exit 3
            if os.environ.get("CONNECT_AUDIT_DEBUG"):
                raise
            click.echo(f"connect-audit: internal error ({type(error).__name__}); this is a bug in "
                       "connect-audit, not in your export. Run again with CONNECT_AUDIT_DEBUG=1 "
                       "for the details.", err=True)
            sys.exit(ExitCode.INTERNAL)


@click.group(cls=AuditGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="connect-audit")
def main() -> None:
    """Audit an edsembli SIS board export before CONNECT portal accounts are generated.

    Exit codes: 0 nothing at or above --fail-on; 1 findings at or above --fail-on;
    2 unusable input or usage; 3 connect-audit itself failed; 130 interrupted (Ctrl-C);
    143 stopped (SIGTERM).
    """


def _formats(text: str) -> tuple[str, ...]:
    chosen = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    bad = [part for part in chosen if part not in FORMATS]
    if bad or not chosen:
        raise UserError(f"--format takes a comma-separated list of {', '.join(FORMATS)}; "
                        f"got {text!r}")
    return chosen


def _audit(board_path, *, config_path, mapping, checks=None, school=None, quiet=False,
           suppressions=None):
    from audits import api
    from audits.engine import memory as collector
    from audits.engine.progress import Progress

    progress = Progress(quiet=quiet)
    config = api.load_config(config_path)
    decisions = api.load_suppressions(list(suppressions)) if suppressions else None
    matching = []

    def start_matching(board) -> None:
        collector.enable()  # the board lives until the command ends (audits/engine/memory.py)
        command = click.get_current_context(silent=True)
        if command is not None:
            command.call_on_close(collector.disable)
        # The matcher needs only the tables: it runs on the second core while the export is
        # validated and the graph built (audits/engine/parallel.py).
        if api.needs_matching(checks):
            matching.append(api.start_matching(board, config))

    try:
        with progress.step("Loading and validating the export"):
            board = api.load_board(board_path, mapping=mapping, after_read=start_matching,
                                   config=config)
        board.require_school(school)
        result = api.run_audit(board, config, checks=checks, school=school, progress=progress,
                               suppressions=decisions, matching=matching[0] if matching else None)
    finally:
        for job in matching:
            job.cancel()  # a no-op once its result is taken; else the worker is ended
    collector.freeze_long_lived_now()  # the graph and findings, before the reports fork
    return result, progress


def _write_outputs(result, target, formats: tuple[str, ...], progress,
                   per_school: bool = False) -> dict[str, Path]:
    """Every output into ``target``'s staging folder (an ``audits.io.outputs.OutputFolder``),
    then the whole set swapped into --out; returns each output's final path."""
    from audits import api

    staging = target.staging
    report_formats = tuple(f for f in formats if f != "json")
    if not report_formats:
        # Tens of thousands of small dicts and lists in no cycle (the findings' entries):
        # made with the cyclic collector paused, as the reports below are.
        with progress.step("Writing findings.json"), collector_paused():
            staged = {"json": api.write_findings(result, staging / "findings.json")}
    else:
        from reports.writing import write_audit_reports

        # findings.json too: the reports write it while their worker writes the runbooks.
        label = ("findings.json, " if "json" in formats else "") + " and ".join(report_formats)
        # Hundreds of thousands of small rows and sections in no cycle: made with the cyclic
        # collector paused (in the runbooks' worker too, which inherits it).
        with progress.step(f"Writing {label} reports"), collector_paused():
            staged = write_audit_reports(result, staging, formats, per_school=per_school)
    target.commit(getattr(result, "fingerprint", None), formats)
    return {kind: target.out / path.relative_to(staging) for kind, path in staged.items()}


def _print_summary(result, written: dict[str, Path] | None = None) -> None:
    from audits.io.cells import shown
    from audits.model.findings import summarize

    summary = summarize(result.findings)
    # Paths and decisions hold the user's own words: no control character reaches the terminal.
    click.echo(f"{len(result.findings)} finding(s) in {shown(result.board.source.path)}")
    for check, count in sorted(summary["by_check"].items()):
        click.echo(f"  {check:<26} {count}")
    for check, reason in sorted(getattr(result, "skipped", {}).items()):
        click.echo(f"  {check:<26} skipped: {shown(reason)}")
    if summary["by_severity"]:
        click.echo("  by severity: " + ", ".join(
            f"{sev} {n}" for sev, n in sorted(summary["by_severity"].items())))
    suppressed = getattr(result, "suppressed", None)
    if suppressed is not None:
        click.echo(f"  suppressed: {suppressed.count} left out by recorded decisions")
        for line in suppressed.stale_messages():
            click.echo("  " + shown(line))
    changes = getattr(result, "changes", None)
    if changes is not None:
        click.echo(f"  since the previous run: {changes.headline()}")
    if getattr(result, "redacted", False):
        click.echo("  redacted: names to initials, emails/usernames/phones masked")
    for kind, path in (written or {}).items():
        click.echo(f"  {kind:<8} {shown(path)}")


@main.command()
@click.argument("board", type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path), default=Path("audit-output"),
              show_default=True, help="Folder for findings.json, audit.xlsx, audit.html, runbooks/.")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="TOML config file.")
@click.option("--mapping", type=click.Path(path_type=Path), help="TOML header mapping file.")
@click.option("--format", "format_", default="xlsx,html,json", show_default=True,
              help="Outputs to write: any of xlsx, html, json.")
@click.option("--check", "checks", multiple=True, help="Run only this check (repeatable).")
@click.option("--fail-on", type=FAIL_ON, default="never", show_default=True,
              help="Exit 1 when a finding at or above this severity is found.")
@click.option("--quiet", is_flag=True, help="No progress on stderr.")
@click.option("--previous", type=click.Path(path_type=Path),
              help="An earlier findings.json: the reports add what is new, resolved, still open.")
@click.option("--suppressions", "suppressions", multiple=True, type=click.Path(path_type=Path),
              help="A suppressions file (repeatable): recorded decisions to honour.")
@click.option("--redact", is_flag=True,
              help="Reports for sharing outside the data office: initials, masked emails/phones.")
@click.option("--workbook-per-school", "per_school", is_flag=True,
              help="Also write school-workbooks/: one .xlsx per school holding only that "
                   "school's findings and accounts, to hand to its principal.")
def audit(board, out, config_path, mapping, format_, checks, fail_on, quiet, previous,
          suppressions, redact, per_school):
    """Audit BOARD (a folder of CSV files, an .xlsx workbook, or a OneRoster or SDS export)
    and write the reports."""
    from audits import api
    from audits.io.outputs import OutputFolder

    formats = _formats(format_)
    if per_school and "xlsx" not in formats:
        raise UserError("--workbook-per-school writes workbooks: keep xlsx in --format")
    # Read before the audit: a wrong --previous should not cost a whole run.
    earlier = None
    if previous is not None:
        from audits.workflow.diff import read_findings_document

        earlier = read_findings_document(previous, what="--previous findings file")
    # --out checked and locked before the audit too.
    with OutputFolder(out, export=board) as target:
        result, progress = _audit(board, config_path=config_path, mapping=mapping,
                                  checks=checks or None, quiet=quiet, suppressions=suppressions)
        if earlier is not None:
            # Every finding's findings.json entry is made here (for the comparison): tens of
            # thousands of small dicts in no cycle, made with the cyclic collector paused.
            with collector_paused():
                result = api.compare(result, earlier)
        if redact:
            with progress.step("Redacting personal data"):
                result = api.redact(result)
        written = _write_outputs(result, target, formats, progress, per_school=per_school)
    _print_summary(result, written)
    exit_now(ExitCode.FINDINGS if api.fails(result.findings, fail_on) else ExitCode.OK)


@main.command()
@click.argument("board", type=click.Path(path_type=Path))
@click.option("--school", help="Only findings that involve this school id.")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="TOML config file.")
@click.option("--mapping", type=click.Path(path_type=Path), help="TOML header mapping file.")
@click.option("--fail-on", type=FAIL_ON, default="error", show_default=True,
              help="Exit 1 when a finding at or above this severity is found.")
def check(board, school, config_path, mapping, fail_on):
    """Pre-generation health check: run the checks, print a short summary, exit 1 on findings."""
    from audits import api

    result, _ = _audit(board, config_path=config_path, mapping=mapping, school=school, quiet=True)
    _print_summary(result)
    failed = api.fails(result.findings, fail_on)
    click.echo(("FAIL: " if failed else "OK: ") + f"--fail-on {fail_on}")
    exit_now(ExitCode.FINDINGS if failed else ExitCode.OK)


@main.command()
@click.argument("board", type=click.Path(path_type=Path))
@click.option("--school", help="Only the accounts generated at this school id.")
@click.option("--out", "out", type=click.Path(path_type=Path), help="Write the preview as CSV.")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="TOML config file.")
@click.option("--mapping", type=click.Path(path_type=Path), help="TOML header mapping file.")
def preview(board, school, out, config_path, mapping):
    """List the parent accounts generation would create ("Will be created") and their outcomes."""
    from audits import api
    from audits.engine.context import AuditContext
    from audits.preview import preview_to_csv

    config = api.load_config(config_path)
    context = AuditContext(api.load_board(board, mapping=mapping, config=config), config)
    context.board.require_school(school)
    frame = context.preview
    if school is not None:
        frame = frame[frame["school_id"] == school]
    ok = int((frame["outcome"] == "ok").sum())
    click.echo(f"{len(frame)} parent account(s) marked \"Will be created\"; "
               f"{ok} predicted to work, {len(frame) - ok} predicted to fail or misbehave:")
    for outcome, count in frame["outcome"].value_counts().items():
        click.echo(f"  {outcome:<32} {count}")
    if out:
        preview_to_csv(frame, out)
        click.echo(f"Preview written to {out}")


@main.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--students", type=click.IntRange(1, 5_000_000), default=2000, show_default=True)
@click.option("--seed", type=int, default=2026, show_default=True)
@click.option("--xlsx", is_flag=True, help="Write one .xlsx workbook instead of CSV files.")
@click.option("--format", "format_", type=click.Choice(["oneroster-1.1", "oneroster-1.2",
                                                        "sds-2.1"]),
              help="Write it as a OneRoster or SDS export (siblings and accounts CSVs beside).")
def sample(out, students, seed, xlsx, format_):
    """Write a realistic sample board to OUT, with its ground truth in OUT/truth.json."""
    from audits.sample import generate_board, write_board

    if format_ and xlsx:
        raise UserError("--xlsx and --format are two different exports: give one of them")
    if format_:
        from audits.sample.convert import write_sample

        path = write_sample(generate_board(students, seed), out, format_)
    else:
        path = write_board(generate_board(students, seed), out, xlsx=xlsx)
    click.echo(f"Sample board of {students} students (seed {seed}) written to {path}")


@main.command()
@click.option("--out", "out", type=click.Path(path_type=Path), default=Path("demo-output"),
              show_default=True)
def demo(out):
    """Generate the embedded 2,000-student sample board, audit it and write every report."""
    from audits.io.outputs import OutputFolder
    from audits.sample import DEMO_SEED, DEMO_STUDENTS, generate_board, write_board

    progress_out = out.resolve()
    board_path = progress_out / "sample-board"
    with OutputFolder(progress_out) as target:
        write_board(generate_board(DEMO_STUDENTS, DEMO_SEED), board_path)
        click.echo(f"Sample board ({DEMO_STUDENTS} students, seed {DEMO_SEED}): {board_path}")
        result, progress = _audit(board_path, config_path=None, mapping=None)
        written = _write_outputs(result, target, FORMATS, progress)
    _print_summary(result, written)
    click.echo(f"\nOpen {progress_out / 'audit.html'} in a browser, "
               f"or {progress_out / 'audit.xlsx'} in Excel or LibreOffice.")


@main.group()
def fix() -> None:
    """Plan, dry-run, apply and undo reviewed fixes on a copy of the export."""


@fix.command("plan")
@click.argument("findings", type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path), required=True, help="PLAN.json to write.")
@click.option("--check", "checks", multiple=True, help="Only findings of this check (repeatable).")
@click.option("--min-confidence", type=click.FloatRange(0, 1), help="Skip findings below this confidence.")
def fix_plan(findings, out, checks, min_confidence):
    """Write one action per finding of FINDINGS.json, each with the values it expects to find."""
    from audits.io.files import write_atomic
    from audits.workflow.diff import read_findings_document
    from fixes.plan import build_plan, dumps_plan

    document = read_findings_document(findings, what="findings file")
    plan = build_plan(document, checks=checks or None, min_confidence=min_confidence,
                      source=str(findings))
    write_atomic(out, dumps_plan(plan))
    needs = sum(1 for action in plan["actions"] if action.get("needs_decision"))
    click.echo(f"{len(plan['actions'])} action(s) written to {out}"
               + (f"; {needs} need a person's decision" if needs else ""))


@fix.command("apply")
@click.argument("plan", type=click.Path(path_type=Path))
@click.argument("board", type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="New folder for the fixed export, changes.csv and the undo record.")
@click.option("--write", is_flag=True, help="Write the fixed export (default: dry run).")
@click.option("--force", is_flag=True, help="Apply even when a table changes more than the share.")
@click.option("--apply-rest", is_flag=True, help="Apply the other actions when some are stale.")
@click.option("--values/--no-values", "values", default=None,
              help="Dry run: print each change's values before -> after (--values), or each "
                   "value as its length only (--no-values). Default: values on a terminal, "
                   "lengths when the output goes to a file or a job's log.")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="TOML config file.")
def fix_apply(plan, board, out, write, force, apply_rest, values, config_path):
    """Apply PLAN.json to BOARD, writing a new export in --out (dry run unless --write).

    The dry run prints every change, action by action, before -> after."""
    from audits.model.config import load_config
    from fixes.apply import apply_plan
    from fixes.plan import read_plan

    config = load_config(config_path)
    result = apply_plan(read_plan(plan), board, out, write=write, force=force,
                        apply_rest=apply_rest, max_share=config.max_fix_share, config=config)
    # With --write the values are in changes.csv; the output is the summary.
    # Personal data goes to a person's terminal, not to a log, unless asked for.
    shown = sys.stdout.isatty() if values is None else values
    click.echo(result.text(values=None if write else shown))


@fix.command("undo")
@click.argument("fixed", type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="Where to write the original export again.")
def fix_undo(fixed, out):
    """Give back the original export from a FIXED folder written by `fix apply --write`."""
    from fixes.undo import undo

    click.echo(f"Original export restored to {undo(fixed, out)}")


@main.group("mapping")
def mapping_group() -> None:
    """Header mappings for exports whose file names and headers are not the contract's."""


@mapping_group.command("suggest")
@click.argument("export", type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path), default=Path("mapping.toml"),
              show_default=True, help="The mapping TOML to write (for audit --mapping).")
def mapping_suggest(export, out):
    """Propose the table of each file or sheet of EXPORT and the contract column of each header,
    from their names and values; write it as a commented mapping to edit. Exits 2 when a
    required column or table could not be placed (the mapping is written all the same)."""
    from audits.io.files import write_atomic
    from audits.io.cells import shown
    from audits.io.suggest.rendering import mapping_toml, unplaced_problems
    from audits.io.suggest.scoring import suggest_mapping

    suggestion = suggest_mapping(export)
    write_atomic(out, mapping_toml(suggestion))
    placed = [item for item in suggestion.tables if item.table]
    click.echo(f"Mapping suggested for {len(placed)} of {len(suggestion.tables)} file(s) "
               f"written to {shown(out)}")
    for item in suggestion.tables:
        if item.table is None:
            click.echo(f"  not placed: {shown(item.file.label)} (no table fits its columns)")
            continue
        for header in item.unplaced():
            click.echo(f"  not placed: {shown(item.file.label)}: column {shown(header)}")
    problems = unplaced_problems(suggestion)
    if problems:
        raise UserError(f"The suggested mapping {out.name} needs a person: "
                        f"{len(problems)} required name(s) could not be placed; edit it, then "
                        "run audit --mapping with it.", problems)


@main.command("diff")
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path),
              help="Write one row per finding (status, id, check, severity, school_ids, title) as CSV.")
@click.option("--by", "by", type=click.Choice(["check", "school"]), default="check",
              show_default=True, help="Count by check or by school.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def diff_command(old, new, out, by, as_json):
    """Compare two findings.json files (or the audit folders holding them): new, resolved,
    still-open and suppressed-since findings."""
    import json

    from audits import api
    from audits.workflow.diff import findings_path

    changes = api.diff(findings_path(old, what="earlier findings file (OLD)"),
                       findings_path(new, what="later findings file (NEW)"))
    if out:
        from audits.preview import preview_to_csv

        preview_to_csv(changes.frame(), out)
    if as_json:
        click.echo(json.dumps(changes.to_dict(), ensure_ascii=False, indent=1))
        return
    click.echo(changes.text(by))
    if out:
        click.echo(f"  rows written to {out}")


@main.command("suppress")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--finding", help="The stable id of a finding that is not a problem.")
@click.option("--pair", nargs=2, help="Two contact record ids that are different people.")
@click.option("--reason", required=True, help="Why (the next analyst reads it).")
@click.option("--by", "by", required=True, help="Who decided.")
def suppress_command(file, finding, pair, reason, by):
    """Record a decision in FILE (created if missing) that later audits honour."""
    from audits import api

    item = api.suppress(file, finding=finding, pair=tuple(pair) if pair else None,
                        reason=reason, by=by)
    click.echo(f"Recorded in {file}: {item.describe()}")


@main.command("reconcile")
@click.argument("preview_csv", type=click.Path(path_type=Path))
@click.argument("board_after", type=click.Path(path_type=Path))
@click.option("--before", type=click.Path(path_type=Path),
              help="The export the preview was taken from: lists accounts created but not predicted.")
@click.option("--out", "out", type=click.Path(path_type=Path),
              help="Write one row per account (status, reason, usernames) as CSV.")
@click.option("--mapping", type=click.Path(path_type=Path), help="TOML header mapping file.")
def reconcile_command(preview_csv, board_after, before, out, mapping):
    """Compare the preview saved before generation with an export taken after it."""
    from audits import api

    result = api.reconcile(preview_csv, board_after, before=before, mapping=mapping)
    click.echo(result.text())
    if out:
        result.to_csv(out)
        click.echo(f"  rows written to {out}")


@main.command("checks")
def list_checks():
    """List the checks, with what each finds and why it matters."""
    from audits.checks.spec import load_checks

    for code, spec in load_checks().items():
        click.echo(f"{code} ({spec.severity.value}): {spec.summary}")
        if spec.why:
            click.echo(f"    Why it matters: {spec.why}")


def run() -> None:
    """The ``connect-audit`` console script: :func:`main`, letting a finished ``audit`` or
    ``check`` end the process at once (:func:`audits.engine.memory.exit_now`)."""
    from audits.engine import memory

    memory.allow_fast_exit()
    main()


if __name__ == "__main__":  # pragma: no cover
    run()
