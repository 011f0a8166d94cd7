"""``pregonero lint`` refuses an image ``file:`` that leads out of the calendar repository
(``../../../../etc/passwd``, ``/etc/passwd``, ``/run/secrets/...``, a committed link to
/etc/passwd), that is no image (a text file named ``.png``), or that a platform the entry goes
to would refuse (too large for Bluesky, WebP for Facebook): each a located error on the
``file:`` value, exit code 1. The repository root is the git checkout, else the folder named."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.lintkit import FIXTURES, replace
from tests.twins.base import png_bytes
from worker.cli.main import cli

NOW = "2027-01-10T09:00:00Z"
CONFIG = str(FIXTURES / "config")
#: a WebP as its first bytes say (the sniffer needs no more)
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 24


def with_image(file: str, *, entry: str = "recordatorio") -> str:
    """BASE with one image on ``entry``: 'recordatorio' goes to X and Bluesky, 'anuncio' to X
    and Facebook, 'abierto' only to X."""
    image = (f"    images:\n      - file: {file}\n"
             "        alt: {es: Cartel de las ayudas, ca: Cartell de les ajudes}\n")
    anchor = {"recordatorio": "    role: reminder\n", "anuncio": "    role: announcement\n",
              "abierto": "    kind: golive\n"}[entry]
    return replace(anchor, anchor + image)


def file_value_position(text: str) -> tuple[int, int]:
    lines = text.splitlines()
    line = next(i for i, row in enumerate(lines) if row.startswith("      - file: ")) + 1
    return line, len("      - file: ") + 1


@pytest.fixture
def repo(tmp_path):
    """tmp/repo: a git checkout holding schedules/ and schedules/img/."""
    root = tmp_path / "repo"
    (root / "schedules" / "img").mkdir(parents=True)
    (root / ".git").mkdir()
    return root


def lint(calendar: Path, *more: str):
    return CliRunner().invoke(cli, ["lint", str(calendar), *more, "--config", CONFIG,
                                    "--now", NOW], catch_exceptions=False)


def write(repo: Path, text: str) -> Path:
    path = repo / "schedules" / "cal.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def errors_with(result, code: str) -> list[str]:
    return [line for line in result.output.splitlines() if f"[{code}]" in line]


def assert_located(result, calendar: Path, text: str, code: str) -> str:
    assert result.exit_code == 1, result.output
    (line,) = errors_with(result, code)
    row, col = file_value_position(text)
    assert line.startswith(f"{calendar}:{row}:{col}: error: "), line
    return line


@pytest.mark.parametrize("file", ["../../../../etc/passwd", "/etc/passwd",
                                  "/run/secrets/calp_x_token"])
def test_a_path_out_of_the_repository_is_a_located_error(repo, file):
    text = with_image(file)
    calendar = write(repo, text)
    line = assert_located(lint(calendar), calendar, text, "image-outside-repo")
    assert file in line and "root:x:0:0" not in lint(calendar).output


def test_a_committed_link_to_etc_passwd_is_a_located_error_naming_where_it_leads(repo):
    (repo / "schedules" / "img" / "logo.png").symlink_to("/etc/passwd")
    text = with_image("img/logo.png")
    calendar = write(repo, text)
    result = lint(calendar)
    line = assert_located(result, calendar, text, "image-outside-repo")
    assert "symbolic link" in line and os.path.realpath("/etc/passwd") in line
    assert "schedules/img/" in result.output  # the hint says where images go


def test_a_text_file_renamed_png_is_not_an_image(repo):
    (repo / "schedules" / "img" / "cartel.png").write_text("esto es texto, no una imagen")
    text = with_image("img/cartel.png")
    calendar = write(repo, text)
    line = assert_located(lint(calendar), calendar, text, "image-type")
    assert "not an image" in line


def test_an_image_too_large_for_bluesky_is_an_error_naming_bluesky_and_its_limit(repo):
    (repo / "schedules" / "img" / "cartel.png").write_bytes(png_bytes(2, 2, pad=2_000_100))
    text = with_image("img/cartel.png")  # recordatorio: X (5 MiB, fine) and Bluesky (2 MB)
    calendar = write(repo, text)
    line = assert_located(lint(calendar), calendar, text, "image-too-large")
    assert "bluesky (bluesky:ayto-test)" in line and "2,000,000 bytes" in line
    assert "x:ayto-test" not in line


def test_the_same_large_image_is_fine_for_an_entry_that_only_goes_to_x(repo):
    (repo / "schedules" / "img" / "cartel.png").write_bytes(png_bytes(2, 2, pad=2_000_100))
    calendar = write(repo, with_image("img/cartel.png", entry="abierto"))
    result = lint(calendar)
    assert result.exit_code == 0, result.output
    assert not errors_with(result, "image-too-large")


def test_a_webp_for_facebook_is_an_error_naming_the_types_facebook_takes(repo):
    (repo / "schedules" / "img" / "cartel.png").write_bytes(WEBP)
    text = with_image("img/cartel.png", entry="anuncio")  # X takes WebP, Facebook does not
    calendar = write(repo, text)
    line = assert_located(lint(calendar), calendar, text, "image-type")
    assert "facebook (facebook:ayto-test)" in line and "WebP" in line and "JPEG" in line


@pytest.mark.parametrize("make, code", [
    (lambda img: os.mkfifo(img / "cartel.png"), "image-not-a-file"),
    (lambda img: (img / "cartel.png").mkdir(), "image-not-a-file"),
])
def test_a_pipe_or_a_folder_is_not_an_image_file(repo, make, code):
    make(repo / "schedules" / "img")
    text = with_image("img/cartel.png")
    calendar = write(repo, text)
    assert_located(lint(calendar), calendar, text, code)


def test_a_file_in_the_hidden_git_folder_is_never_an_image(repo):
    (repo / ".git" / "config").write_text("[remote] url = https://token@example.org/r.git")
    text = with_image("../.git/config")
    calendar = write(repo, text)
    assert_located(lint(calendar), calendar, text, "image-hidden-path")


def test_an_image_anywhere_in_the_git_checkout_lints_clean(repo):
    (repo / "img").mkdir()
    (repo / "img" / "cartel.png").write_bytes(png_bytes(4, 3))
    calendar = write(repo, with_image("../img/cartel.png"))
    result = lint(calendar)
    assert result.exit_code == 0, result.output


def test_outside_git_the_folder_named_is_the_repository(tmp_path):
    sched = tmp_path / "sched"
    (sched / "calp").mkdir(parents=True)
    (sched / "img").mkdir()
    (sched / "img" / "cartel.png").write_bytes(png_bytes(4, 3))
    text = with_image("../img/cartel.png")
    calendar = sched / "calp" / "cal.yaml"
    calendar.write_text(text, encoding="utf-8")
    # the service given sched/ (and a lint of sched/) take sched/img/...
    assert lint(sched).exit_code == 0, lint(sched).output
    # ...a calendar linted on its own only has its own folder
    assert_located(lint(calendar), calendar, text, "image-outside-repo")
