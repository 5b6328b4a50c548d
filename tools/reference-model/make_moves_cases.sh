#!/bin/sh
# Generate 40 cases with --moves (bookings changing event/user, rival slot messages, digit-string
# ids) under $MOVES_OUT (default /tmp/moves-cases): seeds 201..240, 150-1500 messages, every
# zone and base currency in turn. MOVES_SAFE=1: --moves-safe instead, seeds 241..280.
set -e
cd "$(dirname "$0")"
python3 - <<'PY'
import os, random, subprocess
from gen import ZONES, CURRENCIES
OUT = os.environ.get("MOVES_OUT", "/tmp/moves-cases")
safe = os.environ.get("MOVES_SAFE") == "1"
bases = CURRENCIES + ["NZD"]
for i, seed in enumerate(range(241, 281) if safe else range(201, 241)):
    r = random.Random(5000 + seed)
    n = r.randint(150, 600) if r.random() < 0.6 else r.randint(600, 1500)
    cmd = ["python3", "gen.py", f"{OUT}/gen-{seed}", str(seed), str(n), "--moves-safe" if safe else "--moves",
           "--zone", ZONES[i % len(ZONES)], "--base", bases[i % len(bases)]]
    if r.random() < 0.7:
        cmd.append("--no-too-large")
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
PY
