#!/usr/bin/env python3
"""Report of bench/datacenter.sh: reads DIR/raw.jsonl (one line per run) and writes
DIR/results.md (markdown table), DIR/results.json and DIR/cdf-<round>.png (completion-time CDF
per tool, gnuplot). For crowcast scenarios it also sums the hosts' bytes_mcast/bytes_tcp from
their --json "complete" lines in DIR/logs. With named scenarios or several runs of one, a second
table gives per scenario and tool the median and worst last / ideal over the runs that had every
host verified, and how many runs those were; beside last / ideal (from t0, the source's start) it
gives the slowest host timed from its own start (t0 for hosts that started before it), which is
what a late joiner or a seeder that started first costs. A host excluded on purpose (head-kill) counts for
neither; a routed run's ideal is racks x S/B. For crowcast it gives the fixed costs from the
processes' stamped log lines: from t0 (the seeder's start) to its first datagram ("multicasting"),
from its last datagram ("mcast_done") to the last host's publish ("verified and published"), from
that publish to the bench's completion hook, and the slowest get's start to its join.

usage: datacenter_report.py DIR"""
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys

from datacenter_fit import floor_of, framing


def crowcast_bytes(out, row, elapsed=None):
    """Sum of bytes_mcast and bytes_tcp over the hosts' "complete" events, or None; fills
    elapsed[host] with each event's "elapsed" (seconds since that get started) when given."""
    mcast = tcp = 0
    found = False
    for host in row["hosts"]:
        path = os.path.join(out, "logs", "%s-%s-%s.log" % (row.get("log_prefix", row["round"]), row["tool"], host))
        if not os.path.exists(path):
            continue
        with open(path, errors="replace") as f:
            for line in f:
                if not line.startswith("{"):
                    continue
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                if ev.get("event") == "complete":
                    if elapsed is not None and "elapsed" in ev:
                        elapsed[host] = ev["elapsed"]
                    mcast += ev.get("bytes_mcast", 0)
                    tcp += ev.get("bytes_tcp", 0)
                    found = True
    return (mcast, tcp) if found else None


def log_times(path, *needles):
    """{needle: [unix seconds of each stamped line of path that holds it]}."""
    found = {n: [] for n in needles}
    if not os.path.exists(path):
        return found
    with open(path, errors="replace") as f:
        for line in f:
            if len(line) < 24 or line[4] != "-" or line[23] != "Z":
                continue
            for n in needles:
                if n in line:
                    t = datetime.datetime.strptime(line[:23], "%Y-%m-%dT%H:%M:%S.%f")
                    found[n].append(t.replace(tzinfo=datetime.timezone.utc).timestamp())
    return found


def fixed_costs(out, row):
    """crowcast's fixed costs in one run (seconds), or {} when the logs do not have them."""
    t0, prefix = row.get("t0"), row.get("log_prefix", row["round"])
    if t0 is None:
        return {}
    logs = os.path.join(out, "logs")
    seed = log_times(os.path.join(logs, "%s-seeder.log" % prefix), "multicasting", "mcast_done:")
    again = log_times(os.path.join(logs, "%s-seeder-2.log" % prefix), "mcast_done:")
    done = seed["mcast_done:"] + again["mcast_done:"]
    published, joins = [], []
    for host, t in row["hosts"].items():
        g = log_times(os.path.join(logs, "%s-%s-%s.log" % (prefix, row["tool"], host)), "verified and published",
                      "joined ")
        if t is not None and g["verified and published"]:
            published.append(g["verified and published"][-1])
        start = (row.get("start_s") or {}).get(host)
        if start is not None and g["joined "]:
            joins.append(g["joined "][0] - (t0 + start))
    c = {}
    if seed["multicasting"]:
        c["first_datagram_s"] = round(seed["multicasting"][0] - t0, 3)
    if done and published and len(published) == len(row["hosts"]):
        c["tail_s"] = round(max(published) - max(done), 3)
        last = max(t for t in row["hosts"].values() if t is not None)
        c["hook_s"] = round(t0 + last - max(published), 3)
    if joins:
        c["get_join_s"] = round(max(joins), 3)
    return c


def summarize(out, row):
    s = {k: row[k] for k in ("round", "loss_ppm", "tool", "status", "size", "ideal_s")}
    for k, default in (("run", 1), ("runs", 1), ("ideal_basis", "S/B"), ("title", ""), ("fabric", "flat")):
        s[k] = row.get(k, default) or default
    for k in ("note", "start_s", "mcast_seeder_bytes", "mcast_to_router", "mcast_into_racks"):
        if row.get(k) not in (None, ""):
            s[k] = row[k]
    if "hosts" not in row:
        return s
    size, ideal = row["size"], row["ideal_s"]
    excluded = row.get("excluded", [])
    times = sorted(t for h, t in row["hosts"].items() if t is not None and h not in excluded)
    s.update(hosts=len(row["hosts"]) - len(excluded), excluded=excluded, verified=len(times), times_s=times,
             per_host_s=row["hosts"],
             timeout_s=row["limit_s"], frames_dropped=row["drops"], load_before=row["load_before"],
             seeder_tx_bytes=row["seeder_tx"], seeder_copies=round(row["seeder_tx"] / size, 3),
             uplink_bytes=row["uplink_bytes"],
             uplink_copies=[round(b / size, 3) for b in row["uplink_bytes"]])
    if times:
        s.update(min_s=times[0], median_s=round(statistics.median(times), 3), max_s=times[-1])
    if len(times) == s["hosts"] and times:
        s.update(last_s=times[-1], ratio=round(times[-1] / ideal, 3))
        # A host that starts after t0 cannot be done before its start + ideal: the slowest host
        # timed from its own start (or t0, when it started before) says what the start order cost.
        # A crowcast get's start is its process's (its "complete" event's elapsed): twelve
        # `ip netns exec` spawned at once take up to half a second to run on two cores.
        starts = dict(row.get("start_s") or {})
        elapsed = {}
        if row["tool"].startswith("crowcast"):
            crowcast_bytes(out, row, elapsed)
        for h, e in elapsed.items():
            if row["hosts"].get(h) is not None:
                starts[h] = row["hosts"][h] - e
        own = [t - max(starts.get(h, 0.0), 0.0) for h, t in row["hosts"].items()
               if t is not None and h not in excluded]
        s.update(ratio_own_start=round(max(own) / ideal, 3))
    if row["tool"] == "crowcast":
        s.update(fixed_costs(out, row))
    if row["tool"].startswith(("crowcast", "tcp-chain")):
        b = crowcast_bytes(out, row)
        if b:
            s.update(bytes_mcast=b[0], bytes_tcp=b[1])
    return s


def fmt(v, spec="%.2f"):
    return "—" if v is None else spec % v


def round_title(s):
    """What the round is: the bench's title for a named scenario, else the loss it had."""
    return s["title"] or ("no loss" if s["loss_ppm"] == 0 else "%.2f%% loss on host links" % (s["loss_ppm"] / 1e4))


def label(s):
    """The tool, with the run number when its scenario ran several times."""
    return s["tool"] if s["runs"] == 1 else "%s #%d" % (s["tool"], s["run"])


def table(summary):
    lines = ["| round | tool | hosts verified | last host (s) | min / median / max (s) | last / ideal "
             "| slowest from its start / ideal | seeder sent (copies) | uplink copies per rack (max) "
             "| fixed: start / tail / hook / join (s) | note |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in summary:
        if "hosts" not in s:
            lines.append("| %s | %s | — | — | — | — | — | — | — | — | %s |" % (s["round"], label(s), s["status"]))
            continue
        note = [] if s["status"] == "ok" else [s["status"]]
        if s["ideal_basis"] != "S/B":
            note.append("ideal = %s = %.2f s" % (s["ideal_basis"], s["ideal_s"]))
        if s["excluded"]:
            note.append("excluded %s" % " ".join(s["excluded"]))
        if "mcast_into_racks" in s:
            note.append("multicast datagrams into racks %s (the seeder multicast %.2f copies; %d packets reached the router)" % (
                "/".join(str(n) for n in s["mcast_into_racks"]), s.get("mcast_seeder_bytes", 0) / s["size"],
                s.get("mcast_to_router", 0)))
        if s.get("bytes_mcast") or (s.get("bytes_tcp") and s["round"] not in ("noloss", "loss")):
            note.append("TCP repair %.1f%% of bytes" % (100 * s["bytes_tcp"] / (s["hosts"] * s["size"])))
        late = {h: t - s["start_s"][h] for h, t in s["per_host_s"].items()
                if t is not None and s.get("start_s", {}).get(h, 0) > 0.5}
        if late:
            note.append("hosts started after t0 done %.2f s after their start at most" % max(late.values()))
        if s["frames_dropped"]:
            note.append("%d frames dropped" % s["frames_dropped"])
        note.append("load %.1f" % s["load_before"])
        spread = "—" if "min_s" not in s else "%.2f / %.2f / %.2f" % (s["min_s"], s["median_s"], s["max_s"])
        verified = "%d/%d" % (s["verified"], s["hosts"])
        fixed = "—" if "first_datagram_s" not in s else " / ".join(
            fmt(s.get(k), "%.3f") for k in ("first_datagram_s", "tail_s", "hook_s", "get_join_s"))
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %.2f | %.2f | %s | %s |" % (
            s["round"], label(s), verified, fmt(s.get("last_s")), spread,
            fmt(s.get("ratio"), "%.3f"), fmt(s.get("ratio_own_start"), "%.3f"), s["seeder_copies"], max(s["uplink_copies"], default=0),
            fixed, "; ".join(note)))
    return "\n".join(lines) + "\n"


def aggregate(summary):
    """Per (round, tool): runs, runs with every host verified, median and worst last / ideal."""
    groups = {}
    for s in summary:
        groups.setdefault((s["round"], s["tool"]), []).append(s)
    rows = []
    for (rnd, tool), runs in groups.items():
        timed = [s for s in runs if "hosts" in s]
        ratios = [s["ratio"] for s in timed if s.get("ratio") is not None]
        own = [s["ratio_own_start"] for s in timed if s.get("ratio_own_start") is not None]
        failed = [s for s in timed if s.get("ratio") is None or s["status"] != "ok"]
        rows.append({"round": rnd, "tool": tool, "title": round_title(runs[0]), "runs": len(timed),
                     "skipped": len(runs) - len(timed),
                     "all_verified": sum(1 for s in timed if s.get("ratio") is not None),
                     "ok": sum(1 for s in timed if s.get("ratio") is not None and s["status"] == "ok"),
                     "median_ratio": round(statistics.median(ratios), 3) if ratios else None,
                     "worst_ratio": max(ratios) if ratios else None,
                     "median_own_start": round(statistics.median(own), 3) if own else None,
                     "worst_own_start": max(own) if own else None,
                     "ideal_basis": runs[0]["ideal_basis"], "ideal_s": runs[0]["ideal_s"],
                     "failures": ["#%d %s" % (s["run"], s["status"] if s["status"] != "ok" else "incomplete")
                                  for s in failed]})
    return rows


def aggregate_table(rows):
    lines = ["| scenario | tool | runs | every host verified | median last / ideal | worst last / ideal "
             "| from its start: median / worst | ideal | failed runs | what |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for a in rows:
        worst = fmt(a["worst_ratio"], "%.3f")
        if a["all_verified"] < a["runs"]:
            worst += " (+%d not verified)" % (a["runs"] - a["all_verified"])
        lines.append("| %s | %s | %d%s | %d/%d | %s | %s | %s / %s | %s = %.2f s | %s | %s |" % (
            a["round"], a["tool"], a["runs"], " (+%d skipped)" % a["skipped"] if a["skipped"] else "",
            a["all_verified"], a["runs"], fmt(a["median_ratio"], "%.3f"), worst,
            fmt(a["median_own_start"], "%.3f"), fmt(a["worst_own_start"], "%.3f"), a["ideal_basis"], a["ideal_s"],
            ", ".join(a["failures"]) or "—", a["title"] or "—"))
    return "\n".join(lines) + "\n"


def plot(out, rnd, summary):
    """cdf-<round>.png: fraction of hosts done against seconds since t0, one step line per tool."""
    runs = [s for s in summary if s["round"] == rnd and s.get("times_s")]
    if not runs or not shutil.which("gnuplot"):
        return None
    data = os.path.join(out, "cdf-%s.dat" % rnd)
    xmin = 0.8 * min(min(s["times_s"]) for s in runs + [{"times_s": [runs[0]["ideal_s"]]}])
    with open(data, "w") as f:
        for s in runs:
            f.write("%.3f 0\n" % xmin)
            for i, t in enumerate(s["times_s"], 1):
                f.write("%.3f %.4f\n" % (t, i / s["hosts"]))
            f.write("\n\n")
    png = os.path.join(out, "cdf-%s.png" % rnd)
    ideal = runs[0]["ideal_s"]
    title = round_title(runs[0])
    curves = ", ".join("'%s' index %d using 1:2 with steps lw 2 title '%s'" % (data, i, label(s).replace("'", ""))
                       for i, s in enumerate(runs))
    script = "\n".join([
        "set terminal png size 900,540",
        "set output '%s'" % png,
        "set title 'Completion-time CDF, %s (ideal %s = %.2f s)'" % (title.replace("'", ""), runs[0]["ideal_basis"], ideal),
        "set xlabel 'seconds since the source started'",
        "set ylabel 'fraction of hosts with verified data'",
        "set yrange [0:1.05]", "set logscale x", "set xrange [%.3f:*]" % xmin, "set key bottom right",
        "set grid", "set arrow from %.3f,0 to %.3f,1.05 nohead dt 2" % (ideal, ideal),
        "plot " + curves, ""])
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    return png


def main():
    out = sys.argv[1]
    with open(os.path.join(out, "raw.jsonl")) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    summary = [summarize(out, r) for r in rows]
    rounds = list(dict.fromkeys(s["round"] for s in summary))
    plots = {r: plot(out, r, summary) for r in rounds}
    meta = rows[0] if rows else {}
    head = ("Release %.1f MiB, %s racks x %s hosts, host links %s Mbit/s, uplinks %s Mbit/s, "
            "MTU %s, multicast rate %s%s; ideal S/B = %.2f s.\n\n" % (
                meta.get("size", 0) / 2**20, meta.get("racks"), meta.get("host_count", 0) // max(meta.get("racks", 1), 1),
                meta.get("host_mbit"), meta.get("uplink_mbit"), meta.get("mtu", 1500), meta.get("rate"),
                ", crowcast datagrams authenticated (--mcast-key)" if meta.get("mcast_auth") else "", meta.get("sb_s", meta.get("ideal_s", 0))))
    if meta.get("rate") and meta.get("host_mbit"):
        head += ("crowcast's framing floor: %d-byte frames for %d-byte chunks at %s on %s Mbit/s links = %.3f x S/B.\n\n"
                 % (*framing(meta), meta["rate"], meta["host_mbit"], floor_of(meta)))
    named = any(s["round"] not in ("noloss", "loss") for s in summary)
    agg = aggregate(summary) if named or any(s["runs"] > 1 for s in summary) else None
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(head + table(summary))
        notes = ["- %s %s: %s" % (s["round"], label(s), s["note"]) for s in summary if s.get("note")]
        if notes:
            f.write("\n" + "\n".join(notes) + "\n")
        if agg:
            f.write("\nOver the runs (median and worst over the runs with every host verified):\n\n"
                    + aggregate_table(agg))
        for r, p in plots.items():
            if p:
                f.write("\nCDF (%s): %s\n" % (r, p))
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"scenarios": summary, "aggregate": agg or [], "plots": plots}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
