#!/usr/bin/env python3
"""The size fit of bench/datacenter.sh --sizes: reads the results.json of each size's run and
writes OUT/fit.md and OUT/fit.json: per tool, last host / S/B at each size and the line
t = fixed + slope x S/B through the (S/B, last host) points (two sizes: through both; more: least
squares). crowcast's slope is set against its framing floor: Ethernet frames per chunk byte
(1482-byte frames for 1408-byte chunks, 1.053 x; 8994 for 8920 at --mtu 9000, 1.008 x) divided by
the fraction of the host link its rate is. With crowcast it also gives
the fixed costs each run measured (datacenter_report.py): start = the seeder's start to its first
datagram, tail = its last datagram to the last host's publish.

usage: datacenter_fit.py OUT DIR..."""
import json
import os
import sys

FRAME_EXTRA = 14 + 28 + 32  # Ethernet, IPv4 + UDP and crowcast headers around every chunk


def si(text):
    """'95M' -> 95e6 (the bench's --rate)."""
    text = text.rstrip("bps")
    mult = {"k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9}.get(text[-1:], 1)
    return float(text[:-1] if text[-1:] in "kKMG" else text) * mult


def framing(meta):
    """(frame bytes, chunk bytes) of a full crowcast DATA datagram in the run that meta describes."""
    chunk = meta.get("chunk_size", 1408)
    return chunk + FRAME_EXTRA + (16 if meta.get("mcast_auth") else 0), chunk


def floor_of(meta):
    """crowcast's framing floor: last host / S/B at the rate with nothing but headers lost."""
    frame, chunk = framing(meta)
    return frame / chunk / (si(meta["rate"]) / (meta["host_mbit"] * 1e6))


def fit(points):
    """(fixed, slope) of t = fixed + slope x over [(x, t)], or None with fewer than two sizes."""
    if len({x for x, _ in points}) < 2:
        return None
    n = len(points)
    mx = sum(x for x, _ in points) / n
    mt = sum(t for _, t in points) / n
    slope = sum((x - mx) * (t - mt) for x, t in points) / sum((x - mx) ** 2 for x, _ in points)
    return mt - slope * mx, slope


def main():
    out, dirs = sys.argv[1], sys.argv[2:]
    runs = []
    for d in dirs:
        with open(os.path.join(d, "results.json")) as f:
            runs += [s for s in json.load(f)["scenarios"] if s["round"] == "noloss"]
    with open(os.path.join(dirs[0], "raw.jsonl")) as f:
        meta = json.loads(f.readline())
    floor = floor_of(meta)
    sizes = sorted({s["size"] for s in runs})
    tools = list(dict.fromkeys(s["tool"] for s in runs))
    rows = []
    for tool in tools:
        mine = [s for s in runs if s["tool"] == tool]
        points = [(s["ideal_s"], s["last_s"]) for s in mine if s.get("last_s") is not None]
        by_size = {}
        for s in mine:
            by_size.setdefault(s["size"], []).append(s)
        f = fit(points)
        row = {"tool": tool, "points": points, "fixed_s": None, "slope": None,
               "ratio": {str(z): [s.get("ratio") for s in by_size.get(z, [])] for z in sizes}}
        if f:
            row.update(fixed_s=round(f[0], 3), slope=round(f[1], 4))
        if tool == "crowcast":
            row["floor"] = round(floor, 4)
            row["costs"] = {str(z): [{k: s.get(k) for k in ("first_datagram_s", "tail_s", "hook_s", "get_join_s")}
                                     for s in by_size.get(z, [])] for z in sizes}
        rows.append(row)

    def mib(z):
        return "%g MiB" % (z / 2**20)

    head = ("Sizes %s, %s racks x %s hosts, host links %s Mbit/s, MTU %s, rate %s; last host / S/B per size, and "
            "the fit t = fixed + slope x S/B over the last host times.\n\n" % (
                ", ".join(mib(z) for z in sizes), meta["racks"], meta["host_count"] // meta["racks"],
                meta["host_mbit"], meta.get("mtu", 1500), meta["rate"]))
    lines = ["| tool | " + " | ".join("last / S/B at %s" % mib(z) for z in sizes) + " | fixed (s) | slope | note |",
             "|---|" + "---|" * len(sizes) + "---|---|---|"]
    for r in rows:
        cells = [" ".join("—" if v is None else "%.3f" % v for v in r["ratio"][str(z)]) or "—" for z in sizes]
        note = ""
        if r["tool"] == "crowcast" and r["slope"] is not None:
            note = "framing floor %.4f (%d/%d / (%s / %s Mbit/s)): slope %+.1f %%" % (
                r["floor"], *framing(meta), meta["rate"], meta["host_mbit"], 100 * (r["slope"] / r["floor"] - 1))
            for z in sizes:
                for c in r["costs"][str(z)]:
                    if c.get("first_datagram_s") is not None:
                        note += "; %s: start %.3f s, tail %s s" % (
                            mib(z), c["first_datagram_s"], "—" if c.get("tail_s") is None else "%.3f" % c["tail_s"])
        lines.append("| %s | %s | %s | %s | %s |" % (
            r["tool"], " | ".join(cells), "—" if r["fixed_s"] is None else "%.3f" % r["fixed_s"],
            "—" if r["slope"] is None else "%.4f" % r["slope"], note))
    with open(os.path.join(out, "fit.md"), "w") as f:
        f.write(head + "\n".join(lines) + "\n")
    with open(os.path.join(out, "fit.json"), "w") as f:
        json.dump({"sizes": sizes, "floor": floor, "tools": rows}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
