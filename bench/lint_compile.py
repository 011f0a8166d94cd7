"""Benchmark: lint and compile 1,000 generated calendars of 50 entries each.

It times ``worker.lint_run.lint_files``, the call behind ``pregonero lint DIR``: every file is
loaded, validated, built, compiled to jobs and checked, on every core.

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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from worker.config import load_config  # noqa: E402
from worker.lint_run import default_workers, lint_files  # noqa: E402

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
      es: "Recordatorio {i} del calendario {n}: ayudas de {{{{ importe }}}} hasta el {{{{ plazo_fin }}}}. Solicítalas en la sede."
      ca: "Recordatori {i} del calendari {n}: ajudes de {{{{ importe }}}} fins al {{{{ plazo_fin }}}}. Sol·licita-les a la seu."
    link: https://sede.example.org/bench/{n}/{i}
"""


def generate(folder: Path) -> list[str]:
    paths = []
    for n in range(CALENDARS):
        body = HEADER.format(n=n, day=1 + n % 20)
        # every text differs from every other calendar's, as in a real repository: caches
        # keyed by text get no help from the generator
        body += "".join(ENTRY.format(i=i, n=n, days=i % 15, h=i % 10, m=i % 60)
                        for i in range(ENTRIES))
        path = folder / f"cal-{n:04d}.yaml"
        path.write_text(body, encoding="utf-8")
        paths.append(str(path))
    return paths


def main() -> None:
    workers = int(os.environ.get("BENCH_WORKERS", default_workers()))
    config = load_config(CONFIG_DIR)
    with tempfile.TemporaryDirectory() as tmp:
        paths = generate(Path(tmp))
        started = time.perf_counter()
        # the same call as `pregonero lint DIR`: every core, findings and counts back
        result = lint_files(paths, config, NOW, workers)
        seconds = time.perf_counter() - started
        entries, jobs, errors = result.entries, result.jobs, result.errors
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
