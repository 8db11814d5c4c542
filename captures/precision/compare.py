#!/usr/bin/env python3
"""Compares what `trunkcheck analyze` reports on the precision corpus with
the verdicts in the `.expected` files (and `merge/*/expected` for the
directories analysed with `--merge`).

    python3 captures/precision/compare.py [--verbose] [PATH-TO-trunkcheck]

A finding is *right* when its rule id is expected (each expected line is
one finding: findings are matched as a multiset), *wrong* when it is not,
*missed* when an expected line has no finding. Wrong findings that blame
the server with a violation are counted apart ("false server
violations"). Exit status 1 when anything is wrong or missed.
Python 3 standard library only.
"""

import collections
import json
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent


def expected(path):
    return [l.strip() for l in path.read_text().splitlines() if l.strip()]


def analyze(binary, files, merge):
    args = [binary, "analyze", "--json"] + (["--merge"] if merge else []) + [str(f) for f in files]
    out = subprocess.run(args, capture_output=True, text=True, check=False).stdout
    doc = json.loads(out)
    return [(f["rule"], f["party"], f["severity"]) for f in doc["findings"]]


def main():
    args = [a for a in sys.argv[1:] if a != "--verbose"]
    verbose = "--verbose" in sys.argv[1:]
    binary = args[0] if args else str(HERE.parent.parent / "target/release/trunkcheck")
    cases = []
    for pcap in sorted(HERE.glob("*.pcap")) + sorted(HERE.glob("base/*.pcap")):
        cases.append((pcap.relative_to(HERE), [pcap], False, pcap.with_suffix(".expected")))
    for d in sorted(p for p in HERE.glob("merge/*") if p.is_dir()):
        files = sorted(d.glob("*.pcap"))
        cases.append((d.relative_to(HERE), files, True, d / "expected"))
    totals = collections.Counter()
    for name, files, merge, exp_path in cases:
        want = collections.Counter(expected(exp_path))
        got = analyze(binary, files, merge)
        got_ids = collections.Counter(r for r, _, _ in got)
        right = got_ids & want
        wrong = got_ids - want
        missed = want - got_ids
        false_server = collections.Counter()
        budget = collections.Counter(want)
        for rule, party, severity in got:
            if budget[rule] > 0:
                budget[rule] -= 1
            elif party == "server" and severity == "violation":
                false_server[rule] += 1
        totals["captures"] += 1
        totals["expected"] += sum(want.values())
        totals["findings"] += sum(got_ids.values())
        totals["right"] += sum(right.values())
        totals["wrong"] += sum(wrong.values())
        totals["missed"] += sum(missed.values())
        totals["false server violations"] += sum(false_server.values())
        if wrong or missed or verbose:
            state = "ok" if not (wrong or missed) else "DIFFERS"
            print(f"{name}: {state}")
            if wrong:
                print("  wrong:  " + ", ".join(f"{r} x{n}" for r, n in sorted(wrong.items())))
            if missed:
                print("  missed: " + ", ".join(f"{r} x{n}" for r, n in sorted(missed.items())))
    print(
        "{captures} captures/merges: {findings} findings, {right} right, {wrong} wrong "
        "({false server violations} false server violations), {missed} expected findings "
        "missed (of {expected})".format(**totals)
    )
    return 1 if totals["wrong"] or totals["missed"] else 0


if __name__ == "__main__":
    sys.exit(main())
