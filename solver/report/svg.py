"""Small charts as inline SVG, drawn without any library: readable without explanation.

Every chart has a title, labelled axes with units, tick labels (dates on a time
axis), a legend that fits beside it, and intervals drawn as whiskers or bands.
The SVG is text in the page (reports, the console): no image files, no network,
no matplotlib, and fast enough to draw on each request.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

# Colours that keep >= 3:1 against white and stay apart for common colour blindness (Okabe-Ito).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#8A6D00", "#56B4E9", "#000000")
WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 78, 170, 34, 58  # margins: y labels, legend, title, x labels
MARKED_POINTS = 60  # a line of at most this many points draws each one as a dot


@dataclass(frozen=True)
class Band:
    """A series with an interval at each x: the line is `mid`, the band `low`..`high`."""

    mid: Sequence[float]
    low: Sequence[float]
    high: Sequence[float]


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering low..high (1, 2, 2.5 or 5 times a power of ten apart)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0, 1.0]
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value < high + step * 0.999:
        ticks.append(round(value, 10))
        value += step
    return ticks


def short_number(value: float) -> str:
    """'1.2M', '35k', '0.85', '12': tick labels that fit."""
    magnitude = abs(value)
    if magnitude >= 1e6:
        return f"{value / 1e6:g}M"
    if magnitude >= 1e4:
        return f"{value / 1e3:g}k"
    if magnitude >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:.2g}" if magnitude < 1 else f"{value:.3g}"


def tick_labels(ticks: Sequence[float]) -> list[str]:
    """Labels for evenly spaced ticks, as many decimals as their step needs (0.975, 0.98 apart)."""
    if len(ticks) < 2 or max(abs(t) for t in ticks) >= 1e4:
        return [short_number(t) for t in ticks]
    step = abs(ticks[1] - ticks[0]) or 1.0
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    if step * 10**decimals % 1 > 1e-6:  # 2.5 x 10^k steps need one more
        decimals += 1
    return [f"{t:,.{decimals}f}" for t in ticks]


class _Frame:
    """Maps data to pixels and writes the axes, title and legend."""

    def __init__(self, title: str, x_label: str, y_label: str, y_low: float, y_high: float,
                 width: int = WIDTH, height: int = HEIGHT, legend: bool = True) -> None:
        self.width, self.height = width, height
        self.right = RIGHT if legend else 20
        self.y_ticks = nice_ticks(y_low, y_high)
        self.y0, self.y1 = self.y_ticks[0], self.y_ticks[-1]
        self.parts = [f"<title>{_esc(title)}</title>",
                      f"<text x='{width / 2}' y='20' text-anchor='middle' font-size='15' "
                      f"font-weight='bold' fill='#111'>{_esc(title)}</text>",
                      f"<text x='{LEFT + self.plot_width / 2}' y='{height - 8}' text-anchor='middle' "
                      f"font-size='13' fill='#111'>{_esc(x_label)}</text>",
                      f"<text transform='translate(16,{TOP + self.plot_height / 2}) rotate(-90)' "
                      f"text-anchor='middle' font-size='13' fill='#111'>{_esc(y_label)}</text>"]
        for tick, text in zip(self.y_ticks, tick_labels(self.y_ticks), strict=True):
            y = self.y(tick)
            self.parts.append(f"<line x1='{LEFT}' x2='{LEFT + self.plot_width}' y1='{y:.1f}' y2='{y:.1f}' "
                              "stroke='#ddd'/>")
            self.parts.append(f"<text x='{LEFT - 6}' y='{y + 4:.1f}' text-anchor='end' font-size='12' "
                              f"fill='#222'>{_esc(text)}</text>")
        self.parts.append(f"<line x1='{LEFT}' x2='{LEFT}' y1='{TOP}' y2='{TOP + self.plot_height}' "
                          "stroke='#444'/>")
        self.parts.append(f"<line x1='{LEFT}' x2='{LEFT + self.plot_width}' y1='{TOP + self.plot_height}' "
                          f"y2='{TOP + self.plot_height}' stroke='#444'/>")
        self.legend_rows = 0

    @property
    def plot_width(self) -> float:
        return self.width - LEFT - self.right

    @property
    def plot_height(self) -> float:
        return self.height - TOP - BOTTOM

    def y(self, value: float) -> float:
        return TOP + self.plot_height * (1 - (value - self.y0) / ((self.y1 - self.y0) or 1))

    def x_tick(self, x: float, text: str, lines: Sequence[str] = ()) -> None:
        """A tick and its label; `lines`: the label over two lines (a long name under a bar)."""
        bottom = TOP + self.plot_height
        self.parts.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{bottom}' y2='{bottom + 4}' stroke='#444'/>")
        shown = "".join(f"<tspan x='{x:.1f}' dy='{0 if k == 0 else 14}'>{_esc(line)}</tspan>"
                        for k, line in enumerate(lines)) if len(lines) > 1 else _esc(text)
        self.parts.append(f"<text x='{x:.1f}' y='{bottom + 18}' text-anchor='middle' font-size='12' "
                          f"fill='#222'>{shown}</text>")

    def legend(self, name: str, colour: str) -> None:
        """One legend entry beside the plot (names are cut to fit the legend's width)."""
        x = self.width - self.right + 12
        y = TOP + 8 + 18 * self.legend_rows
        self.legend_rows += 1
        shown = name if len(name) <= 20 else name[:19] + "…"
        self.parts.append(f"<rect x='{x}' y='{y - 9}' width='12' height='12' fill='{colour}'/>"
                          f"<text x='{x + 17}' y='{y + 2}' font-size='12' fill='#111'>"
                          f"<title>{_esc(name)}</title>{_esc(shown)}</text>")

    def svg(self, description: str) -> str:
        return (f"<svg xmlns='http://www.w3.org/2000/svg' role='img' aria-label='{_esc(description)}' "
                f"viewBox='0 0 {self.width} {self.height}' width='100%' style='max-width:{self.width}px' "
                f"font-family='sans-serif'>{''.join(self.parts)}</svg>")


def bars(labels: Sequence[str], means: Sequence[float], lows: Sequence[float], highs: Sequence[float],
         title: str, y_label: str, x_label: str = "") -> str:
    """One bar per label with its 95% interval as a whiskered line; the mean written on the bar."""
    finite = [v for v in (*means, *lows, *highs) if math.isfinite(v)]
    frame = _Frame(title, x_label, y_label, min(0.0, *finite) if finite else 0.0,
                   max(finite) if finite else 1.0, legend=False)
    step = frame.plot_width / max(len(labels), 1)
    for k, (name, mean, low, high) in enumerate(zip(labels, means, lows, highs, strict=True)):
        centre = LEFT + step * (k + 0.5)
        if math.isfinite(mean):
            top, base = frame.y(max(mean, 0)), frame.y(min(mean, 0))
            frame.parts.append(f"<rect x='{centre - step * 0.3:.1f}' y='{top:.1f}' width='{step * 0.6:.1f}' "
                               f"height='{max(base - top, 0.5):.1f}' fill='{PALETTE[k % len(PALETTE)]}'>"
                               f"<title>{_esc(name)}: {_esc(short_number(mean))} "
                               f"[{_esc(short_number(low))}; {_esc(short_number(high))}]</title></rect>")
        if math.isfinite(low) and math.isfinite(high) and high > low:
            y_low, y_high = frame.y(low), frame.y(high)
            frame.parts.append(f"<path d='M{centre:.1f},{y_low:.1f}V{y_high:.1f}M{centre - 6:.1f},"
                               f"{y_low:.1f}h12M{centre - 6:.1f},{y_high:.1f}h12' stroke='#111' "
                               "stroke-width='1.5' fill='none'/>")
        frame.x_tick(centre, name, two_lines(name, max(int(step / 7), 8)))
    return frame.svg(title)


def two_lines(text: str, width: int) -> list[str]:
    """`text` in at most two lines of about `width` characters, broken between words; the second
    line cut with '…' only when the text is longer than both."""
    words, lines = text.split(), [""]
    for word in words:
        if lines[-1] and len(lines[-1]) + 1 + len(word) > width and len(lines) < 2:
            lines.append(word)
        else:
            lines[-1] = f"{lines[-1]} {word}".strip()
    return [line if len(line) <= width else line[:width - 1] + "…" for line in lines]


def _runs(flags: Sequence[bool]) -> list[list[int]]:
    """The indices of each maximal run of True in `flags`."""
    runs: list[list[int]] = []
    for i, flag in enumerate(flags):
        if flag:
            if runs and runs[-1][-1] == i - 1:
                runs[-1].append(i)
            else:
                runs.append([i])
    return runs


def time_lines(start: datetime, step: timedelta, series: Mapping[str, Sequence[float] | Band], title: str,
               y_label: str, *, low: float | None = None, x_label: str = "date") -> str:
    """Lines over time from `start` every `step` (a `Band` draws its interval as a shaded band),
    with dated ticks on the x axis (`x_label` says what a date stands for: 'week starting (UTC)')
    and one legend entry per series."""
    values = [v for s in series.values() for v in ((*s.low, *s.high) if isinstance(s, Band) else s)
              if math.isfinite(v)]
    frame = _Frame(title, x_label, y_label, low if low is not None else min(values, default=0.0),
                   max(values, default=1.0))
    points = max((len(s.mid) if isinstance(s, Band) else len(s) for s in series.values()), default=0)
    span = max(points - 1, 1)

    def x(k: float) -> float:
        return LEFT + frame.plot_width * k / span

    for k, name in enumerate(series):
        s, colour = series[name], PALETTE[k % len(PALETTE)]
        if isinstance(s, Band):
            # one polygon per run of points with both ends known: no band where it is unknown
            # (NaN in a polygon's points is invalid SVG)
            known = [math.isfinite(lo) and math.isfinite(hi) for lo, hi in zip(s.low, s.high, strict=True)]
            for run in _runs(known):
                upper = " ".join(f"{x(i):.1f},{frame.y(s.high[i]):.1f}" for i in run)
                lower = " ".join(f"{x(i):.1f},{frame.y(s.low[i]):.1f}" for i in reversed(run))
                frame.parts.append(f"<polygon points='{upper} {lower}' fill='{colour}' fill-opacity='0.18'/>")
            mid: Sequence[float] = s.mid
        else:
            mid = s
        line = " ".join(f"{x(i):.1f},{frame.y(v):.1f}" for i, v in enumerate(mid) if math.isfinite(v))
        frame.parts.append(f"<polyline points='{line}' fill='none' stroke='{colour}' stroke-width='2'/>")
        if len(mid) <= MARKED_POINTS:  # few points: each one marked, so a lone value shows too
            frame.parts += [f"<circle cx='{x(i):.1f}' cy='{frame.y(v):.1f}' r='3' fill='{colour}'/>"
                            for i, v in enumerate(mid) if math.isfinite(v)]
        frame.legend(name, colour)
    ticks, every = time_ticks(start, step, points)
    long = step * span > timedelta(days=300)  # months apart across years: the year, not the day
    fmt = ("%d %b %H:%M" if every < timedelta(days=1)
           else "%b %Y" if long and every >= timedelta(days=28) else "%d %b")
    for t in ticks:
        frame.x_tick(x((t - start) / step), t.strftime(fmt))
    return frame.svg(title)


# Tick spacings a reader counts in: minutes, hours, days, weeks, months (as 4 weeks), years.
NICE_TIME_STEPS = (*(timedelta(minutes=m) for m in (1, 5, 10, 15, 30)),
                   *(timedelta(hours=h) for h in (1, 2, 3, 6, 12)),
                   *(timedelta(days=d) for d in (1, 2, 7, 14, 28, 91, 182, 364)))


def time_ticks(start: datetime, step: timedelta, points: int,
               count: int = 8) -> tuple[list[datetime], timedelta]:
    """At most `count` tick times over a series of `points` values `step` apart from `start`, evenly
    spaced by a nice time step, and that step. A daily or weekly series is ticked on its own
    points, the last (current) period always labelled; a finer series (hourly, every 13 hours)
    at whole clock times: midnights for day ticks. No two ticks share a label."""
    if points <= 1:
        return ([start] if points else []), step
    span = step * (points - 1)
    nice = next((n for n in NICE_TIME_STEPS if n >= step and span // n < count),
                step * math.ceil((points - 1) / (count - 1)))
    if step >= timedelta(days=1) and nice % step == timedelta(0):
        every = nice // step
        return [start + step * k for k in range((points - 1) % every, points, every)], nice
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    unit = min(nice, timedelta(days=1))
    first = midnight + unit * math.ceil((start - midnight) / unit)
    return [t for t in (first + nice * k for k in range(count + 1)) if t <= start + span], nice


def scatter(points: Sequence[tuple[str, float, float, float, float]], title: str, x_label: str,
            y_label: str) -> str:
    """Labelled points (label, x, y, y_low, y_high) joined in order, each with its y interval;
    labels alternate above and below the points so that neighbours do not overlap."""
    ys = [v for _, _, y, lo, hi in points for v in (y, lo, hi) if math.isfinite(v)]
    xs = [x for _, x, *_ in points if math.isfinite(x)]
    frame = _Frame(title, x_label, y_label, min(ys, default=0.0), max(ys, default=1.0), legend=False)
    x_ticks = nice_ticks(min(xs, default=0.0), max(xs, default=1.0))
    x0, x1 = x_ticks[0], x_ticks[-1]

    def px(v: float) -> float:
        return LEFT + frame.plot_width * (v - x0) / ((x1 - x0) or 1)

    for tick, text in zip(x_ticks, tick_labels(x_ticks), strict=True):
        frame.x_tick(px(tick), text)
    line = " ".join(f"{px(x):.1f},{frame.y(y):.1f}" for _, x, y, _, _ in points)
    frame.parts.append(f"<polyline points='{line}' fill='none' stroke='{PALETTE[1]}' stroke-width='1.5'/>")
    for k, (name, x, y, lo, hi) in enumerate(points):
        cx, cy = px(x), frame.y(y)
        if math.isfinite(lo) and math.isfinite(hi) and hi > lo:
            frame.parts.append(f"<path d='M{cx:.1f},{frame.y(lo):.1f}V{frame.y(hi):.1f}' stroke='#111'/>")
        frame.parts.append(f"<circle cx='{cx:.1f}' cy='{cy:.1f}' r='4' fill='{PALETTE[1]}'/>")
        dy = -10 if k % 2 == 0 else 20
        frame.parts.append(f"<text x='{cx + 6:.1f}' y='{cy + dy:.1f}' font-size='12' fill='#111'>"
                           f"{_esc(name)}</text>")
    return frame.svg(title)
