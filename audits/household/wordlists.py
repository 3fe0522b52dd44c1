"""Word lists the checks use, in one place; each can be extended from the config."""

from __future__ import annotations

# Relationships whose students are one family (lowercased, compared after trimming).
# Grandparents, neighbours and emergency contacts are deliberately absent: a shared grandparent
# does not make cousins siblings.
PARENTAL_RELATIONSHIPS: frozenset[str] = frozenset({
    "mother", "father", "parent", "guardian", "legal guardian", "step-parent", "stepparent",
    "step parent", "step-mother", "stepmother", "step mother", "step-father", "stepfather",
    "step father", "foster parent", "foster mother", "foster father", "adoptive parent",
    "adoptive mother", "adoptive father", "mère", "mere", "père", "pere", "tuteur", "tutrice",
})

# French forms and short forms a Canadian board's records carry that the English-language
# nicknames dataset (the ``nicknames`` package, hand-curated) does not have.
FRENCH_NAME_GROUPS: tuple[frozenset[str], ...] = tuple(frozenset(group) for group in (
    ("philippe", "phil", "philip", "phillip"),
    ("francois", "frank", "francis", "frankie"),
    ("guillaume", "will", "william"),
    ("jean-francois", "jf"),
    ("jean-philippe", "jp"),
    ("jean-sebastien", "js"),
    ("marie-eve", "marie eve", "eve"),
    ("marie-claude", "mc"),
    ("nathalie", "natalie", "nat"),
    ("therese", "teresa", "theresa"),
    ("genevieve", "gen", "vivi"),
    ("stephane", "steph"),
    ("stephanie", "steph"),
    ("frederic", "fred"),
    ("frederique", "fred"),
    ("sebastien", "seb"),
    ("mathieu", "matt", "mat", "matthieu"),
    ("benoit", "ben"),
    ("dominique", "dom"),
    ("jacques", "jack", "james"),
    ("pierre", "peter"),
    ("michel", "mike", "michael"),
    ("catherine", "cathy", "kathy", "kate"),
    ("elisabeth", "elizabeth", "liz", "babette"),
    ("alexandre", "alex"),
    ("alexandra", "alex"),
    ("mohammed", "mohammad", "muhammad", "mohamed", "mo"),
))


def nickname_groups() -> tuple[frozenset[str], ...]:
    """Groups of first names one person may be recorded under, from the ``nicknames`` dataset
    (its ``names.csv``: ``name, has_nickname, nickname`` rows), then :data:`FRENCH_NAME_GROUPS`.
    Read once.

    Each name with its nicknames no longer than itself is one group (Robert, Rob, Bob: two
    short forms of one name are one person's too). A row that lists a longer name as the
    nickname (the dataset has "bill has_nickname robert", "susan has_nickname hannah",
    "katie has_nickname katherine") is a group of the two names alone, and only where the
    shorter is visibly a form of the longer: Robert and William never meet through Bill."""
    if not _NICKNAME_GROUPS:
        import csv
        from importlib.resources import files

        short: dict[str, set[str]] = {}
        with (files("nicknames") / "names.csv").open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if row.get("relationship") == "has_nickname":
                    name = row["name1"].strip().lower()
                    short.setdefault(name, set()).add(row["name2"].strip().lower())
        groups = [frozenset({name, *(n for n in nicks if len(n) <= len(name))})
                  for name, nicks in sorted(short.items())]
        if len(groups) < 100:
            raise RuntimeError("the nicknames dataset read as almost empty: its names.csv "
                               "has changed shape")
        # A row listing a longer name as the nickname is kept, as a group of the two names,
        # only where the shorter is visibly a form of the longer (katie / katherine, topher /
        # christopher), not a name of its own (bill / robert, susan / hannah).
        pairs = [frozenset({name, n}) for name, nicks in sorted(short.items())
                 for n in sorted(nicks) if len(n) > len(name) and _short_form(name, n)]
        _NICKNAME_GROUPS.extend(groups + list(FRENCH_NAME_GROUPS) + pairs)
    return tuple(_NICKNAME_GROUPS)


_NICKNAME_GROUPS: list[frozenset[str]] = []


def _short_form(short: str, full: str) -> bool:
    """``short`` is a form of ``full``: it begins as ``full`` does (three letters) or is a part
    of it (topher in christopher)."""
    return full.startswith(short[:3]) or short in full

# Street-type words and their canonical abbreviation (Canada Post style), lowercased.
STREET_SUFFIXES: dict[str, str] = {
    "street": "st", "str": "st", "st": "st", "rue": "rue",
    "avenue": "ave", "av": "ave", "ave": "ave",
    "road": "rd", "rd": "rd", "drive": "dr", "dr": "dr",
    "boulevard": "blvd", "blvd": "blvd", "boul": "blvd",
    "crescent": "cres", "cres": "cres", "cr": "cres", "court": "crt", "crt": "crt", "ct": "crt",
    "place": "pl", "pl": "pl", "lane": "lane", "ln": "lane", "terrace": "terr", "terr": "terr",
    "circle": "cir", "cir": "cir", "way": "way", "trail": "trail", "trl": "trail",
    "parkway": "pky", "pky": "pky", "pkwy": "pky", "highway": "hwy", "hwy": "hwy",
    "square": "sq", "sq": "sq", "gate": "gate", "heights": "hts", "hts": "hts",
    "north": "n", "south": "s", "east": "e", "west": "w",
    "apartment": "unit", "apt": "unit", "suite": "unit", "ste": "unit", "unit": "unit", "#": "unit",
}
