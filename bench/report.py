#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Turns bench/driver.c's TSV output into the markdown report (see run.sh)."""
import argparse
import datetime
import os
import platform
import statistics
import sys
from collections import defaultdict

HELPERS = ("ours", "shadow", "floor")


def quantile(values, q):
    """Linear-interpolated quantile (numpy's default)."""
    v = sorted(values)
    if not v:
        return float("nan")
    pos = (len(v) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def med(values):
    return statistics.median(values) if values else float("nan")


def fmt_ms(ns):
    ms = ns / 1e6
    if ms != ms:
        return "-"
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    if ms >= 100:
        return f"{ms:.0f}"
    if ms >= 10:
        return f"{ms:.1f}"
    return f"{ms:.2f}"


def fmt_ratio(r):
    if r != r:
        return "-"
    if r < 0.1:
        return f"{r:.2g}"
    return f"{r:.2f}" if r < 10 else f"{r:.0f}"


def fmt_mib(kib):
    return "-" if kib != kib else f"{kib / 1024:.1f}"


def load(path):
    lat = defaultdict(lambda: defaultdict(dict))  # tag -> helper -> round -> (ns, rss)
    tput = defaultdict(lambda: defaultdict(dict))  # npar -> helper -> round -> rate
    ref = defaultdict(dict)  # program -> round -> (ns, rss, flt)
    with open(path) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if p[0] == "lat":
                _, tag, helper, rnd, _pos, ns, rss, flt = p
                kind, size, key, lines = tag.split(":")
                lat[(kind, int(size), key, int(lines))][helper][int(rnd)] = (
                    int(ns), int(rss), int(flt))
            elif p[0] == "ref":
                _, name, rnd, ns, rss, flt = p
                ref[name][int(rnd)] = (int(ns), int(rss), int(flt))
            elif p[0] == "tput":
                _, tag, helper, rnd, npar, calls, secs = p
                tput[int(npar)][helper][int(rnd)] = int(calls) / float(secs)
    return lat, tput, ref


def summarize(lat):
    out = {}
    for cfg, by_helper in lat.items():
        s = {}
        for h in HELPERS:
            rounds = by_helper.get(h, {})
            ns = [v[0] for v in rounds.values()]
            rss = [v[1] for v in rounds.values()]
            flt = [v[2] for v in rounds.values()]
            s[h] = dict(n=len(ns), med=med(ns), p10=quantile(ns, 0.1), p90=quantile(ns, 0.9),
                        rss=med(rss), flt=med(flt))
        for other in ("shadow", "floor"):
            common = set(by_helper.get("ours", {})) & set(by_helper.get(other, {}))
            s["ours/" + other] = med([by_helper["ours"][r][0] / by_helper[other][r][0]
                                      for r in common])
        out[cfg] = s
    return out


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    distro = "?"
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    distro = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return f"{distro}, kernel {platform.release()}, {os.cpu_count()} CPUs ({cpu})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--mode", default="full")
    ap.add_argument("--shadow-version", default="?")
    ap.add_argument("--ours-version", default="?")
    ap.add_argument("--out")
    ap.add_argument("--load", default="?")
    a = ap.parse_args()
    lat, tput, ref = load(a.results)
    S = summarize(lat)
    o = []
    w = o.append
    w(f"## newuidmap/newgidmap benchmark ({a.mode} run)\n")
    w(f"- date: {datetime.datetime.fromtimestamp(os.path.getmtime(a.results)).astimezone().strftime('%Y-%m-%d %H:%M %Z')}")
    w(f"- machine: {machine()}; load average (1/5/15 min) before -> after: {a.load}")
    w(f"- ours: newidmap {a.ours_version} (cargo build --release); "
      f"shadow: Debian uidmap {a.shadow_version}; floor: static `int main(){{return 0;}}`; "
      "all three setuid-root copies in one directory")
    w("- caller: unprivileged fixture user; fixtures overlaid on /etc in a private mount namespace; "
      "the caller's subid entry is the last line; other entries are `uN:start:4096`")
    w("- latency = posix_spawn (vfork+exec) + wait4 of the helper only; fresh "
      "unshare(CLONE_NEWUSER) target per call, map read back and checked after every call")
    w("- ratios are medians of per-round ratios (the three helpers run back to back in each "
      "round, order alternating); times are medians with p10-p90")
    if a.mode == "quick":
        w("- **quick mode**: few rounds; shadow skipped for the 340-line call at 1,000,000 entries "
          "and for newgidmap at 1,000,000 entries (marked -)")
    w("")
    w("### Latency per call (ms) and peak RSS (MiB, wait4 ru_maxrss)\n")
    w("| kind | lines | entries | key | ours | shadow | floor | ours/shadow | ours/floor "
      "| RSS ours | RSS shadow | RSS floor | faults ours/shadow/floor | rounds |")
    w("|---|---:|---:|---|---|---|---|---:|---:|---:|---:|---:|---|---|")
    for cfg in sorted(S, key=lambda c: (c[0] != "uid", c[3] != 2, c[3], c[2], c[1])):
        kind, size, key, lines = cfg
        s = S[cfg]

        def cell(h):
            if not s[h]["n"]:
                return "-"
            return f"{fmt_ms(s[h]['med'])} ({fmt_ms(s[h]['p10'])}-{fmt_ms(s[h]['p90'])})"

        rounds = "/".join(str(s[h]["n"]) for h in HELPERS)
        faults = "/".join("-" if not s[h]["n"] else f"{s[h]['flt']:.0f}" for h in HELPERS)
        w(f"| new{kind}map | {lines} | {size:,} | {key} | {cell('ours')} | {cell('shadow')} | "
          f"{cell('floor')} | {fmt_ratio(s['ours/shadow'])} | {fmt_ratio(s['ours/floor'])} | "
          f"{fmt_mib(s['ours']['rss'])} | {fmt_mib(s['shadow']['rss'])} | "
          f"{fmt_mib(s['floor']['rss'])} | {faults} | {rounds} |")
    w("")
    w("RSS includes the spawning driver's own ~0.7 MiB (the kernel charges the pre-exec address "
      "space of a vfork child to ru_maxrss); the floor column shows that baseline. Faults are "
      "minor page faults (wait4 ru_minflt), same baseline.\n")
    if ref.get("floor"):
        w("### Start-up references (2-line newuidmap argv, fresh target each; no-ops write nothing)\n")
        w("| program | time | per-round ratio to the floor | RSS | faults | rounds |")
        w("|---|---|---:|---:|---:|---:|")
        labels = {
            "floor": "floor: static C `return 0`",
            "c-dynamic": "the same C no-op, linked against libc.so.6",
            "rust-dynamic": "Rust no-op built like the helpers (libc.so.6 only, no std start-up)",
            "ours": "ours (newuidmap, whole call, 1-entry file)",
        }
        for name in ("floor", "c-dynamic", "rust-dynamic", "ours"):
            rounds = ref.get(name, {})
            if not rounds:
                continue
            ns = [v[0] for v in rounds.values()]
            common = set(rounds) & set(ref["floor"])
            ratio = med([rounds[r][0] / ref["floor"][r][0] for r in common])
            w(f"| {labels[name]} | {fmt_ms(med(ns))} ({fmt_ms(quantile(ns, 0.1))}-"
              f"{fmt_ms(quantile(ns, 0.9))}) | {fmt_ratio(ratio)} | "
              f"{fmt_mib(med([v[1] for v in rounds.values()]))} | "
              f"{med([v[2] for v in rounds.values()]):.0f} | {len(ns)} |")
        w("")
    if tput:
        w("### Throughput (newuidmap, 2-line request, 1-entry file; verified maps per second; "
          "each call includes creating and reaping its target, also for the floor)\n")
        w("| callers | ours | shadow | floor (execs/s) | ours/shadow | rounds |")
        w("|---:|---:|---:|---:|---:|---:|")
        for npar in sorted(tput):
            t = tput[npar]
            common = set(t.get("ours", {})) & set(t.get("shadow", {}))
            ratio = med([t["ours"][r] / t["shadow"][r] for r in common])
            vals = {h: med(list(t.get(h, {}).values())) for h in HELPERS}
            w(f"| {npar} | {vals['ours']:.0f} | {vals['shadow']:.0f} | {vals['floor']:.0f} | "
              f"{fmt_ratio(ratio)} | {len(t.get('ours', {}))} |")
        w("")

    # Targets from issue 8.
    rows = []

    def check(name, cfgtext, value, limit, text=None):
        ok = value == value and value <= limit
        miss = value != value
        rows.append((name, cfgtext, text or fmt_ratio(value), f"<= {limit:g}",
                     "n/a" if miss else ("pass" if ok else "**MISS**")))

    for kind in ("uid", "gid"):
        for key in ("name", "uid"):
            c1 = S.get((kind, 1, key, 2))
            cm = S.get((kind, 1000000, key, 2))
            tag = f"new{kind}map, key {key}"
            if c1:
                check("2-line, 1 entry: ours/shadow", tag, c1["ours/shadow"], 0.70)
                check("2-line, 1 entry: ours/floor", tag, c1["ours/floor"], 1.30)
            if cm:
                check("2-line, 1,000,000 entries: ours/shadow", tag, cm["ours/shadow"], 0.02)
            c340 = S.get((kind, 1000000, key, 340))
            if c340 and key == "uid":
                check("340-line by UID, 1,000,000 entries: ours/shadow", tag,
                      c340["ours/shadow"], 0.002)
            if c1 and cm:
                check("ours at 1,000,000 / ours at 1 (2-line)", tag,
                      cm["ours"]["med"] / c1["ours"]["med"], 6)
                check("RSS at 1 entry: ours / shadow", tag,
                      c1["ours"]["rss"] / c1["shadow"]["rss"], 1.0,
                      f"{fmt_mib(c1['ours']['rss'])} / {fmt_mib(c1['shadow']['rss'])} MiB")
                check("RSS ours: 1,000,000 / 1 entry", tag,
                      cm["ours"]["rss"] / c1["ours"]["rss"], 1.10,
                      f"{cm['ours']['rss'] / c1['ours']['rss']:.2f}")
            for size in (1, 1000, 100000, 1000000):
                a2, a340 = S.get((kind, size, key, 2)), S.get((kind, size, key, 340))
                if a2 and a340:
                    check("ours 340-line / 2-line", f"{tag}, {size:,} entries",
                          a340["ours"]["med"] / a2["ours"]["med"], 1.2)
    for kind in ("uid", "gid"):
        f2, f340 = S.get((kind, 1, "name", 2)), S.get((kind, 1, "name", 340))
        if f2 and f340:
            r = f340["floor"]["med"] / f2["floor"]["med"]
            rows.append(("(reference) floor 340-line / 2-line: exec copies 1,021 argv strings",
                         f"new{kind}map slot, 1 entry", fmt_ratio(r), "-", "-"))
    if 16 in tput:
        t = tput[16]
        common = set(t.get("ours", {})) & set(t.get("shadow", {}))
        r = med([t["ours"][i] / t["shadow"][i] for i in common])
        rows.append(("throughput, 16 callers: ours/shadow", "newuidmap, 2-line",
                     fmt_ratio(r), ">= 1.3", "pass" if r >= 1.3 else "**MISS**"))
    w("### Targets (issue 8)\n")
    w("| target | configuration | measured | limit | result |")
    w("|---|---|---:|---:|---|")
    for row in rows:
        w("| " + " | ".join(row) + " |")
    w("")
    text = "\n".join(o)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    sys.exit(main())
