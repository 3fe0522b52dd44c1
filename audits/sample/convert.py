"""A contract board written as a OneRoster 1.1, OneRoster 1.2 or SDS v2.1 export, and the same
board with what that format cannot carry taken out (:func:`strip_board`): audited, the two give
the same findings, which is what the tests hold the readers (:mod:`audits.io.formats`) to.

    write_format(sample.tables, Path("out/or11"), "oneroster-1.1")    # + siblings/accounts CSVs
    frames = strip_board(sample.tables, "oneroster-1.1")               # contract tables

What a format loses: addresses (students' and contacts'), a contact's work phone, the school
type but central office, the relationship word (OneRoster keeps one role per contact:
``parent``, ``guardian`` or ``relative``, and drops a parent's links as another family's
emergency contact; SDS keeps one per link, adding ``other``: :func:`format_links`), the CONNECT
parent-access flag, which the reader sets from the role (``[input] portal_access_roles``). A
student and contact linked twice are linked once.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping

import pandas as pd

from audits.model.board import Board, board_from_frames
from audits.model.config import Config, InputLimits

FORMATS = ("oneroster-1.1", "oneroster-1.2", "sds-2.1")
GUARDIAN_WORDS = frozenset({"guardian", "legal guardian", "tuteur", "tutrice"})
_RELATIVE = re.compile(r"grand|aunt|uncle|oncle|tante|cousin|sister|brother|sibling|relative",
                       re.IGNORECASE)
ENDED = "2000-06-30"
"""The roleEndDate an inactive student's SDS role gets: SDS has no status field."""


def _board(tables: Mapping[str, pd.DataFrame] | Board) -> Board:
    return tables if isinstance(tables, Board) else board_from_frames(dict(tables))


def format_links(board: Board, kind: str, config: Config) -> pd.DataFrame:
    """The student_contacts links the ``kind`` export carries, once per (student, contact) in
    the board's order, with the format's role word as ``relationship``.

    SDS keeps a role per link: a parental word is ``parent`` (``guardian`` for a guardian
    word), a relative's ``relative``, anything else ``other``. OneRoster keeps one role per
    user: a contact with a parental link is ``parent`` or ``guardian`` (its first parental
    link's), else ``relative``; and a parent who is also another family's emergency contact
    exports only its parental links, as an SIS choosing one role per person does (written as
    the other family's agent too, it would read as that family's parent and join the two)."""
    links = board.student_contacts.drop_duplicates(["student_id", "contact_id"])
    words = links["relationship"].astype(str).str.strip().str.lower()
    parental = config.parental_mask(links["relationship"])
    role = pd.Series("relative", index=links.index, dtype=object)
    role[parental] = words[parental].map(lambda w: "guardian" if w in GUARDIAN_WORDS
                                         else "parent")
    if kind == "sds-2.1":
        role[~parental & ~words.map(lambda w: bool(_RELATIVE.search(w)))] = "other"
    else:
        first = role[parental].groupby(links.loc[parental, "contact_id"]).first()
        parent = links["contact_id"].isin(first.index)
        links, role = links[parental | ~parent], links["contact_id"].map(first).fillna(role)
        role = role[links.index]
    return pd.DataFrame({"student_id": links["student_id"], "contact_id": links["contact_id"],
                         "relationship": role})


def strip_board(tables: Mapping[str, pd.DataFrame] | Board, kind: str,
                config: Config | None = None, *, siblings: bool = True
                ) -> dict[str, pd.DataFrame]:
    """The board's contract tables with what ``kind`` cannot carry taken out (this module's
    doc): the board a reader of that format can give at best. ``siblings=False`` drops the
    siblings table too (the export without a siblings.csv beside it)."""
    config = config or Config()
    board = _board(tables)
    portal = frozenset((config.input_limits or InputLimits()).portal_access_roles)
    out = {name: frame.copy() for name, frame in board.tables.items()}
    out["schools"]["school_type"] = out["schools"]["school_type"].where(
        out["schools"]["school_type"] == "central_office", "other")
    for name in ("students", "contacts"):
        for field in ("street", "city", "postal_code"):
            out[name][field] = ""
    out["contacts"]["work_phone"] = ""
    links = format_links(board, kind, config)
    links["portal_access"] = links["relationship"].isin(portal)
    out["student_contacts"] = links
    if not siblings:
        out.pop("siblings")
    for name, frame in out.items():
        frame = frame.copy()
        for field in frame.columns:
            if frame[field].dtype == bool:
                frame[field] = frame[field].map({True: "Y", False: "N"})
        out[name] = frame.reset_index(drop=True).astype(str)
    return out


def write_format(tables: Mapping[str, pd.DataFrame] | Board, out: Path, kind: str, *,
                 config: Config | None = None, siblings: bool = True,
                 accounts: bool = True) -> Path:
    """Write the board into the folder ``out`` as a ``kind`` export (UTF-8, as both
    specifications require), with the contract's siblings.csv (``siblings``) and CONNECT's
    accounts.csv and account_students.csv (``accounts``) beside it. Returns ``out``."""
    if kind not in FORMATS:
        raise ValueError(f"unknown format {kind!r}; known: {', '.join(FORMATS)}")
    config = config or Config()
    board = _board(tables)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = (_sds(board, config) if kind == "sds-2.1"
             else _oneroster(board, kind.rpartition("-")[2], config))
    if siblings:
        files["siblings.csv"] = board.siblings[["student_id", "sibling_id"]]
    if accounts:
        files["accounts.csv"] = board.accounts[["account_id", "username", "account_type",
                                                "school_id", "person_id", "status"]]
        files["account_students.csv"] = board.account_students[["account_id", "student_id"]]
    for name, frame in files.items():
        (out / name).write_text(frame.to_csv(index=False, lineterminator="\r\n"),
                                encoding="utf-8", newline="")
    return out


def _table(rows: list[dict], fields: tuple[str, ...]) -> pd.DataFrame:
    """Rows as a file of the specification: its fields in order, a field not given blank."""
    return pd.DataFrame(rows, columns=list(fields), dtype=object).fillna("")


def _linked(links: pd.DataFrame) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Each student's contacts and each contact's students, in link order, once each."""
    of_student: dict[str, list[str]] = {}
    of_contact: dict[str, list[str]] = {}
    for sid, cid in zip(links["student_id"], links["contact_id"]):
        if cid not in of_student.setdefault(sid, []):
            of_student[sid].append(cid)
        if sid not in of_contact.setdefault(cid, []):
            of_contact[cid].append(sid)
    return of_student, of_contact


def _orgs(board: Board, fields: tuple[str, ...]) -> pd.DataFrame:
    schools = board.schools
    central = schools.loc[schools["school_type"] == "central_office", "school_id"]
    parent = central.iloc[0] if len(central) else ""
    rows = []
    for sid, name, kind in zip(schools["school_id"], schools["school_name"],
                               schools["school_type"]):
        district = kind == "central_office"
        rows.append({"sourcedId": sid, "name": name, "type": "district" if district else "school",
                     "parentSourcedId": "" if district else parent})
    return _table(rows, fields)


def _oneroster(board: Board, version: str, config: Config) -> dict[str, pd.DataFrame]:
    from audits.io.formats import oneroster as spec

    links = format_links(board, "oneroster", config)
    of_student, of_contact = _linked(links)
    found = dict(zip(links["contact_id"], links["relationship"]))
    roles = {cid: found.get(cid, "relative") for cid in board.contacts["contact_id"]}
    school_of = dict(zip(board.students["student_id"], board.students["school_id"]))
    first_school = board.schools["school_id"].iloc[0] if len(board.schools) else ""
    people = []  # (sourcedId, status, role, org, username, given, family, email, sms, phone,
    #              agents, grades)
    for row in board.students.itertuples(index=False):
        people.append((row.student_id, "tobedeleted" if row.status == "inactive" else "",
                       "student", row.school_id, row.student_id, row.first_name, row.last_name,
                       "", "", "", of_student.get(row.student_id, []), row.grade))
    for row in board.contacts.itertuples(index=False):
        students = of_contact.get(row.contact_id, [])
        org = school_of.get(students[0], first_school) if students else first_school
        people.append((row.contact_id, "", roles[row.contact_id], org,
                       row.email or row.contact_id, row.first_name, row.last_name, row.email,
                       row.cell_phone, row.home_phone, students, ""))
    for row in board.staff.itertuples(index=False):
        people.append((row.staff_id, "", "teacher", row.school_id, row.email or row.staff_id,
                       row.first_name, row.last_name, row.email, "", "", [], ""))
    fields = spec.USER_FIELDS_11 if version == "1.1" else spec.USER_FIELDS_12
    users, role_rows = [], []
    for number, (sid, status, role, org, username, given, family, email, sms, phone, agents,
                 grades) in enumerate(people, start=1):
        record = {"sourcedId": sid, "status": status, "enabledUser": "true",
                  "username": username, "givenName": given, "familyName": family,
                  "identifier": sid, "email": email, "sms": sms, "phone": phone,
                  "agentSourcedIds": ",".join(agents), "grades": grades}
        if version == "1.1":
            record.update(orgSourcedIds=org, role=role)
        else:
            record.update(userMasterIdentifier=sid, primaryOrgSourcedId=org)
            role_rows.append({"sourcedId": f"R{number}", "status": status,
                              "userSourcedId": sid, "roleType": "primary", "role": role,
                              "orgSourcedId": org})
        users.append(record)
    files = {"manifest.csv": _manifest(version),
             "orgs.csv": _orgs(board, spec.ORG_FIELDS),
             "users.csv": _table(users, fields)}
    if version == "1.2":
        files["roles.csv"] = _table(role_rows, spec.ROLE_FIELDS_12)
    files["demographics.csv"] = _demographics(board, "sourcedId", spec.DEMOGRAPHIC_FIELDS)
    return files


def _demographics(board: Board, key: str, fields: tuple[str, ...]) -> pd.DataFrame:
    students = board.students[board.students["date_of_birth"] != ""]
    frame = pd.DataFrame({key: students["student_id"], "birthDate": students["date_of_birth"]})
    return frame.reindex(columns=list(fields), fill_value="")


def _manifest(version: str) -> pd.DataFrame:
    files = ["academicSessions", "categories", "classes", "classResources", "courses",
             "courseResources", "demographics", "enrollments", "lineItems", "orgs",
             "resources", "results", "users"]
    if version == "1.2":
        files = sorted(files + ["roles", "userProfiles", "userResources", "scoreScales",
                                "lineItemLearningObjectiveIds", "lineItemScoreScales",
                                "resultLearningObjectiveIds", "resultScoreScales"])
    present = {"demographics", "orgs", "users", "roles"}
    rows = [("manifest.version", "1.0"), ("oneroster.version", version)]
    rows += [(f"file.{name}", "bulk" if name in present else "absent") for name in files]
    rows += [("source.systemName", "connect-audit sample"), ("source.systemCode", "")]
    return pd.DataFrame(rows, columns=["propertyName", "value"])


def _sds(board: Board, config: Config) -> dict[str, pd.DataFrame]:
    from audits.io.formats import sds as spec

    users, roles = [], []
    for row in board.students.itertuples(index=False):
        users.append({"sourcedId": row.student_id, "username": row.student_id,
                      "givenName": row.first_name, "familyName": row.last_name})
        roles.append({"userSourcedId": row.student_id, "orgSourcedId": row.school_id,
                      "role": "student", "grade": row.grade, "isPrimary": "true",
                      "roleEndDate": ENDED if row.status == "inactive" else ""})
    for row in board.contacts.itertuples(index=False):
        users.append({"sourcedId": row.contact_id, "username": row.email or row.contact_id,
                      "givenName": row.first_name, "familyName": row.last_name,
                      "email": row.email, "phone": row.home_phone, "sms": row.cell_phone})
    for row in board.staff.itertuples(index=False):
        users.append({"sourcedId": row.staff_id, "username": row.email or row.staff_id,
                      "givenName": row.first_name, "familyName": row.last_name,
                      "email": row.email})
        roles.append({"userSourcedId": row.staff_id, "orgSourcedId": row.school_id,
                      "role": "teacher", "isPrimary": "true"})
    links = format_links(board, "sds-2.1", config)
    relationships = pd.DataFrame({"userSourcedId": links["student_id"],
                                  "relationshipUserSourcedId": links["contact_id"],
                                  "relationshipRole": links["relationship"]})
    return {"orgs.csv": _orgs(board, spec.ORG_FIELDS),
            "users.csv": _table(users, spec.USER_FIELDS),
            "roles.csv": _table(roles, spec.ROLE_FIELDS),
            "relationships.csv": relationships,
            "demographics.csv": _demographics(board, "userSourcedId", spec.DEMOGRAPHIC_FIELDS)}


def write_sample(sample, out: Path, kind: str) -> Path:
    """``connect-audit sample --format KIND``: the sample board as a ``kind`` export (with its
    siblings.csv and CONNECT accounts beside it) and ``truth.json``, the generator's ground
    truth for the contract board (findings the format cannot carry may be missed)."""
    import json

    target = write_format(sample.tables, out, kind)
    document = {"generator": {"module": "audits.sample", "seed": sample.seed,
                              "students": len(sample.tables["students"]), "format": kind},
                **sample.truth}
    (Path(out) / "truth.json").write_text(json.dumps(document, indent=1, ensure_ascii=False)
                                          + "\n", encoding="utf-8", newline="\n")
    return target
