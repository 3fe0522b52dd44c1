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
EDGE_STYLE = {  # stroke, dash
    "sibling": ("#2e7d32", ""), "holds-account": ("#1565c0", ""), "can-see": ("#1565c0", "2 3"),
}
W, H, GAP_X, GAP_Y, PAD = 190, 40, 70, 18, 20


def focus_refs(finding: Finding) -> set[str]:
    """The records the finding is about, outlined in red."""
    refs = set(finding.contacts) | set(finding.accounts) | set(finding.staff)
    if finding.check == "unlinked-siblings":
        refs |= set(finding.students)
    for pair in finding.pairs:
        refs |= set(pair)
    return refs


def _short(text: str, n: int = 28) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def household_svg(finding: Finding) -> Markup:
    household: Mapping[str, Any] = finding.household or {}
    nodes = list(household.get("nodes", []))
    if not nodes:
        return Markup("")
    rows = [0, 0, 0]
    at: dict[str, tuple[int, int]] = {}
    by_ref: dict[str, str] = {}
    for node in nodes:
        column = COLUMN.get(node.get("kind"), 2)
        at[node["id"]] = (PAD + column * (W + GAP_X), PAD + rows[column] * (H + GAP_Y))
        rows[column] += 1
        by_ref.setdefault(str(node.get("ref")), node["id"])
    width = PAD * 2 + 3 * W + 2 * GAP_X + 40
    height = PAD * 2 + max(rows) * (H + GAP_Y)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="household" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img">',
             f"<title>{escape('Household of ' + finding.id)}</title>"]

    def line(a: str, b: str, stroke: str, dash: str, label: str, cls: str) -> None:
        if a not in at or b not in at:
            return
        (ax, ay), (bx, by) = at[a], at[b]
        if ax == bx:
            x1, y1, x2, y2 = ax + W, ay + H / 2, bx + W, by + H / 2
            bulge = 30 + abs(y2 - y1) / 4
            d = f"M{x1},{y1} C{x1 + bulge},{y1} {x2 + bulge},{y2} {x2},{y2}"
            lx = x1 + 30
        else:
            (lx_, ly_), (rx_, ry_) = sorted([(ax, ay), (bx, by)])
            x1, y1, x2, y2 = lx_ + W, ly_ + H / 2, rx_, ry_ + H / 2
            mid = (x1 + x2) / 2
            d = f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}"
            lx = mid
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<path class="edge {cls}" d="{d}" fill="none" stroke="{stroke}" '
                     f'stroke-width="1.5"{dash_attr}/>')
        if label:
            parts.append(f'<text x="{lx}" y="{(y1 + y2) / 2 - 3}" text-anchor="middle" '
                         f'font-size="10" fill="#5b6673">{escape(_short(label, 22))}</text>')

    for edge in household.get("edges", []):
        kind = edge.get("kind", "")
        if kind == "contact-of":
            line(edge["source"], edge["target"], "#6b7785",
                 "" if edge.get("portal_access") else "5 4", str(edge.get("relationship") or ""),
                 "contact-of")
        else:
            stroke, dash = EDGE_STYLE.get(kind, ("#999", ""))
            line(edge["source"], edge["target"], stroke, dash, kind.replace("-", " "), kind)
    for a, b in finding.pairs:
        if a in by_ref and b in by_ref:
            line(by_ref[a], by_ref[b], "#c0392b", "6 4", "missing", "missing")
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
