"""Handmade findings for tests, demos and benchmarks of the reports, independent of the checks.

:func:`sample_findings` is a tiny household with one finding of each check, including hostile
names (markup, script, formula) that every output must show as plain text.
:func:`synthetic_findings` makes any number of plausible findings for size tests.
"""

from __future__ import annotations

import random
from datetime import datetime, timezone

from audits.model.actions import (AddPermission, FixAction, LinkSiblings, Manual,
                                  MergeContacts, RenameUsername)
from audits.model.findings import Finding, Severity, stable_id

HOSTILE_SCRIPT = "<script>alert(1)</script>"
HOSTILE_IMG = '"><img src=x onerror=alert(1)>'
HOSTILE_JS = "javascript:alert(1)"
HOSTILE_FORMULA = '=HYPERLINK("http://x","y")'

SAMPLE_SCHOOLS = {"1021": "Maple Grove Public School", "2040": "Lakeview Secondary",
                  "3030": "<b>Bold</b> & Co. Academy", "9000": "Central Office"}
SAMPLE_GENERATED_AT = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)


def _node(kind: str, ref: str, label: str) -> dict:
    return {"id": f"{kind}:{ref}", "kind": kind, "ref": ref, "label": label}


def _parent(contact: str, student: str, relationship: str = "Mother", portal: bool = True) -> dict:
    return {"source": f"contact:{contact}", "target": f"student:{student}", "kind": "contact-of",
            "relationship": relationship, "portal_access": portal}


SAMPLE_NAMES = {"C104": "Jennifer Smith", "C388": "Jenny Smith", "S1": "Liam Smith",
                "S2": "Emma Smith", "S3": "Noah Smith", "A1": "j.smith@example.com",
                "A7": "J.Smith@example.com"}
HOSTILE_NAMES = {"C900": HOSTILE_SCRIPT, "C901": HOSTILE_IMG, "S90": HOSTILE_JS,
                 "S91": HOSTILE_FORMULA}


def _smith_household() -> dict:
    return {
        "nodes": [_node("contact", "C104", "Jennifer Smith"), _node("contact", "C388", "Jenny Smith"),
                  _node("student", "S1", "Liam Smith"), _node("student", "S2", "Emma Smith"),
                  _node("account", "A1", "j.smith@example.com")],
        "edges": [_parent("C104", "S1"), _parent("C388", "S2"),
                  {"source": "student:S1", "target": "student:S2", "kind": "sibling"},
                  {"source": "contact:C104", "target": "account:A1", "kind": "holds-account"},
                  {"source": "account:A1", "target": "student:S1", "kind": "can-see"}],
    }


def _hostile_household() -> dict:
    return {
        "nodes": [_node("contact", "C900", HOSTILE_SCRIPT), _node("contact", "C901", HOSTILE_IMG),
                  _node("student", "S90", HOSTILE_JS), _node("student", "S91", HOSTILE_FORMULA)],
        "edges": [_parent("C900", "S90", "Father"), _parent("C901", "S91", "<i>Father</i>")],
    }


def sample_findings() -> list[Finding]:
    return [*_smith_findings(), *_hostile_findings()]


def _smith_findings() -> list[Finding]:
    """One family: a duplicate parent, unlinked siblings, a username clash, a missing grant."""
    names, smith = SAMPLE_NAMES, _smith_household()
    return [
        Finding(
            id=stable_id("duplicate-contact", ["C104", "C388"]), check="duplicate-contact",
            severity=Severity.ERROR, confidence=0.97, school_ids=("1021",),
            title="Contact records C104 and C388 look like one person (Jennifer Smith)",
            students=("S1", "S2"), contacts=("C104", "C388"),
            evidence={"email": "same", "cell_phone": "same", "first_name": "Jennifer ~ Jenny"},
            fix=MergeContacts(keep="C104", keep_reason="the lowest id", retire=("C388",),
                              steps=("Open Contacts and search for C388 (Jenny Smith).",
                                     "On the Students tab, link Emma Smith (S2) to C104 instead.",
                                     "Retire contact record C388.")),
            names={k: names[k] for k in ("C104", "C388", "S1", "S2")}, household=smith),
        Finding(
            id=stable_id("unlinked-siblings", ["S1", "S3"]), check="unlinked-siblings",
            severity=Severity.WARNING, confidence=0.9, school_ids=("1021", "2040"),
            title="Liam Smith (S1) and Noah Smith (S3) share a parent but are not linked as siblings",
            students=("S1", "S3"), pairs=(("S1", "S3"),),
            evidence={"shared_parent": "Jennifer Smith (C104)"},
            fix=LinkSiblings(pairs=(("S1", "S3"),), students=("S1", "S3"),
                             steps=("Open Student S1 (Liam Smith), Siblings tab.",
                                    "Add Noah Smith (S3) as a sibling and save.")),
            names={k: names[k] for k in ("S1", "S3")},
            household={"nodes": [_node("contact", "C104", "Jennifer Smith"),
                                  _node("student", "S1", "Liam Smith"),
                                  _node("student", "S3", "Noah Smith")],
                       "edges": [_parent("C104", "S1"), _parent("C104", "S3")]}),
        Finding(
            id=stable_id("username-clash", "j.smith@example.com"), check="username-clash",
            severity=Severity.ERROR, school_ids=("1021", "9000"),
            title="Username j.smith@example.com is held by 2 accounts at different schools",
            accounts=("A1", "A7"), username="j.smith@example.com",
            evidence={"A1": "parent account at 1021", "A7": "staff account at 9000"},
            fix=RenameUsername(
                username="j.smith@example.com",
                accounts=({"account_id": "A1", "account_type": "parent", "school_id": "1021"},
                          {"account_id": "A7", "account_type": "staff", "school_id": "9000"}),
                steps=("Open Accounts, search j.smith@example.com.",
                       "Change the username of A7 following the staff naming schema.")),
            names={k: names[k] for k in ("A1", "A7")},
            household={"nodes": [_node("account", "A1", names["A1"]),
                                  _node("account", "A7", names["A7"])], "edges": []}),
        Finding(
            id=stable_id("missing-sibling-access", ["A1"], ["S2"]), check="missing-sibling-access",
            severity=Severity.ERROR, school_ids=("1021",),
            title="Account j.smith@example.com (A1) cannot see Emma Smith (S2)",
            students=("S2",), accounts=("A1",), pairs=(("A1", "S2"),),
            evidence={"portal_access": "Y for S2 through C388"},
            fix=AddPermission(account_id="A1", students=("S2",),
                              steps=("Open account A1, Permissions tab.",
                                     "Add Emma Smith (S2) and save.")),
            names={k: names[k] for k in ("A1", "S2")}, household=smith),
    ]


def _hostile_findings() -> list[Finding]:
    """Hostile names (markup, script, formula) that every output must show as plain text."""
    hostile_household = _hostile_household()
    return [
        Finding(
            id=stable_id("missing-username-source", ["C900"]), check="missing-username-source",
            severity=Severity.WARNING, school_ids=("3030",),
            title=f"Contact record C900 ({HOSTILE_SCRIPT}) has no usable email",
            contacts=("C900",), students=("S90",),
            evidence={"email": HOSTILE_IMG},
            fix=Manual(details={"contact_id": "C900", "field": "email"},
                       steps=(f"Open contact record C900 ({HOSTILE_SCRIPT}).",
                              "Enter a valid email address and save.")),
            names={"C900": HOSTILE_SCRIPT, "S90": HOSTILE_JS},
            household={"nodes": hostile_household["nodes"][:3:2],
                       "edges": hostile_household["edges"][:1]}),
        Finding(
            id=stable_id("duplicate-contact", ["C900", "C901"]), check="duplicate-contact",
            severity=Severity.INFO, confidence=0.61, school_ids=("3030",),
            title=f"Contact records C900 and C901 may be one person ({HOSTILE_IMG})",
            students=("S90", "S91"), contacts=("C900", "C901"),
            evidence={"last_name": HOSTILE_FORMULA, "street": HOSTILE_JS},
            fix=MergeContacts(keep="C900", keep_reason="the lowest id", retire=("C901",),
                              steps=(f"Compare {HOSTILE_SCRIPT} and {HOSTILE_IMG}.",
                                     f"Keep C900; link {HOSTILE_FORMULA} to it.")),
            names=HOSTILE_NAMES, household=hostile_household),
    ]


def synthetic_findings(count: int, *, schools: int = 40, seed: int = 7) -> list[Finding]:
    """``count`` plausible findings spread over ``schools`` schools, for size tests."""
    rng = random.Random(seed)
    checks = [("duplicate-contact", Severity.ERROR), ("unlinked-siblings", Severity.WARNING),
              ("username-clash", Severity.ERROR), ("missing-sibling-access", Severity.ERROR),
              ("missing-username-source", Severity.INFO)]
    firsts = ["Jennifer", "Mohammed", "Anne-Marie", "Wei", "Priya", "Olu", "Chloé", "Liam"]
    lasts = ["Smith", "Nguyen", "O'Brien", "Tremblay", "Singh", "Kowalski", "Da Silva"]
    findings = []
    for n in range(count):
        code, severity = checks[n % len(checks)]
        school = f"{1000 + rng.randrange(schools)}"
        last = rng.choice(lasts)
        c1, c2, s1, s2, a1 = f"C{n}a", f"C{n}b", f"S{n}a", f"S{n}b", f"A{n}"
        names = {c1: f"{rng.choice(firsts)} {last}", c2: f"{rng.choice(firsts)} {last}",
                 s1: f"{rng.choice(firsts)} {last}", s2: f"{rng.choice(firsts)} {last}",
                 a1: f"user{n}@example.com"}
        household = {
            "nodes": [_node("contact", c1, names[c1]), _node("contact", c2, names[c2]),
                      _node("student", s1, names[s1]), _node("student", s2, names[s2]),
                      _node("account", a1, names[a1])],
            "edges": [_parent(c1, s1), _parent(c2, s2, "Father"),
                      {"source": f"contact:{c1}", "target": f"account:{a1}",
                       "kind": "holds-account"},
                      {"source": f"account:{a1}", "target": f"student:{s1}", "kind": "can-see"}],
        }
        findings.append(Finding(
            id=stable_id(code, [str(n)]), check=code, severity=severity,
            confidence=round(rng.uniform(0.6, 1.0), 2), school_ids=(school,),
            title=f"{code.replace('-', ' ').capitalize()}: {names[c1]} ({c1})",
            students=(s1, s2), contacts=(c1, c2), accounts=(a1,),
            pairs=(((s1, s2),) if code == "unlinked-siblings" else
                   ((a1, s2),) if code == "missing-sibling-access" else ()),
            username=names[a1] if code == "username-clash" else None,
            evidence={"email": "same", "cell_phone": "same", "last_name": last},
            fix=_synthetic_fix(code, (c1, c2), (s1, s2), a1, names),
            names=names, household=household))
    return findings


def _synthetic_fix(code: str, contacts: tuple[str, str], students: tuple[str, str], account: str,
                   names: dict[str, str]) -> FixAction:
    """The typed fix of a synthetic finding of ``code``, with steps of a plausible length."""
    (c1, c2), (s1, s2) = contacts, students
    steps = (f"Open contact record {c2} ({names[c2]}).", f"Link {names[s2]} ({s2}) to {c1} instead.",
             f"Retire contact record {c2}.")
    if code == "duplicate-contact":
        return MergeContacts(keep=c1, keep_reason="the lowest id", retire=(c2,), steps=steps)
    if code == "unlinked-siblings":
        return LinkSiblings(pairs=((s1, s2),), students=(s1, s2), steps=steps)
    if code == "username-clash":
        return RenameUsername(username=names[account], steps=steps)
    if code == "missing-sibling-access":
        return AddPermission(account_id=account, students=(s2,), steps=steps)
    return Manual(details={"contact_id": c1}, steps=steps)
