#!/bin/sh
# Regenerate every case: gen-1..40 under $CASES_OUT (default /tmp/evently-generated-cases), and the
# small fixtures gen-101..109 the tests run, under test/fixtures/generated.
set -e
cd "$(dirname "$0")"
python3 - <<'PY'
import os, random, subprocess
OUT = os.environ.get("CASES_OUT", "/tmp/evently-generated-cases")
for seed in range(1, 41):
    r = random.Random(1000 + seed)
    if seed > 36:
        n = r.randint(5000, 8000)
    elif r.random() < 0.8:
        n = r.randint(150, 800)
    else:
        n = r.randint(800, 3000)
    subprocess.run(["python3", "gen.py", f"{OUT}/gen-{seed}", str(seed), str(n)], check=True)
# small fixtures: each a different zone / base currency / date story; one carries the >64 KiB message
SMALL = [
    (101, 180, "Asia/Kolkata", "INR", 11, True),
    (102, 220, "Asia/Kathmandu", "EUR", 7, False),
    (103, 260, "Australia/Lord_Howe", "AUD", 6, False),
    (104, 300, "America/Santiago", "CLP", 2, False),
    (105, 240, "Australia/Sydney", "GBP", 4, False),
    (106, 200, "Pacific/Kiritimati", "JPY", 9, False),
    (107, 350, "America/New_York", "USD", 0, False),
    (108, 160, "Pacific/Chatham", "NZD", 12, False),
]
for seed, n, zone, base, anchor, large in SMALL:
    cmd = ["python3", "gen.py", f"../../test/fixtures/generated/gen-{seed}", str(seed), str(n), "--small",
           "--zone", zone, "--base", base, "--anchor", str(anchor)]
    if not large:
        cmd.append("--no-too-large")
    subprocess.run(cmd, check=True)
# one small fixture with bookings that move between events and users, rivals and digit-string ids
subprocess.run(["python3", "gen.py", "../../test/fixtures/generated/gen-109", "109", "300", "--small", "--moves",
                "--zone", "Europe/London", "--base", "EUR", "--anchor", "3", "--no-too-large"], check=True)
PY
