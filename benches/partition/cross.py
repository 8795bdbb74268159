#!/usr/bin/env python3
"""How many of a run's frames would cross partitions if the plant were split by zone, the
question a parallel (partitioned) simulation starts from (docs/src/architecture.md, "Past one
core").

    otrange run scenarios/water-treatment.toml --duration 10m --log-frames --out wt
    python3 benches/partition/cross.py scenarios/water-treatment/plant.toml wt/events.jsonl
    python3 benches/partition/cross.py PLANT EVENTS --cell plc-filter,rio-filter-1,rio-filter-2,sw-tsn-filter

Prints the frames sent, the share that stay in their source's zone, the zone pairs that carry
the rest, and the smallest propagation latency of a link joining two zones (the bound a
conservative synchronisation between zone partitions could look ahead by). With --cell,
the same for a partition of the named hosts against the rest of the plant instead: the
frames inside it, crossing its boundary (by source, destination and service) and outside it.
"""
import collections
import json
import sys
import tomllib

args = sys.argv[1:]
cell = None
if "--cell" in args:
    i = args.index("--cell")
    if i + 1 >= len(args):
        sys.exit("cross.py: --cell needs a comma-separated list of host names")
    cell = set(args[i + 1].split(","))
    del args[i : i + 2]
if len(args) != 2:
    sys.exit(__doc__)
plant_file, events_file = args
with open(plant_file, "rb") as f:
    plant = tomllib.load(f)
zone = {h["name"]: h["zone"] for h in plant["host"]}
if cell is not None:
    unknown = sorted(cell - zone.keys())
    if unknown:
        sys.exit(f"cross.py: --cell: no host {', '.join(unknown)} in {plant_file}")
    counts = collections.Counter()
    crossing = collections.Counter()
    with open(events_file) as f:
        for line in f:
            if '"frame_sent"' not in line:
                continue
            e = json.loads(line)
            where = (e["src"] in cell) + (e["dst"] in cell)
            counts[where] += 1
            if where == 1:
                crossing[(e["src"], e["dst"], e["service"])] += 1
    total = sum(counts.values())
    print(f"frames sent: {total}")
    for where, what in ((2, "inside the cell"), (1, "crossing its boundary"), (0, "outside it")):
        print(f"{what}: {counts[where]} ({100 * counts[where] / max(total, 1):.1f} %)")
    for (src, dst, service), n in crossing.most_common():
        print(f"  {src} -> {dst} ({service}): {n}")
    sys.exit(0)


def ns(text):
    """A duration such as "5us" or "15ms" in nanoseconds (links default to 1 us)."""
    for unit, scale in (("ns", 1), ("us", 1_000), ("ms", 1_000_000), ("s", 1_000_000_000)):
        if text.endswith(unit) and text[: -len(unit)].replace(".", "", 1).isdigit():
            return float(text[: -len(unit)]) * scale
    raise ValueError(f"unknown duration {text!r}")


pairs = collections.Counter()
total = same = 0
with open(events_file) as f:
    for line in f:
        if '"frame_sent"' not in line:
            continue
        e = json.loads(line)
        total += 1
        a, b = zone[e["src"]], zone[e["dst"]]
        if a == b:
            same += 1
        else:
            pairs[tuple(sorted((a, b)))] += 1
cross_links = [ns(l.get("latency", "1us")) for l in plant.get("link", []) if zone[l["a"]] != zone[l["b"]]]
print(f"frames sent: {total}")
print(f"within one zone: {same} ({100 * same / max(total, 1):.1f} %)")
print(f"crossing zones: {total - same} ({100 * (total - same) / max(total, 1):.1f} %)")
for (a, b), n in pairs.most_common():
    print(f"  {a} <-> {b}: {n} ({100 * n / total:.1f} %)")
if cross_links:
    print(f"smallest latency of a link between zones: {min(cross_links) / 1000:g} us "
          f"({len(cross_links)} such links)")
