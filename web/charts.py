"""The dashboard's charts as inline SVG, drawn on the server: no script, nothing for the page's CSP to refuse.

Pure functions: numbers and (already translated) words in, SVG markup out, every word escaped. Each chart is one
`role="img"` picture named by its <title> and described in words by its <desc> (the numbers, for a screen reader);
the page puts the same numbers in a table beside it, where they link to their records. The drawing is 360 units
wide, a phone's width, so its text is read at about its own size on a phone and grows with a wider screen.
"""

import math

from markupsafe import Markup, escape

WIDTH = 360
TEXT = "#1c2430"
MUTED = "#4a5565"
GRID = "#d5dae1"
THIS_YEAR = "#0b5cad"
LAST_YEAR = "#8a94a3"
EXEMPT = "#9cc3ea"


def nice_top(peak, ticks=4):
    """The top of a value axis and its step: a round step (1, 2 or 5 times a power of ten, at least 1) such that
    about `ticks` steps reach `peak`; (0, 0) when there is nothing to draw."""
    if peak <= 0:
        return 0, 0
    magnitude = 10 ** math.floor(math.log10(peak / ticks)) if peak >= ticks else 1
    step = next(int(m * magnitude) for m in (1, 2, 2.5, 5, 10)
                if m * magnitude == int(m * magnitude) and m * magnitude * ticks >= peak)
    return step * math.ceil(peak / step), step


def _number(n):
    """A count as drawn: digits with thousands separated by a thin space."""
    return f"{int(n):,}".replace(",", "\u2009")


def text_width(text):
    """About how wide a text is drawn at size 11: a Chinese character is square, a Latin one about half as wide."""
    return sum(11 if ord(c) > 0x2e80 else 6.5 for c in str(text))


def _svg(chart_id, height, title, desc, body):
    """The picture: named by its title, described by its desc, scaled to the width of its box."""
    return Markup(
        f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
        f'height="{height}" role="img" aria-labelledby="{escape(chart_id)}-title" '
        f'aria-describedby="{escape(chart_id)}-desc" xmlns="http://www.w3.org/2000/svg" '
        f'font-size="11" fill="{TEXT}">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>{body}</svg>')


def _legend(entries, y, right=WIDTH):
    """Coloured squares and their names, right-aligned on one line: entries are (name, colour)."""
    parts, x = [], right
    for name, colour in reversed(entries):
        x -= text_width(name) + 14 + 10  # the square, the gap and the name, and room before the next entry
        parts.append(f'<rect x="{x:.2f}" y="{y - 9}" width="10" height="10" fill="{colour}"/>'
                     f'<text class="legend" x="{x + 14:.2f}" y="{y}">{escape(name)}</text>')
    return "".join(reversed(parts))


def month_bars(this_year, last_year, labels, *, title, series, axis, chart_id="months"):
    """Two series of monthly counts as grouped bars, this year's beside last year's, with a value axis, the months
    under the bars, the axis titles `axis` = (months, values) and a legend naming `series` = (this, last)."""
    height, left, top, bottom = 230, 34, 34, 44
    plot_w, plot_h = WIDTH - left - 6, height - top - bottom
    peak, step = nice_top(max([0, *this_year, *last_year]))
    slot = plot_w / max(1, len(labels))
    bar = max(2.0, (slot - 6) / 2)
    body = [f'<text class="axis-label" x="0" y="12" fill="{MUTED}">{escape(axis[1])}</text>',
            _legend([(series[0], THIS_YEAR), (series[1], LAST_YEAR)], 12)]
    for tick in range(0, peak + 1, step) if step else [0]:
        y = top + plot_h - (tick / peak * plot_h if peak else 0)
        body.append(f'<line x1="{left}" x2="{WIDTH - 6}" y1="{y:.2f}" y2="{y:.2f}" stroke="{GRID}"/>'
                    f'<text class="tick" x="{left - 4}" y="{y + 4:.2f}" text-anchor="end">{_number(tick)}</text>')
    for i, label in enumerate(labels):
        x = left + i * slot + 3
        for offset, values, colour, name in ((0, this_year, THIS_YEAR, series[0]), (bar, last_year, LAST_YEAR,
                                                                                     series[1])):
            n = values[i] if i < len(values) else 0
            h = n / peak * plot_h if peak else 0
            body.append(f'<rect class="bar" x="{x + offset:.2f}" y="{top + plot_h - h:.2f}" width="{bar:.2f}" '
                        f'height="{h:.2f}" fill="{colour}" data-value="{int(n)}">'
                        f'<title>{escape(label)} {escape(name)}: {_number(n)}</title></rect>')
        body.append(f'<text class="month" x="{x + bar:.2f}" y="{top + plot_h + 14}" '
                    f'text-anchor="middle">{escape(label)}</text>')
    body.append(f'<line x1="{left}" x2="{WIDTH - 6}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="{MUTED}"/>'
                f'<text class="axis-label" x="{left + plot_w / 2:.2f}" y="{height - 6}" text-anchor="middle" '
                f'fill="{MUTED}">{escape(axis[0])}</text>')
    desc = "; ".join(f"{name}: " + ", ".join(f"{label} {_number(values[i] if i < len(values) else 0)}"
                                             for i, label in enumerate(labels))
                     for name, values in ((series[0], this_year), (series[1], last_year)))
    return _svg(chart_id, height, title, desc, "".join(body))


def agency_bars(rows, *, title, series, axis, chart_id="agencies"):
    """One horizontal bar per row, its name above it: `rows` are (name, counted, exempt), drawn as the counted part
    and the exempt part of the bar, the total at its end; `series` names the two parts, `axis` the values."""
    row_h, top, name_len = 30, 24, 28
    bar_w = WIDTH - 56
    peak = max([0, *(counted + exempt for _, counted, exempt in rows)])
    height = top + row_h * len(rows) + 22
    body = [_legend([(series[0], THIS_YEAR), (series[1], EXEMPT)], 12)]
    for i, (name, counted, exempt) in enumerate(rows):
        y = top + i * row_h
        shown = name if len(name) <= name_len else name[:name_len - 1] + "…"
        widths = [(n / peak * bar_w if peak else 0) for n in (counted, exempt)]
        body.append(f'<g class="agency"><title>{escape(name)}: {_number(counted)} + {_number(exempt)}</title>'
                    f'<text class="name" x="0" y="{y + 11}">{escape(shown)}</text>'
                    f'<rect class="bar counted" x="0" y="{y + 15}" width="{widths[0]:.2f}" height="12" '
                    f'fill="{THIS_YEAR}" data-value="{int(counted)}"/>'
                    f'<rect class="bar exempt" x="{widths[0]:.2f}" y="{y + 15}" width="{widths[1]:.2f}" height="12" '
                    f'fill="{EXEMPT}" data-value="{int(exempt)}"/>'
                    f'<text class="total" x="{sum(widths) + 4:.2f}" y="{y + 25}">{_number(counted + exempt)}</text>'
                    '</g>')
    body.append(f'<text class="axis-label" x="0" y="{height - 6}" fill="{MUTED}">{escape(axis)}</text>')
    desc = "; ".join(f"{name}: {series[0]} {_number(counted)}, {series[1]} {_number(exempt)}"
                     for name, counted, exempt in rows)
    return _svg(chart_id, height, title, desc, "".join(body))
