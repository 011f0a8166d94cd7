"""One engine process of a story, with the platform twins inside it: ``python -m
tests.scenarios.node STATE_DIR``.

Stories that kill the engine (SIGKILL, no goodbye) need it in a process of its own, and the
twins must outlive it: what a platform did before the kill is what citizens see afterwards.
So the twins are pickled to ``STATE_DIR/twins.pickle`` after every request they answer, and a
new process starts from that file. ``STATE_DIR/spec.json`` says what to run (home, calendars,
config, Redis, timings); ``freeze`` in it names a request (method and URL regex) after which
the process stops dead: the platform has acted, the engine never hears the answer, and the
test kills the process there (``STATE_DIR/frozen`` tells it the moment has come).
"""

from __future__ import annotations

import copyreg
import json
import os
import pickle
import re
import sys
import threading
from pathlib import Path

TWINS_FILE = "twins.pickle"


def _lock_reducers() -> None:
    """Locks cannot be pickled; a twin's locks come back as new, free ones."""
    for kind in (type(threading.Lock()), type(threading.RLock())):
        copyreg.pickle(kind, lambda lock, kind=kind: (threading.Lock if kind is type(
            threading.Lock()) else threading.RLock, ()))


def save_twins(state_dir: Path, twins: dict) -> None:
    _lock_reducers()
    tmp = state_dir / (TWINS_FILE + ".tmp")
    with open(tmp, "wb") as handle:
        pickle.dump(twins, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, state_dir / TWINS_FILE)


def load_twins(state_dir: Path) -> dict:
    _lock_reducers()
    with open(state_dir / TWINS_FILE, "rb") as handle:
        return pickle.load(handle)


def main(state_dir: Path) -> int:
    from tests.twins.base import intercept
    from worker.engine import service
    from worker.engine.publisher import EngineSettings

    spec = json.loads((state_dir / "spec.json").read_text())
    os.environ.update(spec["env"])
    twins = load_twins(state_dir)
    freeze = spec.get("freeze")
    saving = threading.Lock()

    def after(request, reply) -> None:
        with saving:
            save_twins(state_dir, twins)
        if freeze and request.method == freeze[0] and re.search(freeze[1], request.url):
            (state_dir / "frozen").write_text(request.url)
            threading.Event().wait()  # dead still until the test's SIGKILL

    with intercept() as http:
        http.after_each = after
        for twin in twins.values():
            twin.install(http)
        settings = EngineSettings(**{k: tuple(v) if isinstance(v, list) else v
                                     for k, v in spec["settings"].items()})
        return service.run(Path(spec["home"]), Path(spec["schedules"]), Path(spec["config"]),
                           redis_url=spec["redis_url"], settings=settings)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
