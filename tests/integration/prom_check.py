#!/usr/bin/env python3
"""Strict check of a Prometheus text-format file (exposition format 0.0.4), as promtool's
`check metrics` would read it: every line is a HELP, a TYPE or a sample; TYPE comes before a
family's samples and once; a family's samples are contiguous; names and label names are valid;
label values escape only \\\\, \\" and \\n; no label set repeats; values are floats (NaN, +Inf, -Inf
allowed); counters end in _total; the file ends with a newline.

usage: prom_check.py FILE [NAME=VALUE ...]   each NAME=VALUE (NAME may carry {labels}) must be a
sample of the file with that value. Prints the samples as NAME{labels} VALUE on success."""
import math
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
VALUE = r'"(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(rf"^({NAME})(\{{(?:{LABEL}={VALUE}(?:,{LABEL}={VALUE})*)?\}})? (\S+)( -?\d+)?$")
LABEL_PAIR = re.compile(rf"({LABEL})=({VALUE})")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def fail(n, why):
    sys.exit(f"prom_check: line {n}: {why}")


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    if not text.endswith("\n"):
        sys.exit("prom_check: the file does not end with a newline")
    typed, helped, done, seen, samples = {}, set(), set(), set(), {}
    current = None
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            if len(parts) < 4 or not re.fullmatch(NAME, parts[2]):
                fail(n, f"malformed {parts[1]} line")
            name = parts[2]
            if name in done:
                fail(n, f"{name} comes back after other families")
            if parts[1] == "HELP":
                if name in helped:
                    fail(n, f"second HELP for {name}")
                if re.search(r"\\[^\\n]", parts[3]):
                    fail(n, "bad escape in HELP")
                helped.add(name)
            else:
                if name in typed:
                    fail(n, f"second TYPE for {name}")
                if parts[3] not in TYPES:
                    fail(n, f"unknown type {parts[3]!r}")
                if parts[3] == "counter" and not name.endswith("_total"):
                    fail(n, f"counter {name} does not end in _total")
                typed[name] = parts[3]
            if current and current != name:
                done.add(current)
            current = name
            continue
        if line.startswith("#") or not line:
            fail(n, "not a HELP, TYPE or sample line")
        m = SAMPLE.match(line)
        if not m:
            fail(n, f"malformed sample: {line!r}")
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        if name not in typed:
            fail(n, f"sample of {name} before its TYPE")
        if name in done or (current and current != name):
            fail(n, f"samples of {name} are not contiguous")
        current = name
        pairs = LABEL_PAIR.findall(labels)
        if len({k for k, _ in pairs}) != len(pairs):
            fail(n, "a label repeats")
        key = name + labels
        if key in seen:
            fail(n, f"{key} repeats")
        seen.add(key)
        try:
            v = float(value)
        except ValueError:
            fail(n, f"value {value!r} is not a float")
        if value.lower() in ("nan", "inf", "+inf", "-inf") and value not in ("NaN", "+Inf", "-Inf"):
            fail(n, f"value {value!r} is not spelt as the format says")
        samples[key] = v
    for want in sys.argv[2:]:
        key, _, value = want.rpartition("=")
        if key not in samples:
            sys.exit(f"prom_check: no sample {key}")
        if not (samples[key] == float(value) or (math.isnan(samples[key]) and math.isnan(float(value)))):
            sys.exit(f"prom_check: {key} is {samples[key]}, not {value}")
    for k, v in samples.items():
        print(f"{k} {v:.17g}")


main()
