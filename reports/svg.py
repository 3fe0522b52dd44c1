"""The household picture drawn on the server, for the printable runbooks (the HTML report draws
the same picture in the browser from its JSON). Every label is escaped, so a name is text."""

from __future__ import annotations

from typing import Any, Mapping

from html import escape

from markupsafe import Markup

from audits.findings import Finding

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
            if not any(left < bx + bw and bx < left + w and top < by + 12 and by < top + 12
                       for bx, by, bw in self.placed):
                y += dy
                break
        self.placed.append((left, y - 10, w))
        return (f'<text class="edge-label" x="{x}" y="{y}" text-anchor="{anchor}" '
                f"{LABEL_STYLE}>{escape(text)}</text>")


def household_svg(finding: Finding) -> Markup:
    household: Mapping[str, Any] = finding.household or {}
    nodes = list(household.get("nodes", []))
    if not nodes:
        return Markup("")
    rows = [0, 0, 0]
    at: dict[str, tuple[int, int]] = {}
    by_ref: dict[str, str] = {}
    node_of: dict[str, Mapping[str, Any]] = {}
    for node in nodes:
        column = COLUMN.get(node.get("kind"), 2)
        at[node["id"]] = (PAD + column * (W + GAP_X), PAD + rows[column] * (H + GAP_Y))
        rows[column] += 1
        by_ref.setdefault(str(node.get("ref")), node["id"])
        node_of[node["id"]] = node
    width = PAD * 2 + 3 * W + 2 * GAP_X + 40
    height = PAD * 2 + max(rows) * (H + GAP_Y)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="household" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img">',
             f"<title>{escape('Household of ' + finding.id)}</title>"]

    who_of: dict[str, str] = {}  # each node's words, worked out once for all its edges

    def who(node_id: str) -> str:
        words = who_of.get(node_id)
        if words is None:
            node = node_of[node_id]
            kind = str(node.get("kind", ""))
            words = who_of[node_id] = f"{KIND_WORD.get(kind, kind)} {node.get('ref')}"
        return words

    def line(a: str, b: str, stroke: str, dash: str, tip: str, cls: str):
        """Draws the edge; returns (start, middle, left-hand node) for its label."""
        if a not in at or b not in at:
            return None
        (ax, ay), (bx, by) = at[a], at[b]
        if ax == bx:
            x1, y1, x2, y2 = ax + W, ay + H / 2, bx + W, by + H / 2
            bulge = 30 + abs(y2 - y1) / 4
            d = f"M{x1},{y1} C{x1 + bulge},{y1} {x2 + bulge},{y2} {x2},{y2}"
            mid = (x1 + bulge * 0.75, (y1 + y2) / 2)
        else:
            (lx_, ly_), (rx_, ry_) = sorted([(ax, ay), (bx, by)])
            x1, y1, x2, y2 = lx_ + W, ly_ + H / 2, rx_, ry_ + H / 2
            half = (x1 + x2) / 2
            d = f"M{x1},{y1} C{half},{y1} {half},{y2} {x2},{y2}"
            mid = (half, (y1 + y2) / 2)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<path class="edge {cls}" d="{d}" fill="none" stroke="{stroke}" '
                     f'stroke-width="1.5"{dash_attr}><title>'
                     f"{escape(who(a) + ' – ' + who(b) + ': ' + tip)}</title></path>")
        return (x1, y1), mid, (a if ax <= bx else b)

    # A contact's relationship is written once, beside the contact where its lines start
    # (usually the same word for each child); the legend explains the other line styles.
    relationships: dict[str, tuple[tuple[float, float], list[str]]] = {}
    for edge in household.get("edges", []):
        kind = edge.get("kind", "")
        if kind == "contact-of":
            rel = str(edge.get("relationship") or "")
            access = ", portal access" if edge.get("portal_access") else ", no portal access"
            drawn = line(edge["source"], edge["target"], "#6b7785",
                         "" if edge.get("portal_access") else "5 4", (rel or "contact") + access,
                         "contact-of")
            if drawn and rel:
                start, _, left = drawn
                words = relationships.setdefault(left, (start, []))[1]
                if rel not in words:
                    words.append(rel)
        else:
            stroke, dash = EDGE_STYLE.get(kind, ("#999", ""))
            line(edge["source"], edge["target"], stroke, dash, EDGE_WORD.get(kind, kind), kind)
    labels = _Labels()
    pending = [labels.place(x + 6, y - 5, " / ".join(words), "start")
               for (x, y), words in relationships.values()]
    for a, b in finding.pairs:
        if a in by_ref and b in by_ref:
            drawn = line(by_ref[a], by_ref[b], "#c0392b", "6 4", "missing link", "missing")
            if drawn:
                pending.append(labels.place(drawn[1][0], drawn[1][1] - 3, "missing"))
    parts += pending  # after every line, so no line covers a label
    hot = focus_refs(finding)
    for node in nodes:
        x, y = at[node["id"]]
        kind, ref, label = node.get("kind", ""), str(node.get("ref")), str(node.get("label", ""))
        focus = ref in hot
        parts.append(
            f'<g class="node {escape(kind)}" transform="translate({x},{y})">'
            f"<title>{escape(KIND_WORD.get(kind, kind) + ' ' + ref + ': ' + label)}</title>"
            f'<rect width="{W}" height="{H}" rx="{18 if kind == "student" else 5}" '
            f'fill="{FILL.get(kind, "#f6f3ee")}" stroke="{"#c0392b" if focus else "#8a96a3"}" '
            f'stroke-width="{3 if focus else 1}"/>'
            f'<text x="10" y="16" font-size="12">{escape(_short(label))}</text>'
            f'<text x="10" y="31" font-size="10" fill="#5b6673">'
            f"{escape(KIND_WORD.get(kind, kind) + ' ' + ref)}</text></g>")
    parts.append("</svg>")
    return Markup("".join(parts))
