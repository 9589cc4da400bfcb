"""Time the ``convcost`` command: startup, one analysis end to end, and the full report with its memory.

Run by hand (not a test): ``python benchmarks/bench_cli.py [--runs N] [--skip-report]``. Targets (issue 10):

- ``convcost --help``, ``--version`` and an argument error: <= 0.3 s each, importing no torch;
- ``convcost analyze efficientnet_b0``: within 1.5x of ``python -c "import torch"`` on the same machine;
- ``convcost report``: <= 10 s on a quiet 2-core machine, <= 400 MB peak RSS in any one of its processes.

Each command runs ``--runs`` times in a fresh process and the median is printed (the machine may be shared:
compare figures taken together); the report runs ``--report-runs`` times, and its fastest run is the
nearest to a quiet machine's. The report's memory is sampled every 50 ms over its whole process tree
from ``/proc`` (Linux only), so each process's peak resident set size is seen, workers included.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
CONVCOST = str(BIN / "convcost")
STARTUP = {
    "convcost --help": [CONVCOST, "--help"],
    "convcost --version": [CONVCOST, "--version"],
    "convcost analyze m --input 1xfoo (error)": [CONVCOST, "analyze", "m", "--input", "1xfoo"],
}
IMPORT_TORCH = [sys.executable, "-c", "import torch"]
ANALYZE = [CONVCOST, "analyze", "efficientnet_b0"]


def seconds(command: list[str]) -> float:
    """Wall-clock seconds of one run of ``command`` (output discarded)."""
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def median_seconds(command: list[str], runs: int) -> float:
    """Median of ``runs`` runs."""
    return statistics.median(seconds(command) for _ in range(runs))


def _children() -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            found.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    return found


def _rss_mib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def report_run(out: Path) -> tuple[float, dict[int, int]]:
    """Seconds of ``convcost report --out out`` and the peak RSS (MiB) of each process of its tree."""
    started = time.perf_counter()
    process = subprocess.Popen([CONVCOST, "report", "--out", str(out), "-q"], stdout=subprocess.DEVNULL)
    peaks: dict[int, int] = {}
    while process.poll() is None:
        children, tree = _children(), [process.pid]
        while tree:
            pid = tree.pop()
            peaks[pid] = max(peaks.get(pid, 0), _rss_mib(pid))
            tree += children.get(pid, [])
        time.sleep(0.05)
    return time.perf_counter() - started, peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per command (default: 5)")
    parser.add_argument("--report-runs", type=int, default=3, help="full reports (default: 3)")
    parser.add_argument("--skip-report", action="store_true", help="startup and analyze only")
    args = parser.parse_args()
    for label, command in STARTUP.items():
        print(f"{label:45s} {median_seconds(command, args.runs):6.2f} s")
    torch_s, analyze_s = median_seconds(IMPORT_TORCH, args.runs), median_seconds(ANALYZE, args.runs)
    print(f"{'python -c ' + repr('import torch'):45s} {torch_s:6.2f} s")
    print(f"{'convcost analyze efficientnet_b0':45s} {analyze_s:6.2f} s  ({analyze_s / torch_s:.2f}x import torch)")
    if args.skip_report:
        return
    walls, largest = [], 0.0
    for _ in range(args.report_runs):
        with tempfile.TemporaryDirectory() as scratch:
            wall, peaks = report_run(Path(scratch) / "report")
        walls.append(wall)
        largest = max(largest, *peaks.values())
    print(f"{'convcost report':45s} {min(walls):6.2f} s  (fastest of {len(walls)}; median "
          f"{statistics.median(walls):.2f} s, slowest {max(walls):.2f} s); largest peak RSS of any process: "
          f"{largest:.0f} MiB")


if __name__ == "__main__":
    main()
