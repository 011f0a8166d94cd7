"""A calendar is untrusted input: an editor commits ``img/cartel.png`` as a symbolic link to a
secret of the server (here a fake token outside the calendars' checkout). The real engine,
with the live adapter of every network that uploads files over its twin, never sends it:

* named from the start, the calendar does not load (``image-outside-repo``), nothing is
  scheduled, nothing is sent;
* swapped in after the calendar was linted and scheduled (a ``git pull`` between the sync and
  the instant), every job of the entry fails for good at send time, with the entry and the
  rule, and no adapter is ever handed the request.

In both, the secret's bytes appear in no request body any platform received."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.enginekit import wait_for
from tests.scenarios.town import account_of, in_seconds, local
from tests.twins.base import png_bytes

#: every network pregonero uploads a local file to (Instagram fetches a URL instead)
UPLOADERS = ("x", "facebook", "linkedin", "mastodon", "bluesky", "telegram")
SECRET = b"calp_x_token=AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid%2BULvsea4JtiGRiSDSJSI"


def calendar(at: dt.datetime) -> str:
    accounts = ", ".join(account_of(p) for p in UPLOADERS)
    return f"""calendar:
  id: villa-fiestas
  title: {{es: "Fiestas", ca: "Festes"}}
  department: comunicacion
  timezone: Europe/Madrid
  languages: [es, ca]
  sources: [https://sede.villa.example/fiestas]
entries:
  - id: cartel
    category: event
    at: "{local(at)}"
    accounts: [{accounts}]
    text:
      es: "Ya está aquí el cartel de las fiestas."
      ca: "Ja està ací el cartell de les festes."
    images:
      - file: img/cartel.png
        alt: {{es: "Cartel de las fiestas", ca: "Cartell de les festes"}}
"""


@pytest.fixture
def spied(monkeypatch):
    """Every request the engine hands to an adapter (Publisher._send is the only door)."""
    from worker.engine.publisher import Publisher

    handed: list = []
    real = Publisher._send

    def spy(request, adapter):
        handed.append(request)
        return real(request, adapter)

    monkeypatch.setattr(Publisher, "_send", staticmethod(spy))
    return handed


def secret_file(town):
    """A fake server secret outside the calendars' checkout (the town's schedules/)."""
    secrets = town.root / "run" / "secrets"
    secrets.mkdir(parents=True, exist_ok=True)
    (secrets / "calp_x_token").write_bytes(SECRET)
    return secrets / "calp_x_token"


def every_body(http) -> list[bytes]:
    """Every request body either HTTP library sent, answered by a twin or not."""
    out = [c.request.body or b"" for c in http.requests.calls]
    out += [c.request.content for c in http.httpx.calls]
    return [b.encode() if isinstance(b, str) else bytes(b) for b in out]


def test_a_calendar_naming_a_link_to_a_secret_does_not_load_and_sends_nothing(
        make_town, spied):
    town = make_town(UPLOADERS)
    (town.schedules / "img").mkdir()
    (town.schedules / "img" / "cartel.png").symlink_to(secret_file(town))
    town.write("fiestas.yaml", calendar(in_seconds(4)), commit="fiestas: cartel")
    town.start()
    status = town.store.sync_status()
    (errors,) = status["load_errors"].values()
    assert any("[image-outside-repo]" in e and "img/cartel.png" in e for e in errors), errors
    assert not town.store.summaries()
    assert not any(SECRET in body for body in every_body(town.http))
    assert spied == [] and all(not posts for posts in town.view().values())


def test_an_image_swapped_for_a_link_to_a_secret_after_lint_is_refused_at_send_time(
        make_town, spied):
    town = make_town(UPLOADERS)
    (town.schedules / "img").mkdir()
    poster = town.schedules / "img" / "cartel.png"
    poster.write_bytes(png_bytes(4, 3))
    town.write("fiestas.yaml", calendar(in_seconds(8)), commit="fiestas: cartel")
    town.start()
    jobs = wait_for(lambda: (s := town.store.summaries()) and len(s) == 9 and s, 20,
                    what="the entry's nine jobs scheduled")
    assert {s.state for s in jobs.values()} == {"scheduled"}
    # a pull brings a commit that turns the poster into a link to the server's secret
    poster.unlink()
    poster.symlink_to(secret_file(town))

    def all_failed():
        summaries = town.store.summaries()
        return all(s.state == "failed" for s in summaries.values()) and summaries

    failed = wait_for(all_failed, 40, what="every job of the entry failed")
    for job_id, summary in failed.items():
        reason = town.store.get(job_id).fields["r"]
        assert "entry 'cartel' of calendar 'villa-fiestas'" in reason, reason
        assert "image-outside-repo" in reason, reason
    assert spied == [], "an adapter was handed a request"
    assert not any(SECRET in body for body in every_body(town.http))
    assert all(not posts for posts in town.view().values())
    # the sync saw the link too, and kept the last good version (the refused jobs) in place
    assert any("[image-outside-repo]" in e for errors in
               town.store.sync_status()["load_errors"].values() for e in errors)
