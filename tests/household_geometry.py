"""Geometry of a drawn household picture (the runbooks' SVG or the page's): which lines pass
through a node box they do not end at."""

from __future__ import annotations

import re
from xml.etree import ElementTree

SVG = "{http://www.w3.org/2000/svg}"
W, H = 180, 40  # reports/svg.py and report.js draw every node this size
_NUMBER = r"-?\d+(?:\.\d+)?"
_COMMAND = re.compile(rf"([MCHVL])((?:\s*{_NUMBER}(?:\s*,\s*{_NUMBER})?)*)")


def _points(d: str, steps: int = 60) -> list[tuple[float, float]]:
    """Points along a path of M, L, H, V and C commands (absolute), close enough together
    that a line through a 40 px box shows points inside it."""
    out: list[tuple[float, float]] = []
    x = y = 0.0
    for command, args in _COMMAND.findall(d):
        numbers = [float(n) for n in re.findall(_NUMBER, args)]
        if command == "M":
            x, y = numbers[0], numbers[1]
            out.append((x, y))
            continue
        if command == "C":
            (ax, ay, bx, by, ex, ey) = numbers[:6]
            for k in range(1, steps + 1):
                t = k / steps
                u = 1 - t
                out.append((u ** 3 * x + 3 * u * u * t * ax + 3 * u * t * t * bx + t ** 3 * ex,
                            u ** 3 * y + 3 * u * u * t * ay + 3 * u * t * t * by + t ** 3 * ey))
            x, y = ex, ey
            continue
        ex, ey = (numbers[0], y) if command == "H" else (x, numbers[0]) if command == "V" \
            else (numbers[0], numbers[1])
        for k in range(1, steps + 1):
            t = k / steps
            out.append((x + (ex - x) * t, y + (ey - y) * t))
        x, y = ex, ey
    return out


def crossings(svg_text: str) -> list[str]:
    """Each line of the picture that passes through the box of a node it does not join, as
    "<line's title> through <node>"; [] when none does."""
    root = ElementTree.fromstring(svg_text)
    boxes: dict[str, tuple[float, float]] = {}
    for group in root.iter(f"{SVG}g"):
        if "node" not in (group.get("class") or "").split():
            continue
        x, y = map(float, re.match(rf"translate\(({_NUMBER}),\s*({_NUMBER})\)",
                                   group.get("transform")).groups())
        who = group.find(f"{SVG}title").text.split(": ", 1)[0]
        boxes[who] = (x, y)
    found = []
    for path in root.iter(f"{SVG}path"):
        title = path.find(f"{SVG}title").text
        ends = set(title.split(": ", 1)[0].split(" \u2013 "))
        assert ends <= boxes.keys(), (title, sorted(boxes))
        points = _points(path.get("d"))
        for who, (x, y) in boxes.items():
            if who in ends:
                continue
            if any(x + 0.5 < px < x + W - 0.5 and y + 0.5 < py < y + H - 0.5
                   for px, py in points):
                found.append(f"{title} through {who}")
    return found
