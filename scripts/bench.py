"""Benchmark of the local pipeline: wall time of whole commands, as an operator sees them.

Runs ``c2c-pipeline`` in a fresh lake on the given input (the real dataset by default): once
for the full run, once more with no new input (the no-op rerun). Each run is a separate process,
so every figure includes Python and Spark start-up. Writes JSON and Markdown reports.

    make bench [BENCH_INPUT=<folder>]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_INPUT = REPO.parent / "shared" / "data" / "c2c-fashion-store"
STEP_LINE = re.compile(r"^\s{2}(\S[\w -]*?)\s+([\d.]+) s(?:\s+(\w+))?$")


def machine() -> dict[str, object]:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(mem_gb, 1),
        "python": platform.python_version(),
        "system": platform.platform(),
    }


def run_once(input_dir: Path, lake: Path) -> dict[str, object]:
    start = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "c2c_etl.jobs.pipeline",
            "--env",
            "local",
            "--input",
            str(input_dir),
            "--lake",
            str(lake),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - start
    steps = {}
    for line in proc.stdout.splitlines():
        m = STEP_LINE.match(line)
        if m:
            steps[m.group(1).strip()] = float(m.group(2))
    return {"wall_seconds": round(wall, 2), "steps_seconds": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=DEFAULT_INPUT)
    parser.add_argument("--out", type=Path, default=REPO / "bench-results")
    parser.add_argument("--repeat", type=int, default=3, help="full + rerun pairs to time")
    args = parser.parse_args()
    if not any(args.input.glob("*.csv")):
        raise SystemExit(f"no CSV files in {args.input}")
    pairs = []
    for _ in range(args.repeat):
        lake = Path(tempfile.mkdtemp(prefix="c2c-bench-lake-"))
        try:
            pairs.append({"full": run_once(args.input, lake), "rerun": run_once(args.input, lake)})
        finally:
            shutil.rmtree(lake, ignore_errors=True)
    median = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    full = median([p["full"]["wall_seconds"] for p in pairs])
    rerun = median([p["rerun"]["wall_seconds"] for p in pairs])
    report = {
        "machine": machine(),
        "input": str(args.input),
        "runs": pairs,
        "median_full_seconds": full,
        "median_rerun_seconds": rerun,
        "rerun_over_full": round(rerun / full, 3),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(json.dumps(report, indent=2))
    m = report["machine"]
    lines = [
        "# Local pipeline benchmark",
        "",
        f"Machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory_gb']} GB, Python {m['python']}",
        f"Input: {args.input}",
        "",
        "| run | median wall (s) | all runs (s) |",
        "| --- | ---: | --- |",
        f"| full pipeline | {full} | {[p['full']['wall_seconds'] for p in pairs]} |",
        f"| rerun, no new input | {rerun} | {[p['rerun']['wall_seconds'] for p in pairs]} |",
        "",
        f"Rerun / full: {report['rerun_over_full']}",
        "",
        "Per step (first pair, seconds): full "
        + json.dumps(pairs[0]["full"]["steps_seconds"])
        + "; rerun "
        + json.dumps(pairs[0]["rerun"]["steps_seconds"]),
    ]
    (args.out / "bench.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
