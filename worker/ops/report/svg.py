"""Bar charts as inline SVG: no JavaScript, no web fonts, nothing fetched — the report is
opened from a USB stick in a council meeting room as often as from a server."""

from __future__ import annotations

from html import escape
from typing import Mapping, Sequence

#: colours per outcome, readable by people with the common colour-vision deficiencies
OUTCOME_COLOURS = {"on_time": "#1b7837", "late": "#e08214", "corrected": "#2166ac",
                   "retracted": "#762a83", "failed": "#b2182b", "pending": "#878787",
                   "cancelled": "#bababa", "not_synced": "#4d4d4d"}
DEFAULT_COLOUR = "#2b6c8f"


def bar_chart(values: Mapping[str, int], *, title: str, colours: Mapping[str, str] | None = None,
              width: int = 640, bar_height: int = 22, label_width: int = 240) -> str:
    """A horizontal bar chart, one bar per key (in the mapping's order), value at the bar's
    end. Horizontal bars leave room for long labels (department and account names)."""
    colours = colours or {}
    items = list(values.items())
    top = 28
    height = top + max(1, len(items)) * (bar_height + 6) + 8
    peak = max((v for _, v in items), default=0) or 1
    room = width - label_width - 60
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
             f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'aria-label="{escape(title)}">',
             f'<title>{escape(title)}</title>',
             f'<text x="0" y="18" class="chart-title" font-size="15" font-weight="bold" '
             f'fill="#222">{escape(title)}</text>']
    if not items:
        parts.append(f'<text x="0" y="{top + 16}" font-size="13" fill="#555">no data</text>')
    for i, (label, value) in enumerate(items):
        y = top + i * (bar_height + 6)
        length = max(2, round(room * value / peak)) if value else 0
        colour = colours.get(label, DEFAULT_COLOUR)
        parts += [f'<text x="{label_width - 8}" y="{y + bar_height - 6}" text-anchor="end" '
                  f'font-size="13" fill="#222">{escape(label)}</text>',
                  f'<rect x="{label_width}" y="{y}" width="{length}" height="{bar_height}" '
                  f'fill="{colour}"><title>{escape(label)}: {value}</title></rect>',
                  f'<text x="{label_width + length + 6}" y="{y + bar_height - 6}" font-size="13" '
                  f'fill="#222">{value}</text>']
    parts.append("</svg>")
    return "\n".join(parts)


def column_chart(labels: Sequence[str], values: Sequence[int], *, title: str,
                 width: int = 900, height: int = 260, colour: str = DEFAULT_COLOUR) -> str:
    """Vertical columns (posts per month): labels under the columns, values above."""
    n = max(1, len(labels))
    top, bottom, left = 44, 40, 10
    slot = (width - left * 2) / n
    bar = max(4.0, slot * 0.7)
    peak = max(values, default=0) or 1
    room = height - top - bottom
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
             f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'aria-label="{escape(title)}">',
             f'<title>{escape(title)}</title>',
             f'<text x="0" y="18" font-size="15" font-weight="bold" fill="#222">{escape(title)}</text>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - left}" y2="{height - bottom}" '
             'stroke="#999" stroke-width="1"/>']
    for i, (label, value) in enumerate(zip(labels, values)):
        x = left + i * slot + (slot - bar) / 2
        h = round(room * value / peak) if value else 0
        y = height - bottom - h
        parts += [f'<rect x="{x:.1f}" y="{y}" width="{bar:.1f}" height="{h}" fill="{colour}">'
                  f'<title>{escape(label)}: {value}</title></rect>',
                  f'<text x="{x + bar / 2:.1f}" y="{y - 4}" text-anchor="middle" font-size="12" '
                  f'fill="#222">{value}</text>',
                  f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                  f'font-size="12" fill="#222">{escape(label)}</text>']
    parts.append("</svg>")
    return "\n".join(parts)
