# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: the same web-only deploy under constant load through Caddy, zero downtime on and off.

Run: make bench-cutover (needs the Docker engine and the test images: make platform). Boots the
cutover scenario's VM (molecule create, prepare, converge), runs only its benchmark test
(molecule/cutover/tests/test_bench.py) and removes the VM. Prints, per mode, the requests sent,
the failed ones (no answer or not 2xx), the longest gap between two successful answers and the
worst latency; the same lines go to tests/output/bench-cutover.txt.
"""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIGURES = os.path.join(ROOT, "tests", "output", "bench-cutover.txt")


def molecule(action, env):
    return subprocess.run(["molecule", action, "-s", "cutover"], cwd=ROOT, env=env, check=False).returncode


def main():
    env = dict(os.environ, BERTH_BENCH_CUTOVER="1")
    if os.path.exists(FIGURES):
        os.unlink(FIGURES)
    rc = 0
    try:
        for action in ("destroy", "create", "prepare", "converge", "verify"):
            rc = molecule(action, env)
            if rc != 0:
                print("bench-cutover: molecule %s failed (exit %d)" % (action, rc), file=sys.stderr)
                break
    finally:
        molecule("destroy", env)
    if rc == 0 and os.path.exists(FIGURES):
        with open(FIGURES) as handle:
            print("\n" + handle.read(), end="")
    return rc or (0 if os.path.exists(FIGURES) else 1)


if __name__ == "__main__":
    sys.exit(main())
