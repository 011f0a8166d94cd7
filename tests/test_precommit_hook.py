"""The ``pregonero-lint`` pre-commit hook: a valid manifest, run the way pre-commit runs it
(from the repository root, on the staged files its ``files``/``exclude`` select), without
needing the pre-commit package."""

from __future__ import annotations

import datetime as dt
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.lintkit import BASE, FIXTURES

ROOT = Path(__file__).parent.parent
MANIFEST = ROOT / ".pre-commit-hooks.yaml"
#: what pre-commit requires of every hook in a manifest, and the types it expects
REQUIRED = {"id": str, "name": str, "entry": str, "language": str}
OPTIONAL = {"files": str, "exclude": str, "pass_filenames": bool, "description": str,
            "require_serial": bool, "minimum_pre_commit_version": str, "types": list,
            "args": list, "stages": list, "always_run": bool}


def hook() -> dict:
    hooks = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(hooks, list)
    (found,) = [h for h in hooks if h.get("id") == "pregonero-lint"]
    return found


def test_the_manifest_declares_the_pregonero_lint_hook_with_valid_keys():
    h = hook()
    for key, kind in REQUIRED.items():
        assert isinstance(h.get(key), kind), key
    assert set(h) <= set(REQUIRED) | set(OPTIONAL), set(h) - set(REQUIRED) - set(OPTIONAL)
    for key in set(h) & set(OPTIONAL):
        assert isinstance(h[key], OPTIONAL[key]), key
    assert h["entry"] == "pregonero lint" and h["pass_filenames"] is True
    assert h["files"] == r"\.ya?ml$"
    re.compile(h["files"]), re.compile(h["exclude"])


@pytest.mark.parametrize("path, selected", [
    ("schedules/calp/fiestas-2027.yaml", True), ("pleno.yml", True),
    ("config/accounts.yaml", False), (".github/workflows/lint.yml", False),
    (".pre-commit-config.yaml", False), ("README.md", False), ("img/cartel.png", False),
])
def test_the_hook_selects_calendars_and_leaves_other_yaml_alone(path, selected):
    h = hook()
    assert bool(re.search(h["files"], path) and not re.search(h["exclude"], path)) is selected


def shifted(text: str) -> str:
    """BASE moved two years ahead, so the hook (which lints at the real clock) finds it valid
    whenever the test runs."""
    return text.replace("2027", str(dt.date.today().year + 2))


@pytest.fixture
def calendars_repo(tmp_path):
    repo = tmp_path / "calendarios"
    shutil.copytree(FIXTURES / "config", repo / "config")
    (repo / "schedules").mkdir()
    (repo / "schedules" / "ayudas.yaml").write_text(shifted(BASE), encoding="utf-8")
    bad = shifted(BASE).replace("accounts: [x:ayto-test, bluesky:ayto-test]",
                                "accounts: [x:ayto-tset, bluesky:ayto-test]", 1)
    (repo / "schedules" / "roto.yaml").write_text(bad.replace("id: test-ayudas", "id: roto"),
                                                  encoding="utf-8")
    (repo / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(ROOT / "examples" / "calendars-repo" / ".github" / "workflows" / "lint.yml",
                repo / ".github" / "workflows" / "lint.yml")
    (repo / "README.md").write_text("# calendarios\n", encoding="utf-8")
    return repo


def run_hook(repo: Path, staged: list[str]) -> subprocess.CompletedProcess:
    """What pre-commit does: filter the staged files, run the entry with them as arguments
    from the repository root."""
    h = hook()
    files = [f for f in staged if re.search(h["files"], f) and not re.search(h["exclude"], f)]
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env.pop("PREGONERO_CONFIG", None)
    return subprocess.run([*shlex.split(h["entry"]), *files], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_hook_passes_a_commit_of_good_calendars(calendars_repo):
    result = run_hook(calendars_repo, ["schedules/ayudas.yaml", "config/accounts.yaml",
                                       ".github/workflows/lint.yml", "README.md"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 file(s): 0 error(s)" in result.stderr


def test_the_hook_fails_a_commit_with_a_broken_calendar_and_says_where(calendars_repo):
    result = run_hook(calendars_repo, ["schedules/ayudas.yaml", "schedules/roto.yaml"])
    assert result.returncode == 1
    assert re.search(r"^schedules/roto\.yaml:\d+:\d+: error: .*ayto-tset", result.stdout, re.M)
    assert "schedules/ayudas.yaml" not in result.stdout
