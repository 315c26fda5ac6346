#!/usr/bin/env python3
"""Draws latency histograms written by `onshi-loadgen --histogram-out` as one SVG, with no
dependencies: percentile on the x axis (log scale of 1/(1 - p), so 90 %, 99 %, 99.9 % … are
evenly spaced), microseconds on a log y axis. Each CSV is a run (one colour); each of its
columns a line: latency from the intended send time (solid), how late the generator queued the
request (dashed), latency from when it was queued (dotted).

    loadgen/scripts/plot-histogram.py OUT.svg "LABEL=run.csv" ["LABEL=other.csv" ...] [--title T]
"""

import csv
import math
import sys

WIDTH, HEIGHT = 900, 560
LEFT, RIGHT, TOP, BOTTOM = 80, 230, 50, 60
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
STYLES = {
    "latency_us": ("", "latency"),
    "send_lateness_us": ("6,4", "late to send"),
    "from_send_us": ("2,3", "from sending"),
}
NINES = 5  # the x axis runs to 99.999 %; the maximum is drawn past it


def x_of(percentile):
    """0 % → 0, 90 % → 1, 99 % → 2 …; 100 % (the maximum) half a decade past the last nine."""
    if percentile >= 100.0:
        return NINES + 0.5
    return min(-math.log10(1.0 - percentile / 100.0), NINES)


def read(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    columns = [c for c in rows[0] if c != "percentile"]
    return [(float(r["percentile"]), {c: max(float(r[c]), 1.0) for c in columns}) for r in rows], columns


def main(argv):
    title = "onshi-loadgen latency"
    if "--title" in argv:
        i = argv.index("--title")
        title = argv[i + 1]
        del argv[i : i + 2]
    if len(argv) < 2:
        sys.exit(__doc__)
    out, runs = argv[0], []
    for spec in argv[1:]:
        label, _, path = spec.rpartition("=")
        runs.append((label or path, *read(path)))
    values = [v for _, rows, _ in runs for _, r in rows for v in r.values()]
    y_lo = 10 ** math.floor(math.log10(min(values)))
    y_hi = 10 ** math.ceil(math.log10(max(values)))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(percentile):
        return LEFT + plot_w * x_of(percentile) / (NINES + 0.5)

    def py(us):
        return TOP + plot_h * (1 - (math.log10(us) - math.log10(y_lo)) / (math.log10(y_hi) - math.log10(y_lo)))

    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{LEFT}" y="{TOP - 20}" font-size="15">{escape(title)}</text>',
    ]
    # Grid and axes.
    for k in range(NINES + 1):
        p = 100.0 * (1 - 10.0 ** -k)
        x = px(p)
        label = "0 %" if k == 0 else f"{p:.{max(k - 2, 0)}f} %"
        svg.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{TOP + plot_h}" stroke="#ddd"/>')
        svg.append(f'<text x="{x:.1f}" y="{TOP + plot_h + 18}" text-anchor="middle">{label}</text>')
    x = px(100.0)
    svg.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{TOP + plot_h}" stroke="#ddd"/>')
    svg.append(f'<text x="{x:.1f}" y="{TOP + plot_h + 18}" text-anchor="middle">max</text>')
    decade = y_lo
    while decade <= y_hi:
        y = py(decade)
        label = f"{decade / 1000:g} ms" if decade >= 1000 else f"{decade:g} µs"
        svg.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="#ddd"/>')
        svg.append(f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
        decade *= 10
    svg.append(f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#444"/>')
    svg.append(f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 15}" text-anchor="middle">percentile</text>')
    # Lines and legend.
    legend_y = TOP
    for i, (label, rows, columns) in enumerate(runs):
        colour = COLOURS[i % len(COLOURS)]
        svg.append(f'<text x="{LEFT + plot_w + 15}" y="{legend_y + 12}" fill="{colour}">{escape(label)}</text>')
        legend_y += 18
        for c in columns:
            dash, name = STYLES.get(c, ("1,1", c))
            points = " ".join(f"{px(p):.1f},{py(r[c]):.1f}" for p, r in rows)
            svg.append(
                f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.8"'
                + (f' stroke-dasharray="{dash}"' if dash else "")
                + "/>"
            )
            lx = LEFT + plot_w + 15
            svg.append(
                f'<line x1="{lx}" y1="{legend_y + 8}" x2="{lx + 30}" y2="{legend_y + 8}" stroke="{colour}" '
                f'stroke-width="1.8"' + (f' stroke-dasharray="{dash}"' if dash else "") + "/>"
            )
            svg.append(f'<text x="{lx + 36}" y="{legend_y + 12}">{escape(name)}</text>')
            legend_y += 16
        legend_y += 8
    svg.append("</svg>")
    with open(out, "w") as f:
        f.write("\n".join(svg) + "\n")


def escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


if __name__ == "__main__":
    main(sys.argv[1:])
