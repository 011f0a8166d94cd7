"""What every story does: open a town with all its networks, publish the announcement, and
judge what citizens read."""

from __future__ import annotations

import datetime as dt

from tests.enginekit import wait_for
from tests.scenarios import calendars
from tests.scenarios.citizen import Fact, event_problems, states, view_problems
from tests.scenarios.town import account_of, in_seconds, languages_of, render_view

SOCIAL = ("x", "facebook", "instagram", "linkedin", "mastodon", "bluesky", "telegram")
LANGS = ("es", "ca")
TODAY = dt.date.today()
D1 = TODAY + dt.timedelta(days=40)
D2 = D1 + dt.timedelta(days=5)
D3 = D2 + dt.timedelta(days=2)
SESION = dt.datetime.combine(TODAY + dt.timedelta(days=20), dt.time(18, 0))


def open_town(make_town, *, git: bool = True, plazo: dt.date = D1, golive_in_s: float | None = None,
              announce_in_s: float = 6, social=SOCIAL, sesion: dt.datetime = SESION,
              process: bool = False, freeze: tuple[str, str] | None = None):
    """A town with an account on every network and the agenda feed, its calendar committed,
    the engine running (in this process, or in a child process that a story may kill)."""
    town = make_town((*social, "ics"), git=git)
    town.social = social
    town.announce_at = in_seconds(announce_in_s)
    town.golive_at = in_seconds(golive_in_s) if golive_in_s is not None else None
    town.sesion = sesion
    calendars.write_image(town.schedules)
    town.write("ayudas.yaml", calendar(town, plazo), commit="ayudas: anuncio")
    return town.start_process(freeze) if process else town.start()


def calendar(town, plazo: dt.date) -> str:
    return calendars.ayudas(announce_at=town.announce_at, plazo_fin=plazo, sesion=town.sesion,
                            accounts=[account_of(p) for p in town.social],
                            feed=account_of("ics"), golive_at=town.golive_at)


def wait_announced(town, timeout_s: float = 40) -> None:
    wait_for(lambda: all(town.view()[account_of(p)] for p in town.social), timeout_s,
             what="the announcement on every network")
    town.settle()


def assert_citizens_read(town, *values, name: str = "plazo_fin"):
    """Every post and event states the current value, or has its correction under it."""
    fact = Fact(name, values)
    view = town.view()
    events = town.events()
    problems = view_problems(view, languages_of(view, LANGS), [fact])
    problems += event_problems(events, LANGS, [fact])
    print(render_view(view, events))   # what a citizen sees, in the test's log
    assert not problems, "\n".join(problems) + "\n\n" + render_view(view, events)
    return view


def assert_nothing_twice_nothing_lost(town, view) -> None:
    """Each account shows exactly the posts the engine published, each once."""
    refs = town.published_refs()
    for account, posts in view.items():
        shown = [p.post_id for p in posts]
        assert len(shown) == len(set(shown)), f"{account}: a post is shown twice"
        assert set(shown) == refs.get(account, set()), \
            f"{account}: visible {sorted(shown)} but the engine published " \
            f"{sorted(refs.get(account, ()))}\n{render_view(view)}"
        for post in posts:   # a correction sent twice shows as the same reply twice
            replies = [r.text for r in post.replies]
            assert len(replies) == len(set(replies)), \
                f"{account}: a reply twice under {post.post_id}\n{render_view(view)}"


def posters(view) -> dict[str, list[int]]:
    """How many images each visible post carries, per account."""
    return {account: [len(p.media) for p in posts] for account, posts in view.items()}


def says_on_every_network(town, value: dt.date) -> None:
    """Every network states ``value`` in each language: in a post, or in the correction under
    it (Instagram and Bluesky cannot edit)."""
    view = town.view()
    for platform in town.social:
        posts = view[account_of(platform)]
        for lang in LANGS:   # one post per language, or one post with both
            assert any(states(text, value, lang) for p in posts for text in p.thread()), \
                f"{platform} [{lang}]: {render_view({account_of(platform): posts})}"
