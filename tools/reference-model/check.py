#!/usr/bin/env python3
"""Run the model on case folders and diff against their expected.json.

`python3 check.py [--shuffles N] [CASE_DIR ...]` (default: the 9 shared cases, as copied into test/fixtures/conformance).
Numbers compare within 0.01, everything else exactly. Each case is checked in
file order, then N times with its lines shuffled (rejection indices are mapped
back to the original lines before comparing).
"""
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import compute, read_case  # noqa: E402

SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "fixtures", "conformance")


def diff(a, b, path="", out=None):
    out = [] if out is None else out
    num = (int, float)
    if isinstance(a, num) and isinstance(b, num) and not isinstance(a, bool) and not isinstance(b, bool):
        if abs(a - b) > 0.01 + 1e-9:
            out.append(f"{path}: {a} != {b}")
    elif isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}/{k}: only in {'expected' if k in b else 'model'}")
            else:
                diff(a[k], b[k], f"{path}/{k}", out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: length {len(a)} != {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, f"{path}[{i}]", out)
    elif a != b or type(a) is not type(b):
        out.append(f"{path}: {a!r} != {b!r}")
    return out


def check(case_dir, shuffles, seed=0):
    lines, config = read_case(case_dir)
    with open(os.path.join(case_dir, "expected.json"), encoding="utf-8") as fh:
        want = json.load(fh)
    problems = [f"file order {p}" for p in diff(compute(lines, config), want)]
    rng = random.Random(seed)
    for n in range(shuffles):
        perm = list(range(len(lines)))
        rng.shuffle(perm)
        got = compute([lines[i] for i in perm], config)
        got["rejections"] = sorted(
            ({"index": perm[r["index"]], "reason": r["reason"]} for r in got["rejections"]),
            key=lambda r: r["index"])
        problems += [f"shuffle {n} {p}" for p in diff(got, want)]
    return problems


def main(argv):
    shuffles = 3
    if argv[:1] == ["--shuffles"]:
        shuffles, argv = int(argv[1]), argv[2:]
    cases = argv or [os.path.join(SHARED, c) for c in sorted(os.listdir(SHARED))]
    failed = 0
    for case in cases:
        problems = check(case, shuffles)
        print(f"{'ok  ' if not problems else 'FAIL'} {case} ({shuffles} shuffles)")
        for p in problems[:25]:
            print("    " + p)
        failed += bool(problems)
    print(f"{len(cases) - failed}/{len(cases)} cases match")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main(sys.argv[1:])
