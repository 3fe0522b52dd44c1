"""The household picture drawn on the server, for the printable runbooks (the HTML report draws
the same picture in the browser from its JSON). Every label is escaped, so a name is text, and
shown by :func:`audits.io.cells.visible`, so no override in a name reverses the picture's words."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping

from html import escape

from markupsafe import Markup

from audits.io.cells import visible, visible_texts
from audits.model.findings import Finding

COLUMN = {"contact": 0, "staff": 0, "student": 1, "account": 2}
KIND_WORD = {"contact": "contact record", "student": "student", "account": "account",
             "staff": "staff record"}
FILL = {"student": "#eef7ee", "account": "#eaf1fb"}
EDGE_WORD = {"sibling": "sibling link", "holds-account": "holds the account", "can-see": "can see"}
EDGE_STYLE = {  # stroke, dash
    "sibling": ("#2e7d32", ""), "holds-account": ("#1565c0", ""), "can-see": ("#1565c0", "2 3"),
}
# The gap between columns holds the relationship labels, so it is wider than a label.
W, H, GAP_X, GAP_Y, PAD = 180, 40, 110, 18, 20
NODE_LABEL_CHARS, EDGE_LABEL_CHARS = 23, 16
LABEL_STYLE = ('font-size="10" fill="#5b6673" stroke="#fff" stroke-width="3" '
               'stroke-linejoin="round" paint-order="stroke"')  # a white halo over lines


def focus_refs(finding: Finding) -> set[str]:
    """The records the finding is about, outlined in red."""
    refs = set(finding.contacts) | set(finding.accounts) | set(finding.staff)
    if finding.check == "unlinked-siblings":
        refs |= set(finding.students)
    for pair in finding.pairs:
        refs |= set(pair)
    return refs


def _short(text: str, n: int = NODE_LABEL_CHARS) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


class _Labels:
    """Edge labels placed where no earlier label is (a contact linked to five students used to
    get five labels drawn over one another): each is a box of about 6 px a character, 12 px
    tall, moved up or down a line at a time until it is clear."""

    def __init__(self) -> None:
        self.placed: list[tuple[float, float, float]] = []

    def place(self, x: float, y: float, text: str, anchor: str = "middle") -> str:
        text = _short(text, EDGE_LABEL_CHARS)
        w = len(text) * 6 + 4
        left = x if anchor == "start" else x - w / 2
        for k in range(12):
            dy = (1 if k % 2 else -1) * ((k + 1) // 2) * 12
            top = y + dy - 10
            for bx, by, bw in self.placed:
                if left < bx + bw and bx < left + w and top < by + 12 and by < top + 12:
                    break
            else:  # clear of every earlier label
                y += dy
                break
        self.placed.append((left, y - 10, w))
        return (f'<text class="edge-label" x="{x}" y="{y}" text-anchor="{anchor}" '
                f"{LABEL_STYLE}>{_escaped_word(text)}</text>")


def _escape_each(texts: list[str]) -> list[str]:
    """``html.escape`` of each text, done once on the texts joined: escaping maps each
    character on its own, so the joined text splits back into the escaped texts."""
    texts = visible_texts(texts)
    joined = "\0".join(texts)
    if not any(char in joined for char in "&<>\"'"):
        return texts  # the usual case: nothing to escape, nothing to split
    if joined.count("\0") != len(texts) - 1:
        return [escape(text) for text in texts]
    return escape(joined).split("\0")


class _Slot:
    """A node's place in the picture. Slots are shared by every picture, so the lines between
    two of them are worked out once (:data:`_LINES`): formatting a float costs more than the
    rest of a line's markup."""

    __slots__ = ("x", "y", "right", "middle", "translate")

    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y
        self.right, self.middle = x + W, y + H / 2
        self.translate = f"translate({x},{y})"


_KEEP_AT_MOST = 50_000
"""Bounds the caches below, whatever households a hostile export makes."""
_SLOTS: dict[tuple[int, int], _Slot] = {}
"""Slots by (column, row): the same few dozen places in every picture."""

_LINES: dict[tuple[_Slot, _Slot, int],
             tuple[str, tuple[float, float], tuple[float, float]]] = {}
"""A line's path data, start and middle, by the slots it joins and the rows of the middle
column (a few hundred keys)."""


MAX_BULGE = (GAP_X - 12) / 0.75
"""The widest bulge of a line between two nodes of one column: its curve reaches three
quarters of the bulge out, which must stay inside the gap, short of the next column."""


def lane_y(lane: int) -> float:
    """The height of lane ``lane`` across the middle column: lane k runs through the gap above
    row k (lane 0 above the first row, the last below the last row), where no node is."""
    return PAD + lane * (H + GAP_Y) - GAP_Y / 2


def _line_geometry(one: _Slot, two: _Slot, middle_rows: int = 0):
    """The path of a line between two slots: a bulge out to the right between two nodes of
    one column; a curve from the left node's right side to the right node's left side between
    neighbouring columns; and between the outer columns (a staff record and its account), a
    line that crosses the middle column through the gap between two of its ``middle_rows``
    rows, so it never runs through a student it has nothing to do with."""
    if one.x == two.x:
        x1, y1, y2 = one.right, one.middle, two.middle
        bulge = min(MAX_BULGE, 30 + abs(y2 - y1) / 4)
        bulged = x1 + bulge
        d = f"M{x1},{y1} C{bulged},{y1} {bulged},{y2} {x1},{y2}"
        mid = (x1 + bulge * 0.75, (y1 + y2) / 2)
        return d, (x1, y1), mid
    if (two.x, two.y) < (one.x, one.y):
        one, two = two, one
    x1, y1, x2, y2 = one.right, one.middle, two.x, two.middle
    if two.x - one.x > W + GAP_X and middle_rows:
        # Into the first gap, along the lane nearest both ends, out of the second gap.
        lane = min(range(middle_rows + 1),
                   key=lambda k: (abs(lane_y(k) - y1) + abs(lane_y(k) - y2),
                                  abs(lane_y(k) - (y1 + y2) / 2)))
        y = lane_y(lane)
        first, second = x1 + GAP_X / 2, two.x - GAP_X / 2
        d = f"M{x1},{y1} H{first} V{y} H{second} V{y2} H{x2}"
        return d, (x1, y1), ((first + second) / 2, y)
    half = (x1 + x2) / 2
    d = f"M{x1},{y1} C{half},{y1} {half},{y2} {x2},{y2}"
    return d, (x1, y1), (half, (y1 + y2) / 2)


_NODE_BOX: dict[tuple[str, bool], str] = {}
"""A node's ``<rect>`` and the start of its label, by kind and focus: the same few strings."""


def _slot(column: int, row: int) -> _Slot:
    slot = _SLOTS.get((column, row))
    if slot is None:
        slot = _Slot(PAD + column * (W + GAP_X), PAD + row * (H + GAP_Y))
        if len(_SLOTS) < _KEEP_AT_MOST:
            _SLOTS[(column, row)] = slot
    return slot


def _node_box(kind: str, focus: bool) -> str:
    box = _NODE_BOX.get((kind, focus))
    if box is None:
        box = (f'<rect width="{W}" height="{H}" rx="{18 if kind == "student" else 5}" '
               f'fill="{FILL.get(kind, "#f6f3ee")}" stroke="{"#c0392b" if focus else "#8a96a3"}" '
               f'stroke-width="{3 if focus else 1}"/>'
               f'<text x="10" y="16" font-size="12">')
        if kind in KIND_WORD:  # kinds outside the known few are not kept
            _NODE_BOX[(kind, focus)] = box
    return box


def node_order(finding: Finding) -> list[Mapping[str, Any]]:
    """The household's nodes in the order the picture stacks each column (contact and staff
    records, students, accounts), chosen so that few lines cross: the finding's own records
    first in their column, then each column sorted by the mean row of the nodes it is linked
    to in the columns beside it (the barycentre heuristic of layered drawings), a few sweeps
    back and forth, keeping the order with the fewest crossings. Each column's order is
    otherwise the snapshot's, so the same household always draws the same."""
    household: Mapping[str, Any] = finding.household or {}
    nodes = list(household.get("nodes", []))
    if len(nodes) < 3:
        return nodes
    index_of = {node["id"]: k for k, node in enumerate(nodes)}
    lines = []
    for edge in household.get("edges", []):
        a, b = index_of.get(edge.get("source")), index_of.get(edge.get("target"))
        if a is not None and b is not None and a != b:
            lines.append((a, b))
    if len(lines) < 2:
        return nodes  # one line crosses nothing
    hot = focus_refs(finding)
    # Households of one shape (kinds, the finding's own records, the lines) are laid out
    # once: a board's families repeat a few dozen shapes.
    order = _order(tuple(COLUMN.get(node.get("kind"), 2) for node in nodes),
                   tuple(str(node.get("ref")) in hot for node in nodes), tuple(lines))
    return nodes if order is None else [nodes[k] for k in order]


@lru_cache(maxsize=8192)
def _order(column_of: tuple[int, ...], own: tuple[bool, ...],
           lines: tuple[tuple[int, int], ...]) -> tuple[int, ...] | None:
    """:func:`node_order` by positions: the nodes' order, or None to keep the snapshot's."""
    columns: list[list[int]] = [[], [], []]
    for k, column in enumerate(column_of):
        columns[column].append(k)
    neighbours: list[list[int]] = [[] for _ in column_of]
    for a, b in lines:
        neighbours[a].append(b)
        neighbours[b].append(a)
    row = [0.0] * len(column_of)
    for column in columns:
        for r, k in enumerate(column):
            row[k] = float(r)

    def sort(c: int, sides: tuple[int, ...]) -> None:
        column = columns[c]
        centre = {}
        for r, k in enumerate(column):
            near = [row[j] for j in neighbours[k] if column_of[j] in sides]
            centre[k] = sum(near) / len(near) if near else float(r)
        # Contact records keep the finding's own first (the red outlines at the top).
        column.sort(key=lambda k: (not own[k], centre[k]) if c == 0 else centre[k])
        for r, k in enumerate(column):
            row[k] = float(r)

    start = _crossings(columns, neighbours, column_of)
    if not start:
        return None
    best = (start, [list(c) for c in columns])
    for sweep in range(4):
        if sweep % 2 == 0:
            sort(1, (0,))
            sort(2, (1, 0))
        else:
            sort(1, (2,)) if columns[2] else sort(1, (0,))
            sort(0, (1,))
        count = _crossings(columns, neighbours, column_of)
        if count < best[0]:
            best = (count, [list(c) for c in columns])
        if not count:
            break
    return None if best[0] == start else tuple(k for column in best[1] for k in column)


def _crossings(columns, neighbours, column_of) -> int:
    """Crossings between the lines of neighbouring columns (0 and 1, 1 and 2), by the rows of
    their ends: two lines cross when their ends are in opposite orders."""
    place = [0] * len(column_of)
    for column in columns:
        for r, k in enumerate(column):
            place[k] = r
    count = 0
    for left in (0, 1):
        lines = sorted((place[k], place[j]) for k in columns[left] for j in neighbours[k]
                       if column_of[j] == left + 1)
        for i, (a1, b1) in enumerate(lines):
            for a2, b2 in lines[i + 1:]:
                if a1 != a2 and (b1 - b2) * (a1 - a2) < 0:
                    count += 1
    return count


def household_svg(finding: Finding) -> Markup:
    """The household picture of one finding, as SVG markup (empty without a household)."""
    return Markup(household_svg_text(finding))


def household_svg_text(finding: Finding) -> str:
    """:func:`household_svg` as a plain string, for pages that join many pictures (making
    each one ``Markup`` copies it once more).

    Drawn for every finding of a board, so the work per finding is kept to joining strings:
    every text is escaped in one call per finding, and the numbers of each place in the
    picture are written out once per run (:class:`_Slot`)."""
    household: Mapping[str, Any] = finding.household or {}
    nodes = node_order(finding)
    if not nodes:
        return ""
    picture = _Picture(finding, nodes)
    width = PAD * 2 + 3 * W + 2 * GAP_X + 40
    height = PAD * 2 + max(picture.rows) * (H + GAP_Y)
    parts = picture.parts
    parts.append(f'<svg xmlns="http://www.w3.org/2000/svg" class="household" width="{width}" '
                 f'height="{height}" viewBox="0 0 {width} {height}" role="img">'
                 f"<title>Household of {picture.escaped[0]}</title>")
    boxes = picture.boxes(nodes, focus_refs(finding))
    relationships = picture.edges(household.get("edges", []))
    parts += picture.labels(relationships, finding.pairs)  # after every line: none covers it
    parts += boxes
    parts.append("</svg>")
    return "".join(parts)


class _Picture:
    """One household picture being drawn: each node's place and words, and the markup so far
    (``parts``). ``texts`` holds the finding id, then four texts per node (kind, ref, label,
    short label); ``escaped`` the same, escaped."""

    def __init__(self, finding: Finding, nodes: list[Mapping[str, Any]]) -> None:
        self.rows = [0, 0, 0]
        self.at: dict[str, _Slot] = {}
        self.by_ref: dict[str, str] = {}
        self.texts = [finding.id]
        for node in nodes:
            column = COLUMN.get(node.get("kind"), 2)
            node_id = node["id"]
            self.at[node_id] = _slot(column, self.rows[column])
            self.rows[column] += 1
            ref = str(node.get("ref"))
            self.by_ref.setdefault(ref, node_id)
            label = str(node.get("label", ""))
            self.texts += (str(node.get("kind", "")), ref, label, _short(label))
        self.escaped = _escape_each(self.texts)
        self.who: dict[str, str] = {}
        self.parts: list[str] = []

    def boxes(self, nodes: list[Mapping[str, Any]], hot) -> list[str]:
        """Each node's box, to draw after the lines so no line covers it; sets each node's
        words ("contact record C104", escaped; a line names the last node of an id)."""
        texts, escaped = self.texts, self.escaped
        boxes = []
        for k, node in enumerate(nodes):
            i = 4 * k + 1
            kind, node_id = node.get("kind", ""), node["id"]
            words = self.who[node_id] = f"{KIND_WORD.get(texts[i], escaped[i])} {escaped[i + 1]}"
            focus = texts[i + 1] in hot
            boxes.append(
                f'<g class="node {escaped[i]}" transform="{self.at[node_id].translate}">'
                f"<title>{words}: {escaped[i + 2]}</title>"
                f"{_NODE_BOX.get((kind, focus)) or _node_box(kind, focus)}{escaped[i + 3]}"
                f'</text><text x="10" y="31" font-size="10" fill="#5b6673">{words}</text></g>')
        return boxes

    def line(self, a: str, b: str, head: tuple[str, str], tip: str):
        """Draws the edge (``head``: its markup around the path data); returns (start,
        middle, left-hand node) for its label."""
        one, two = self.at.get(a), self.at.get(b)
        if one is None or two is None:
            return None
        key = (one, two, self.rows[1] if abs(one.x - two.x) > W + GAP_X else 0)
        geometry = _LINES.get(key)
        if geometry is None:
            geometry = _line_geometry(one, two, key[2])
            if len(_LINES) < _KEEP_AT_MOST:
                _LINES[key] = geometry
        self.parts.append(
            f"{head[0]}{geometry[0]}{head[1]}{self.who[a]} – {self.who[b]}: {tip}</title></path>")
        return geometry[1], geometry[2], (a if one.x <= two.x else b)

    def edges(self, edges) -> dict[str, tuple[tuple[float, float], list[str]]]:
        """Draws the household's edges; returns, by contact, where its lines start and its
        relationships: a relationship is written once, beside the contact (usually the same
        word for each child); the legend explains the other line styles."""
        relationships: dict[str, tuple[tuple[float, float], list[str]]] = {}
        for edge in edges:
            kind = edge.get("kind", "")
            if kind != "contact-of":
                head = _EDGE_HEADS.get(kind)
                if head is None:
                    stroke, dash = EDGE_STYLE.get(kind, ("#999", ""))
                    head = _edge_head(escape(visible(kind)), stroke, dash)
                self.line(edge["source"], edge["target"], head,
                          _escaped_word(EDGE_WORD.get(kind, kind)))
                continue
            rel = str(edge.get("relationship") or "")
            if edge.get("portal_access"):
                head, access = _CONTACT_OF_HEAD, ", portal access"
            else:
                head, access = _CONTACT_OF_NO_ACCESS_HEAD, ", no portal access"
            drawn = self.line(edge["source"], edge["target"], head,
                              (_escaped_word(rel) if rel else "contact") + access)
            if drawn and rel:
                start, _, left = drawn
                words = relationships.setdefault(left, (start, []))[1]
                if rel not in words:
                    words.append(rel)
        return relationships

    def labels(self, relationships, pairs) -> list[str]:
        """The relationships' labels; draws each missing link (``pairs``) with its label."""
        labels = _Labels()
        pending = [labels.place(x + 6, y - 5, " / ".join(words), "start")
                   for (x, y), words in relationships.values()]
        for a, b in pairs:
            if a in self.by_ref and b in self.by_ref:
                drawn = self.line(self.by_ref[a], self.by_ref[b], _MISSING_HEAD, "missing link")
                if drawn:
                    pending.append(labels.place(drawn[1][0], drawn[1][1] - 3, "missing"))
        return pending


def _edge_head(cls: str, stroke: str, dash: str) -> tuple[str, str]:
    """The markup of a line before and after its path data."""
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<path class="edge {cls}" d="',
            f'" fill="none" stroke="{stroke}" stroke-width="1.5"{dash_attr}><title>')


_EDGE_HEADS = {kind: _edge_head(kind, stroke, dash) for kind, (stroke, dash) in EDGE_STYLE.items()}
_CONTACT_OF_HEAD = _edge_head("contact-of", "#6b7785", "")
_CONTACT_OF_NO_ACCESS_HEAD = _edge_head("contact-of", "#6b7785", "5 4")
_MISSING_HEAD = _edge_head("missing", "#c0392b", "6 4")


@lru_cache(maxsize=1024)
def _escaped_word(text: str) -> str:
    """A relationship or edge word, escaped: the same few words on every household."""
    return escape(visible(text))
