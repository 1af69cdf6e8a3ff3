"""Small bar charts as SVG, drawn on the server: readable without JavaScript, with
a `<title>` and `<desc>` (what a screen reader says), axis labels, a legend, and
the Okabe-Ito palette, which people with any common colour blindness tell apart.
Every label is escaped (`bot.web.html`). The page shows the same numbers in a
table beside each chart."""

from __future__ import annotations

import math
from collections.abc import Sequence

from bot.web.html import Html, html, join

# Okabe & Ito, "Color Universal Design" (2008): blue, orange, bluish green, ...
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 36, 56
MAX_LABELS = 16  # x labels shown at most (every n-th beyond)


def nice_top(value: float) -> float:
    """The axis's top: 1, 2, 4 or 8 times a power of ten (quarters that read well:
    its four grid lines), at or above `value`."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1, 2, 4, 8, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _number(value: float) -> str:
    return f"{value:g}" if value == int(value) else f"{value:.1f}"


def _y_axis(top: float) -> list[Html]:
    """The y axis: 0 to `top` in four steps, with grid lines."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = []
    for tick in range(5):
        level = top * tick / 4
        y = TOP + plot_h - plot_h * tick / 4
        parts.append(
            html(
                '<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" class="grid"/>'
                '<text x="{tx}" y="{ty}" text-anchor="end" class="tick">{label}</text>',
                x1=LEFT,
                x2=LEFT + plot_w,
                y=f"{y:.1f}",
                tx=LEFT - 6,
                ty=f"{y + 4:.1f}",
                label=_number(level),
            )
        )
    return parts


def _legend(names: Sequence[str]) -> Html:
    """A swatch and name per series, each after the one before (about 7 px a letter)."""
    parts, x = [], LEFT
    for s, name in enumerate(names):
        parts.append(
            html(
                '<rect x="{x}" y="8" width="12" height="12" fill="{fill}"/>'
                '<text x="{tx}" y="18" class="tick">{name}</text>',
                x=x,
                tx=x + 16,
                fill=PALETTE[s % len(PALETTE)],
                name=name,
            )
        )
        x += 16 + 7 * len(name) + 24
    return join(parts, "")


def bar_chart(
    ident: str,
    title: str,
    desc: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    y_label: str,
) -> Html:
    """Grouped bars: one group per category, one bar per series (None: no bar).
    `ident` makes the element ids unique on the page."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    values = [v for _, vs in series for v in vs if v is not None]
    top = nice_top(max(values, default=0))
    group = plot_w / max(len(categories), 1)
    bar = group * 0.8 / max(len(series), 1)
    parts = _y_axis(top)
    every = max(1, math.ceil(len(categories) / MAX_LABELS))
    for n, category in enumerate(categories):
        x0 = LEFT + group * n + group * 0.1
        for s, (name, vs) in enumerate(series):
            value = vs[n] if n < len(vs) else None
            if value is None:
                continue
            h = plot_h * value / top
            parts.append(
                html(
                    '<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{fill}">'
                    "<title>{tip}</title></rect>",
                    x=f"{x0 + bar * s:.1f}",
                    y=f"{TOP + plot_h - h:.1f}",
                    w=f"{max(bar - 1, 1):.1f}",
                    h=f"{h:.1f}",
                    fill=PALETTE[s % len(PALETTE)],
                    tip=f"{category}: {name} {_number(value)}",
                )
            )
        if n % every == 0:
            parts.append(
                html(
                    '<text x="{x}" y="{y}" text-anchor="middle" class="tick">{label}</text>',
                    x=f"{LEFT + group * n + group / 2:.1f}",
                    y=TOP + plot_h + 16,
                    label=category,
                )
            )
    return html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img"'
        ' aria-labelledby="{id}-title {id}-desc" class="chart">\n'
        '<title id="{id}-title">{title}</title>\n<desc id="{id}-desc">{desc}</desc>\n'
        '{legend}\n{parts}\n<line x1="{left}" y1="{base}" x2="{right}" y2="{base}" class="axis"/>\n'
        '<text x="14" y="{mid}" transform="rotate(-90 14 {mid})" text-anchor="middle"'
        ' class="label">{y_label}</text>\n</svg>',
        w=WIDTH,
        h=HEIGHT,
        id=ident,
        title=title,
        desc=desc,
        legend=_legend([name for name, _ in series]),
        parts=join(parts, ""),
        left=LEFT,
        right=LEFT + plot_w,
        base=TOP + plot_h,
        mid=TOP + plot_h / 2,
        y_label=y_label,
    )
