#!/usr/bin/env python3
"""Precision stress: what a capture lacks never makes a finding.

For every capture given (default: captures/, captures/linux/, captures/precision/
and ../shared/captures), derives sub-captures with analyzer/examples/pcap_edit.rs:
started mid-stream at several points, with random runs of frames dropped
(gaps), and kept to one server address. Each is analysed (not declared
complete) and must report only rule ids the whole capture reports: cutting
evidence may leave rules not judged, never create findings.

    scripts/precision-stress.py [--seed N] [--variants K] [CAPTURE...]

Needs the release binaries: `cargo build --release -p trunkcheck` and
`cargo build --release -p trunkcheck-analyzer --example pcap_edit`.
Prints one line per violation of the invariant and a summary; exit 1 if any.
"""
import json, os, random, subprocess, sys, tempfile, glob

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TC = os.path.join(ROOT, "target/release/trunkcheck")
EDIT = os.path.join(ROOT, "target/release/examples/pcap_edit")


def analyze(path):
    out = subprocess.run([TC, "analyze", "--json", path], capture_output=True, text=True)
    try:
        doc = json.loads(out.stdout.strip().splitlines()[0])
    except (ValueError, IndexError):
        return None
    return doc


def frames(path):
    out = subprocess.run([TC, "decode", "--json", path], capture_output=True, text=True)
    n = 0
    for line in out.stdout.splitlines():
        try:
            n = max(n, json.loads(line).get("frame", 0))
        except ValueError:
            pass
    return n


def edit(src, dst, *args):
    r = subprocess.run([EDIT, src, dst, *args], capture_output=True, text=True)
    return r.returncode == 0


def servers(doc):
    return [s["endpoint"] for s in doc.get("servers", [])]


def main():
    args = sys.argv[1:]
    seed, variants = 1, 6
    while args and args[0].startswith("--"):
        if args[0] == "--seed":
            seed = int(args[1]); args = args[2:]
        elif args[0] == "--variants":
            variants = int(args[1]); args = args[2:]
        else:
            sys.exit(__doc__)
    rng = random.Random(seed)
    caps = args or sorted(
        glob.glob(os.path.join(ROOT, "captures/*.pcap"))
        + glob.glob(os.path.join(ROOT, "captures/linux/*.pcap"))
        + glob.glob(os.path.join(ROOT, "captures/precision/*.pcap"))
        + glob.glob(os.path.join(ROOT, "../shared/captures/*.pcap*")))
    bad = checked = 0
    with tempfile.TemporaryDirectory() as tmp:
        for cap in caps:
            whole = analyze(cap)
            if whole is None or not whole.get("servers"):
                continue
            allowed = {f["rule"] for f in whole["findings"]}
            n = max(frames(cap), 2)
            jobs = []
            for k in range(variants):
                out = os.path.join(tmp, f"v{k}.pcap")
                kind = rng.choice(["from", "drop", "drop", "from+drop"])
                if kind in ("from", "from+drop"):
                    start = rng.randint(2, max(2, n - 1))
                    if not edit(cap, out, "from-frame", str(start)):
                        continue
                    src = out
                else:
                    src = cap
                if kind in ("drop", "from+drop"):
                    a = rng.randint(1, n)
                    b = min(n, a + rng.randint(0, max(1, n // 10)))
                    out2 = os.path.join(tmp, f"v{k}d.pcap")
                    if not edit(src, out2, "drop-frames", f"{a}-{b}"):
                        continue
                    src = out2
                jobs.append((kind, src))
            for s in servers(whole):
                out = os.path.join(tmp, "host.pcap")
                if edit(cap, out, "keep-host", s):
                    jobs.append((f"keep-host {s}", out))
                    break
            for kind, path in jobs:
                doc = analyze(path)
                if doc is None:
                    continue
                checked += 1
                extra = [f for f in doc["findings"] if f["rule"] not in allowed]
                for f in extra:
                    bad += 1
                    print(f"{os.path.relpath(cap, ROOT)} [{kind}]: {f['rule']}: {f['message'][:200]}")
    print(f"precision stress: {checked} derived captures, {bad} findings the whole capture does not have")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
