"""Step text for the SIS screens, shared by the checks so every fix reads the same way.

Screens are named exactly as the SIS shows them, joined by `` > ``; every record is named with
its display name and its id (``Jennifer Smith (C104)``), because names repeat and ids don't.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from audits.household.graph import HouseholdGraph

SCREEN_SEPARATOR = " > "

FAMILY_CONTACTS = "Family & Contacts"
SIBLINGS = "Siblings"
CONTACTS = "Contacts"
CONNECT_ACCOUNTS = ("Security", "edsembli CONNECT", "Accounts")
PERMISSIONS = "Permissions"

NEVER_REGENERATE = ("Do not regenerate the account to add a child: regenerating replaces the "
                    "students it can see instead of adding to them.")


def screen(*parts: str) -> str:
    """A path through the SIS menus: ``Security > edsembli CONNECT > Accounts``."""
    return SCREEN_SEPARATOR.join(part for part in parts if part)


def record(names: dict[str, str], ident: str) -> str:
    """``Name (id)``, or the bare id when the record has no name."""
    name = names.get(ident, "")
    return f"{name} ({ident})" if name and name != ident else ident


def numbered(steps: Iterable[str]) -> list[str]:
    return [f"{number}. {text}" for number, text in enumerate(steps, start=1)]


def names_of(graph: "HouseholdGraph", kind: str, ids: Iterable[str]) -> dict[str, str]:
    """Display names of records of one kind, by id, as the graph labels them."""
    return {ident: graph.label((kind, ident)) for ident in ids}
