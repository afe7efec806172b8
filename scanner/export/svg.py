"""Tiny inline SVG charts (no scripts, no external resources). Every label is escaped."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from scanner.safetext import display

PALETTE = ("#2f5fd0", "#d2452f", "#e59b1f", "#2e8b57", "#7a4cc2", "#4d8fd6", "#8a94a6", "#b5651d")
SEVERITY_COLOURS = {"critical": "#8e1b1b", "high": "#d2452f", "medium": "#e59b1f", "low": "#4d8fd6",
                    "info": "#8a94a6"}


def _label(text: str, limit: int = 22) -> str:
    text = display(text)
    return escape(text if len(text) <= limit else text[: limit - 1] + "…")


def bar_chart(items: Sequence[tuple[str, int]], *, title: str, colours: dict[str, str] | None = None,
              width: int = 420) -> str:
    """Horizontal bars, one per (label, value)."""
    if not items:
        return f'<p class="empty">{escape(title)}: nothing to chart</p>'
    row, label_w, pad = 24, 175, 40
    height = row * len(items) + 30
    top = max(v for _, v in items) or 1
    bar_w = width - label_w - pad
    parts = [f'<svg role="img" aria-label="{escape(title)}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
             f'<title>{escape(title)}</title>',
             f'<text x="0" y="14" font-size="13" font-weight="bold" fill="#1d2330">{escape(title)}</text>']
    for i, (label, value) in enumerate(items):
        y = 24 + i * row
        colour = (colours or {}).get(label, PALETTE[i % len(PALETTE)])
        w = max(2, round(bar_w * value / top)) if value else 0
        parts.append(f'<text x="{label_w - 8}" y="{y + 15}" font-size="12" text-anchor="end" fill="#1d2330">'
                     f'{_label(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{w}" height="{row - 8}" rx="3" fill="{colour}"/>')
        parts.append(f'<text x="{label_w + w + 6}" y="{y + 15}" font-size="12" fill="#1d2330">{value}</text>')
    parts.append("</svg>")
    return "".join(parts)


def column_chart(columns: Sequence[tuple[str, dict[str, int]]], series: Sequence[tuple[str, str]], *, title: str,
                 width: int = 1180, height: int = 240) -> str:
    """Grouped columns over time: ``columns`` = [(x label, {series: value})], ``series`` = [(key, colour)]."""
    if not columns:
        return f'<p class="empty">{escape(title)}: no scan runs in this export</p>'
    left, bottom, top_pad = 40, 46, 34
    plot_h = height - bottom - top_pad
    top = max((v for _, vals in columns for v in vals.values()), default=0) or 1
    slot = (width - left - 10) / len(columns)
    bar = max(3.0, min(26.0, slot / (len(series) + 1)))
    parts = [f'<svg role="img" aria-label="{escape(title)}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
             f'<title>{escape(title)}</title>',
             f'<text x="0" y="14" font-size="13" font-weight="bold" fill="#1d2330">{escape(title)}</text>']
    lx = 360
    for key, colour in series:
        parts.append(f'<rect x="{lx}" y="4" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{lx + 16}" y="14" font-size="12" fill="#1d2330">{escape(key)}</text>')
        lx += 24 + 8 * len(key)
    base = top_pad + plot_h
    parts.append(f'<line x1="{left}" y1="{base}" x2="{width - 10}" y2="{base}" stroke="#8a94a6"/>')
    parts.append(f'<text x="{left - 6}" y="{top_pad + 10}" font-size="11" text-anchor="end" '
                 f'fill="#5b6475">{top}</text>')
    step = max(1, len(columns) // 14)
    for i, (label, values) in enumerate(columns):
        x0 = left + i * slot + (slot - bar * len(series)) / 2
        for j, (key, colour) in enumerate(series):
            v = values.get(key, 0)
            h = plot_h * v / top
            parts.append(f'<rect x="{x0 + j * bar:.1f}" y="{base - h:.1f}" width="{bar - 1:.1f}" height="{h:.1f}" '
                         f'fill="{colour}"><title>{escape(label)} {escape(key)}: {v}</title></rect>')
        if i % step == 0:
            parts.append(f'<text x="{left + i * slot + slot / 2:.1f}" y="{base + 16}" font-size="11" '
                         f'text-anchor="middle" fill="#5b6475">{_label(label, 16)}</text>')
    parts.append("</svg>")
    return "".join(parts)
