#!/usr/bin/env python3
"""Independent reference model: `python3 model.py CASE_DIR [OUT]`.

Reads CASE_DIR/input.jsonl and CASE_DIR/config.json, writes the expected figures
(same shape as shared/conformance/cases/*/expected.json) to OUT, default stdout.
Lines are ingested in file order, as the conformance README says.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import Report  # noqa: E402
from state import State  # noqa: E402


def run(lines, config):
    """-> (state after ingesting every line in order, expected figures)."""
    state = State()
    for index, line in enumerate(lines):
        state.ingest(index, json.loads(line)["raw"])
    return state, Report(state, config).expected()


def compute(lines, config):
    return run(lines, config)[1]


def read_case(case_dir):
    with open(os.path.join(case_dir, "input.jsonl"), encoding="utf-8") as fh:
        lines = [ln for ln in fh.read().split("\n") if ln.strip()]
    with open(os.path.join(case_dir, "config.json"), encoding="utf-8") as fh:
        config = json.load(fh)
    return lines, config


def dumps(expected):
    return json.dumps(expected, indent=1, sort_keys=True, ensure_ascii=False)


def main(argv):
    if len(argv) not in (2, 3):
        sys.exit(__doc__)
    text = dumps(compute(*read_case(argv[1])))
    if len(argv) == 3:
        with open(argv[2], "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    else:
        sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main(sys.argv)
