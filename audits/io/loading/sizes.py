"""Sizes of files as a message gives them."""

from __future__ import annotations

MB = 1_000_000


def megabytes(size: float) -> str:
    if size >= 10 * MB:
        return f"{size / MB:,.0f} MB"
    return f"{size / MB:,.1f} MB" if size >= MB / 10 else f"{size / 1000:,.0f} KB"
