#!/usr/bin/env python3
"""Draws the scale benchmark's curve: CPU seconds per simulated hour against the number of
PLCs, both axes logarithmic, from saved outputs of benches/scale/run.sh, with the goals of
issue 18 and the slopes of a linear cost (exponent 1.0) and of the goal's exponent (1.1).

    python3 benches/scale/chart.py OUT.svg LABEL=RUN.txt[,RUN.txt...] [LABEL=...]

Each LABEL is one build (say "release" or "profile-guided"); its files are run.sh outputs,
and where there are several the median of each size is drawn. Writes a self-contained SVG
(no fonts or scripts loaded from anywhere) that the book shows as it is.
"""
import math
import statistics
import sys

# The goals (issue 18), in CPU seconds per simulated hour: 1,000 PLCs at 1,000x real time,
# 10,000 PLCs at 100x.
GOALS = [(1000, 3.6, "goal: 1,000x"), (10000, 36.0, "goal: 100x")]
COLOURS = ["#1f5fa8", "#c2571a", "#2e7d32", "#6a3d9a"]
W, H = 720, 460
LEFT, RIGHT, TOP, BOTTOM = 80, 100, 30, 60


def read_run(path):
    """Rows of run.sh's table: {plcs: cpu seconds per simulated hour}."""
    rows = {}
    try:
        f = open(path)
    except OSError as e:
        sys.exit(f"chart.py: {path}: {e.strerror}")
    with f:
        for line in f:
            cols = line.split()
            if len(cols) >= 8 and cols[0].isdigit():
                rows[int(cols[0])] = float(cols[3])
    if not rows:
        sys.exit(f"chart.py: {path}: no rows of benches/scale/run.sh's table")
    return rows


def decades(lo, hi):
    """lo, 10 lo, 100 lo, ... up to hi."""
    d = lo
    while d <= hi * 1.0001:
        yield d
        d *= 10


def series(spec):
    label, _, files = spec.partition("=")
    if not files:
        sys.exit(f"chart.py: {spec!r}: expected LABEL=RUN.txt[,RUN.txt...]")
    runs = [read_run(p) for p in files.split(",")]
    sizes = sorted(set().union(*runs))
    points = []
    for n in sizes:
        values = [r[n] for r in runs if n in r and r[n] > 0]
        if values:
            points.append((n, statistics.median(values)))
    if not points:
        sys.exit(f"chart.py: {label}: no size with a CPU time above zero (runs too short?)")
    return label, points, len(runs)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out = sys.argv[1]
    all_series = [series(s) for s in sys.argv[2:]]
    xs = [n for _, pts, _ in all_series for n, _ in pts] + [g[0] for g in GOALS]
    ys = [c for _, pts, _ in all_series for _, c in pts] + [g[1] for g in GOALS]
    x0, x1 = 10 ** math.floor(math.log10(min(xs))), 10 ** math.ceil(math.log10(max(xs)))
    y0, y1 = 10 ** math.floor(math.log10(min(ys))), 10 ** math.ceil(math.log10(max(ys)))

    def px(n):
        return LEFT + (math.log10(n) - math.log10(x0)) / (math.log10(x1) - math.log10(x0)) * (W - LEFT - RIGHT)

    def py(c):
        return H - BOTTOM - (math.log10(c) - math.log10(y0)) / (math.log10(y1) - math.log10(y0)) * (H - TOP - BOTTOM)

    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{W}" height="{H}" fill="white"/>',
    ]
    # Decades on both axes, with their grid lines.
    for d in decades(x0, x1):
        x = px(d)
        svg.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{H - BOTTOM}" stroke="#ddd"/>')
        svg.append(f'<text x="{x:.1f}" y="{H - BOTTOM + 16}" text-anchor="middle">{d:,}</text>')
    for d in decades(y0, y1):
        y = py(d)
        svg.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}" stroke="#ddd"/>')
        svg.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{d:g}</text>')
    svg.append(f'<rect x="{LEFT}" y="{TOP}" width="{W - LEFT - RIGHT}" height="{H - TOP - BOTTOM}" '
               'fill="none" stroke="#444"/>')
    svg.append(f'<text x="{(LEFT + W - RIGHT) / 2}" y="{H - 18}" text-anchor="middle">PLCs</text>')
    svg.append(f'<text transform="translate(18 {(TOP + H - BOTTOM) / 2}) rotate(-90)" '
               'text-anchor="middle">CPU seconds per simulated hour</text>')

    # Slopes through the first series' point at 100 PLCs (or its first point): what a
    # linear cost and the goal's exponent would give from there.
    _, first, _ = all_series[0]
    base = next(((n, c) for n, c in first if n == 100), first[0])
    for exponent, dash in ((1.0, "2,3"), (1.1, "6,4")):
        n_end = x1
        c_end = base[1] * (n_end / base[0]) ** exponent
        svg.append(f'<line x1="{px(base[0]):.1f}" y1="{py(base[1]):.1f}" x2="{px(n_end):.1f}" '
                   f'y2="{py(c_end):.1f}" stroke="#888" stroke-dasharray="{dash}"/>')
        svg.append(f'<text x="{px(n_end) + 4:.1f}" y="{py(c_end) + 4:.1f}" fill="#666">'
                   f'exponent {exponent:.1f}</text>')

    for n, c, label in GOALS:
        x, y = px(n), py(c)
        svg.append(f'<path d="M{x:.1f} {y - 7:.1f} L{x + 7:.1f} {y:.1f} L{x:.1f} {y + 7:.1f} '
                   f'L{x - 7:.1f} {y:.1f} Z" fill="none" stroke="#000" stroke-width="1.5"/>')
        svg.append(f'<text x="{x:.1f}" y="{y + 22:.1f}" text-anchor="middle">{label}</text>')

    for k, (label, pts, runs) in enumerate(all_series):
        colour = COLOURS[k % len(COLOURS)]
        path = " ".join(f"{px(n):.1f},{py(c):.1f}" for n, c in pts)
        svg.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for n, c in pts:
            svg.append(f'<circle cx="{px(n):.1f}" cy="{py(c):.1f}" r="4" fill="{colour}">'
                       f'<title>{label}: {n:,} PLCs, {c:g} CPU s per simulated hour</title></circle>')
        fit = None
        big = [(n, c) for n, c in pts if n >= 100]
        if len(big) >= 2:
            (na, ca), (nb, cb) = big[0], big[-1]
            fit = f"exponent {math.log(cb / ca) / math.log(nb / na):.2f}, {na:,} to {nb:,}"
        # The legend, in the plot's upper left, which a cost growing with the plant leaves empty.
        x, y = LEFT + 14, TOP + 18 + 52 * k
        svg.append(f'<line x1="{x}" y1="{y}" x2="{x + 20}" y2="{y}" stroke="{colour}" stroke-width="2"/>')
        svg.append(f'<text x="{x + 26}" y="{y + 4}">{label}</text>')
        svg.append(f'<text x="{x + 26}" y="{y + 18}" fill="#555" font-size="10">median of {runs} runs</text>')
        if fit:
            svg.append(f'<text x="{x + 26}" y="{y + 31}" fill="#555" font-size="10">{fit}</text>')
    svg.append("</svg>")
    with open(out, "w") as f:
        f.write("\n".join(svg) + "\n")


if __name__ == "__main__":
    main()
