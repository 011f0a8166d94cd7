"""A calendar's image ``file:`` only ever leads to a regular image file inside the calendar
repository: hostile paths (``..``, absolute prefixes, symbolic links out of the repository or
to /etc/passwd, hidden folders, pipes) are refused, whatever mix of them an editor writes, and
a file swapped for a link after the check is never read (``worker.image_files``)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.base import Image, PostRequest
from tests.twins.base import png_bytes
from worker.calendar import media
from worker.calendar.media import Refusal
from worker.calendar_root import given_folder, repository_root
from worker.image_files import Found, ImageRefused, locate, read_confined, with_images

SECRET = b"calp_x_token=AAAA-THIS-IS-A-SECRET-0000"


def make_repo(base: Path) -> dict[str, Path]:
    """base/repo (a git checkout: its root) with schedules/calp/, real images and hostile
    links; base/outside with a fake secret; base/repo-old, a sibling whose name extends the
    root's."""
    repo, outside = base / "repo", base / "outside"
    cal = repo / "schedules" / "calp"
    (cal / "img").mkdir(parents=True)
    (repo / ".git").mkdir()
    (repo / ".git" / "config").write_text("[remote] url = https://token@example.org/r.git")
    (repo / "assets").mkdir()
    outside.mkdir()
    (outside / "calp_x_token").write_bytes(SECRET)
    (outside / "cartel.png").write_bytes(png_bytes(2, 2))
    (base / "repo-old").mkdir()
    (base / "repo-old" / "cartel.png").write_bytes(png_bytes(2, 2))
    (cal / "img" / "cartel.png").write_bytes(png_bytes(4, 3))
    (cal / "img" / "plaça 🎉.png").write_bytes(png_bytes(1, 1))
    (repo / "assets" / "escudo.png").write_bytes(png_bytes(2, 2))
    (cal / "img" / "fuera").symlink_to(outside)                      # a folder leading out
    (cal / "img" / "secreto.png").symlink_to(outside / "calp_x_token")
    (cal / "img" / "passwd.png").symlink_to("/etc/passwd")
    (cal / "img" / "dentro.png").symlink_to(repo / "assets" / "escudo.png")  # stays inside
    (cal / "img" / "bucle.png").symlink_to(cal / "img" / "bucle.png")
    (cal / "img" / "carpeta").mkdir()
    os.mkfifo(cal / "img" / "tuberia.png")
    return {"repo": repo, "cal": cal, "outside": outside, "base": base}


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return make_repo(tmp_path_factory.mktemp("confine"))


def found(tree, file: str):
    return locate(file, str(tree["cal"]), str(repository_root(tree["cal"])))


# --- the root -----------------------------------------------------------------------------------


def test_the_root_of_a_calendar_in_a_git_checkout_is_the_checkout(tree):
    assert repository_root(tree["cal"]) == tree["repo"].resolve()


def test_outside_git_the_root_is_the_folder_the_tool_was_given(tmp_path):
    cal = tmp_path / "sched" / "calp"
    cal.mkdir(parents=True)
    assert repository_root(cal, tmp_path / "sched") == (tmp_path / "sched").resolve()
    assert repository_root(cal) == cal.resolve()  # a file named on its own: its folder


def test_the_folder_given_is_the_outermost_named_folder_holding_the_file(tmp_path):
    file = tmp_path / "sched" / "calp" / "a.yaml"
    file.parent.mkdir(parents=True)
    file.write_text("x")
    named = [tmp_path / "sched" / "calp", tmp_path / "sched"]
    assert given_folder(file, named) == tmp_path / "sched"
    assert given_folder(file, [file]) == file.parent


# --- refused before any file is looked at -------------------------------------------------------


@pytest.mark.parametrize("file", ["/etc/passwd", "/run/secrets/calp_x_token", "//etc/passwd",
                                  "C:\\Windows\\win.ini", "\\\\server\\share\\a.png", "c:/a.png"])
def test_an_absolute_path_is_refused_even_when_nothing_is_there(tree, file):
    refusal = found(tree, file)
    assert isinstance(refusal, Refusal) and refusal.code == "image-outside-repo"
    assert "absolute" in refusal.message and "schedules/img/" in refusal.hint


@pytest.mark.parametrize("file", ["img/cartel.png\x00.txt", "img/a\nb.png", "img/\x1b[31m.png"])
def test_a_path_with_a_control_character_is_refused(tree, file):
    assert found(tree, file).code == "image-bad-path"


# --- resolved, then refused ---------------------------------------------------------------------


@pytest.mark.parametrize("file, code", [
    ("../../../../etc/passwd", "image-outside-repo"),
    ("../../../outside/calp_x_token", "image-outside-repo"),
    ("../../../repo-old/cartel.png", "image-outside-repo"),
    ("img/secreto.png", "image-outside-repo"),
    ("img/passwd.png", "image-outside-repo"),
    ("img/fuera/cartel.png", "image-outside-repo"),
    ("img/fuera/../fuera/calp_x_token", "image-outside-repo"),
    ("../../.git/config", "image-hidden-path"),
    ("img/carpeta", "image-not-a-file"),
    ("img/tuberia.png", "image-not-a-file"),
    ("img/bucle.png", "image-not-a-file"),
    ("img/no-existe.png", "missing-image"),
])
def test_a_hostile_or_wrong_path_is_refused_with_its_rule(tree, file, code):
    refusal = found(tree, file)
    assert isinstance(refusal, Refusal), refusal
    assert refusal.code == code, refusal


def test_a_link_out_of_the_repository_says_where_it_leads(tree):
    refusal = found(tree, "img/secreto.png")
    assert "symbolic link" in refusal.message
    assert str(tree["outside"].resolve() / "calp_x_token") in refusal.message
    assert SECRET.decode() not in refusal.message


def test_a_text_file_named_png_is_found_but_is_no_image(tree):
    (tree["cal"] / "img" / "nota.png").write_text("hola, no soy una imagen")
    result = found(tree, "img/nota.png")
    assert isinstance(result, Found) and result.mime is None
    assert media.type_refusal("img/nota.png", result.mime).code == "image-type"


@pytest.mark.parametrize("file", ["img/cartel.png", "./img/cartel.png", "img/../img/cartel.png",
                                  "img/plaça 🎉.png", "../../assets/escudo.png", "img/dentro.png"])
def test_an_image_inside_the_repository_is_found_with_its_type_and_size(tree, file):
    result = found(tree, file)
    assert isinstance(result, Found), result
    assert result.mime == "image/png" and result.size > 0
    assert media.inside(result.real, str(tree["repo"].resolve()))


def test_a_device_or_a_pipe_is_not_a_file_whatever_its_name():
    assert media.kind_refusal("a.png", stat.S_IFCHR | 0o644).code == "image-not-a-file"
    assert "named pipe" in media.kind_refusal("a.png", stat.S_IFIFO | 0o644).message
    assert media.kind_refusal("a.png", stat.S_IFREG | 0o644) is None


def test_inside_compares_whole_components():
    assert not media.inside("/srv/sched-old/a.png", "/srv/sched")
    assert not media.inside("/srv/sched", "/srv/sched")
    assert media.inside("/srv/sched/img/a.png", "/srv/sched")


# --- whatever an editor writes (property tests) -------------------------------------------------

SEGMENTS = st.sampled_from(["..", ".", "", "img", "fuera", "secreto.png", "passwd.png",
                            "dentro.png", "cartel.png", "calp_x_token", "etc", "passwd",
                            "schedules", "calp", "assets", "escudo.png", ".git", "config",
                            "repo-old", "outside", "plaça 🎉.png", "ñ", "Ω", "~", "%2e%2e"])
PREFIXES = st.sampled_from(["", "", "", "/", "//", "./", "../", "C:", "\\\\", "~/"])
HOSTILE = st.builds(lambda prefix, parts, sep: prefix + sep.join(parts), PREFIXES,
                    st.lists(SEGMENTS, min_size=1, max_size=9), st.sampled_from(["/", "//"]))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(file=HOSTILE)
def test_no_mix_of_dots_slashes_prefixes_and_links_resolves_outside_the_repository(tree, file):
    result = found(tree, file)
    if isinstance(result, Found):
        root = str(tree["repo"].resolve())
        assert media.inside(result.real, root), (file, result)
        assert media.hidden_part(result.real, root) is None, (file, result)
        assert stat.S_ISREG(os.stat(result.real).st_mode)
        assert os.path.realpath(result.real) == result.real
        with open(result.real, "rb") as handle:
            assert SECRET not in handle.read()
    else:
        assert result.code in {"image-outside-repo", "image-hidden-path", "image-not-a-file",
                               "image-bad-path", "missing-image"}, (file, result)


@settings(max_examples=200, deadline=None)
@given(file=st.text(max_size=40))
def test_any_text_at_all_gives_a_finding_or_a_file_inside_never_an_exception(tree, file):
    result = found(tree, file)
    if isinstance(result, Found):
        assert media.inside(result.real, str(tree["repo"].resolve()))


#: names an editor may give files: no separators, no leading dot (hidden), no ':' (a name
#: like "c:cartel.png" reads as a Windows drive and is refused on purpose)
NAMES = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\.:"),
                min_size=1, max_size=12)


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(folders=st.lists(NAMES, max_size=3), name=NAMES)
def test_any_image_committed_inside_the_repository_is_accepted(tmp_path, folders, name):
    cal = tmp_path / "repo" / "schedules"
    target = cal.joinpath(*folders, name + ".png")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(png_bytes(1, 1))
    except OSError:  # a name the filesystem does not take (too long in bytes)
        return
    (tmp_path / "repo" / ".git").mkdir(exist_ok=True)
    result = locate("/".join([*folders, name + ".png"]), str(cal), str(repository_root(cal)))
    assert isinstance(result, Found) and result.mime == "image/png", result


# --- at send time: confined again, read once ----------------------------------------------------


def test_a_compiled_path_to_a_link_out_of_the_repository_is_not_read(tree):
    refusal = read_confined(str(tree["cal"] / "img" / "secreto.png"), str(tree["repo"]))
    assert isinstance(refusal, Refusal) and refusal.code == "image-outside-repo"


def test_a_compiled_path_that_is_not_absolute_is_refused(tree):
    assert read_confined("img/cartel.png", str(tree["repo"])).code == "image-outside-repo"


def test_a_compiled_image_inside_is_read_with_its_type(tree):
    data, mime = read_confined(str(tree["cal"] / "img" / "cartel.png"), str(tree["repo"]))
    assert data == png_bytes(4, 3) and mime == "image/png"


def test_a_file_larger_than_any_platform_takes_is_not_read_whole(tree, tmp_path):
    big = tree["cal"] / "img" / "grande.png"
    big.write_bytes(png_bytes(1, 1, pad=2048))
    refusal = read_confined(str(big), str(tree["repo"]), max_bytes=1024)
    assert refusal.code == "image-too-large"


def test_the_last_component_swapped_for_a_link_after_the_check_is_never_opened(
        tree, tmp_path, monkeypatch):
    victim = tree["cal"] / "img" / "cambiado.png"
    victim.write_bytes(png_bytes(1, 1))
    real_kind = media.kind_refusal

    def swap_then_check(file, mode):  # runs between the stat and the open
        if victim.exists() and not victim.is_symlink():
            victim.unlink()
            victim.symlink_to(tree["outside"] / "calp_x_token")
        return real_kind(file, mode)

    monkeypatch.setattr(media, "kind_refusal", swap_then_check)
    refusal = read_confined(str(victim), str(tree["repo"]))
    assert isinstance(refusal, Refusal), "the secret was read"
    victim.unlink()


def test_a_folder_swapped_for_a_link_after_the_check_is_caught_on_the_opened_file(
        tmp_path, monkeypatch):
    paths = make_repo(tmp_path)
    folder = paths["cal"] / "carteles"
    folder.mkdir()
    (folder / "calp_x_token").write_bytes(png_bytes(1, 1))
    real_kind = media.kind_refusal
    swapped = []

    def swap_then_check(file, mode):
        if not swapped:  # the folder now leads to the secret of the same name
            swapped.append(True)
            folder.rename(paths["cal"] / "carteles-antes")
            folder.symlink_to(paths["outside"])
        return real_kind(file, mode)

    monkeypatch.setattr(media, "kind_refusal", swap_then_check)
    refusal = read_confined(str(folder / "calp_x_token"), str(paths["repo"]))
    assert isinstance(refusal, Refusal) and refusal.code == "image-outside-repo", refusal


def request_with(*paths: str) -> PostRequest:
    import datetime as dt

    return PostRequest(job_id="cal/e/x:a/es", account="x:a", action="publish", text="t",
                       language="es", idempotency_key="k", due=dt.datetime.now(dt.timezone.utc),
                       images=tuple(Image(p, "alt") for p in paths))


def test_the_request_an_adapter_gets_carries_the_checked_bytes_and_leaves_urls_alone(tree):
    request = with_images(request_with(str(tree["cal"] / "img" / "cartel.png"),
                                       "https://sede.example.org/c.jpg"), str(tree["repo"]), "e")
    assert request.images[0].data == png_bytes(4, 3)
    assert request.images[1].data is None
    assert "data" not in repr(request.images[0]) and "PNG" not in repr(request)


def test_a_refused_image_fails_the_request_naming_the_rule_never_the_contents(tree):
    with pytest.raises(ImageRefused) as caught:
        with_images(request_with(str(tree["cal"] / "img" / "secreto.png")), str(tree["repo"]),
                    "entry 'anuncio' of calendar 'calp'")
    message = str(caught.value)
    assert "entry 'anuncio' of calendar 'calp'" in message and "image-outside-repo" in message
    assert SECRET.decode() not in message


def test_without_a_calendar_repository_no_local_image_is_sent(tree):
    with pytest.raises(ImageRefused, match="--schedules"):
        with_images(request_with(str(tree["cal"] / "img" / "cartel.png")), None, "e")
