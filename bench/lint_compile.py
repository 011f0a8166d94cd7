"""Benchmark: lint and compile 1,000 generated calendars of 50 entries each.

Prints {"calendars", "entries", "jobs", "seconds", "entries_per_s", "workers",
"lint_one_file_s"} as JSON on its last line. Targets: under 5 s on 2 cores for the whole
set; under 0.5 s for `pregonero lint` on one file (it runs in pre-commit).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from worker.analysis import analyze_file  # noqa: E402
from worker.config import load_config  # noqa: E402

CALENDARS = int(os.environ.get("BENCH_CALENDARS", 1000))
ENTRIES = int(os.environ.get("BENCH_ENTRIES", 50))
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
CONFIG_DIR = ROOT / "tests" / "fixtures" / "config"

HEADER = """\
calendar:
  id: bench-{n}
  title: {{es: Calendario {n}, ca: Calendari {n}}}
  department: promocion
  timezone: Europe/Madrid
  languages: [es, ca]
  holidays: {{region: ES-VC}}
  sources: [https://sede.example.org/bench/{n}]
  hashtags: ["#Test"]
facts:
  publicacion: 2027-03-{day:02d}
  plazo_inicio: {{from: publicacion, calendar_days: 1}}
  plazo_fin: {{from: publicacion, business_days: 20}}
  importe: {{value: "{n}.000 €"}}
periods:
  solicitudes: {{opens: plazo_inicio, closes: plazo_fin}}
entries:
"""

ENTRY = """\
  - id: post-{i}
    for: solicitudes
    at: {{before: plazo_fin, days: {days}, time: "1{h}:{m:02d}"}}
    accounts: [x:ayto-test, facebook:ayto-test, bluesky:ayto-test, mastodon:ayto-test]
    text:
      es: "Recordatorio {i}: ayudas de {{{{ importe }}}} hasta el {{{{ plazo_fin }}}}. Solicítalas en la sede."
      ca: "Recordatori {i}: ajudes de {{{{ importe }}}} fins al {{{{ plazo_fin }}}}. Sol·licita-les a la seu."
    link: https://sede.example.org/bench/{i}
"""


def generate(folder: Path) -> list[Path]:
    paths = []
    for n in range(CALENDARS):
        body = HEADER.format(n=n, day=1 + n % 20)
        body += "".join(ENTRY.format(i=i, days=i % 15, h=i % 10, m=i % 60) for i in range(ENTRIES))
        path = folder / f"cal-{n:04d}.yaml"
        path.write_text(body, encoding="utf-8")
        paths.append(path)
    return paths


_CONFIG = None


def _work(paths: list[str]) -> tuple[int, int, int]:
    global _CONFIG
    if _CONFIG is None:
        _CONFIG = load_config(CONFIG_DIR)
    entries = jobs = errors = 0
    for path in paths:
        result = analyze_file(path, _CONFIG, NOW)
        entries += len(result.compiled)
        jobs += len(result.jobs)
        errors += sum(f.severity == "error" for f in result.findings)
    return entries, jobs, errors


def main() -> None:
    workers = int(os.environ.get("BENCH_WORKERS", os.cpu_count() or 1))
    with tempfile.TemporaryDirectory() as tmp:
        paths = [str(p) for p in generate(Path(tmp))]
        chunks = [paths[i::workers] for i in range(workers)]
        started = time.perf_counter()
        if workers == 1:
            results = [_work(paths)]
        else:
            with ProcessPoolExecutor(workers) as pool:
                results = list(pool.map(_work, chunks))
        seconds = time.perf_counter() - started
        entries = sum(r[0] for r in results)
        jobs = sum(r[1] for r in results)
        errors = sum(r[2] for r in results)
        one = ROOT / "schedules" if (ROOT / "schedules").exists() else Path(paths[0])
        sample = next(iter(sorted(one.rglob("*.yaml"))), Path(paths[0])) if one.is_dir() else one
        exe = Path(sys.executable).with_name("pregonero")
        cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "worker.cli.main"]
        t0 = time.perf_counter()
        subprocess.run(cmd + ["lint", str(sample), "--config", str(ROOT / "config")],
                       cwd=ROOT, capture_output=True)
        lint_one = time.perf_counter() - t0
    print(f"linted and compiled {CALENDARS} calendars x {ENTRIES} entries on {workers} worker(s)",
          file=sys.stderr)
    print(json.dumps({"calendars": CALENDARS, "entries": entries, "jobs": jobs,
                      "errors": errors, "seconds": round(seconds, 3),
                      "entries_per_s": round(entries / seconds), "workers": workers,
                      "lint_one_file_s": round(lint_one, 3),
                      "lint_one_file": str(sample.relative_to(ROOT)) if sample.is_relative_to(ROOT)
                      else sample.name}))


if __name__ == "__main__":
    main()
