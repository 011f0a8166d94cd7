"""Threads end to end (`thread: true`): what a citizen finds on each account once the engine
has published, corrected or retracted a long text as a chain of posts, read back from the
outbox the way a follower would see it (``worker.ops.citizen_view``)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from adapters.base import OutcomeUnknown, RateLimited
from adapters.capabilities import BLUESKY, MASTODON, X
from tests.enginekit import FakeSourcePlan, hold_still, utc_in, wait_for
from tests.test_corrections import make_world
from worker.engine.sync import apply_plan
from worker.ops.citizen_view import fold

UTC = dt.timezone.utc

PARAGRAPH_ES = ("Abre el plazo de las ayudas al alquiler joven: pueden pedirlas las personas "
                "de 18 a 35 años empadronadas en la villa, con un contrato de alquiler en vigor. "
                "La ayuda cubre hasta el 40 % de la renta mensual durante doce meses.")
PARAGRAPH_CA = ("S'obri el termini de les ajudes al lloguer jove: poden demanar-les les persones "
                "de 18 a 35 anys empadronades a la vila, amb un contracte de lloguer en vigor. "
                "L'ajuda cobreix fins al 40 % de la renda mensual durant dotze mesos.")

CALENDAR = f"""calendar:
  id: alquiler
  title: {{es: Alquiler joven, ca: Lloguer jove}}
  department: promocion
  timezone: Europe/Madrid
  languages: [es, ca]
  sources: [https://example.org/bases]
facts:
  plazo_fin:
    date: 2027-08-20
    label: {{es: el último día para presentar solicitudes, ca: l'últim dia per a presentar sol·licituds}}
entries:
  - id: bases
    category: procedure
    at: "2027-08-02 10:00"
    accounts: [x:ayto-test, bluesky:ayto-test, mastodon:ayto-test]
    thread: true
    images:
      - file: cartel.png
        alt: {{es: Cartel de las ayudas, ca: Cartell de les ajudes}}
    text:
      es: "{PARAGRAPH_ES}\\n\\nLa solicitud se presenta en la sede electrónica o en el registro, con el DNI y el contrato.\\n\\n{PARAGRAPH_ES}\\n\\nEl plazo termina el {{{{ plazo_fin | weekday }}}} {{{{ plazo_fin | long }}}}."
      ca: "{PARAGRAPH_CA}\\n\\nLa sol·licitud es presenta a la seu electrònica o al registre, amb el DNI i el contracte.\\n\\n{PARAGRAPH_CA}\\n\\nEl termini acaba el {{{{ plazo_fin | weekday }}}} {{{{ plazo_fin | long }}}}."
"""

CAPS = {"x": X, "bluesky": BLUESKY, "mastodon": MASTODON}


@pytest.fixture
def world(engine_factory, tmp_path):
    world = make_world(engine_factory(images_root=str(tmp_path / "schedules")), tmp_path)
    world.file.write_text(CALENDAR)
    _png(world.schedules / "cartel.png")
    return world


def _png(path):
    from PIL import Image

    Image.new("RGB", (40, 20), "white").save(path)


def _publish(world, fail_plan=None):
    world.engine.fail_plan = fail_plan
    plans = world.compile()
    assert plans[0].ok, plans[0].findings
    jobs = [dataclasses.replace(j, due_utc=utc_in(1.0)) for p in plans for j in p.jobs]
    apply_plan(world.store, [FakeSourcePlan(plans[0].path, True, tuple(jobs))], dt.datetime.now(UTC))
    for job in jobs:
        wait_for(lambda: world.store.state(job.id) == "published", what=f"{job.id} published")
    world.sync()
    return jobs


def _chain(post):
    """The thread under a visible post: the post, its first reply, that reply's first..."""
    chain = [post]
    while chain[-1].replies:
        chain.append(chain[-1].replies[0])
    return chain


def test_a_long_text_reaches_each_network_as_a_numbered_chain_each_post_within_its_limit(world):
    jobs = _publish(world)
    view = fold(world.records())
    assert len(jobs) == 6 and all(len(job.thread) >= 2 for job in jobs)
    for job in jobs:
        posts = [p for p in view[job.account] if p.text == job.thread[0]]
        assert len(posts) == 1, f"{job.id}: the thread starts once"
        chain = _chain(posts[0])
        # a follower reads the whole text, in order, each part answering the one before
        assert [p.text for p in chain] == list(job.thread)
        assert all(CAPS[job.platform].count(p.text) <= CAPS[job.platform].text_limit for p in chain)
        # the poster goes with the first post only, with its alt text in the post's language
        assert chain[0].images and not any(p.images for p in chain[1:])
        assert chain[0].images[0] == ("Cartel de las ayudas" if job.language == "es"
                                      else "Cartell de les ajudes")
    # each post went out once; the store knows the thread by its first post
    keys = [r["idempotency_key"] for r in world.records()]
    assert len(keys) == len(set(keys)) == sum(len(j.thread) for j in jobs)
    stored = world.store.get(jobs[0].id)
    assert len(stored.ref.extra["thread"].split(",")) == len(jobs[0].thread) - 1


def test_a_moved_deadline_is_corrected_by_one_reply_under_the_first_post(world):
    world.x_age = dt.timedelta(minutes=1)  # inside X's edit window: a thread is still answered
    jobs = _publish(world)
    before = {r["post_id"]: r["text"] for r in world.records("publish")}
    world.set_fact("plazo_fin", "2027-08-27")
    report = world.sync()
    assert report.counts["corrections"] == 6
    world.wait_settled()
    assert not world.records("correct"), "no post of a thread is edited"
    for job in jobs:
        head = next(r for r in world.records("publish") if r["job_id"] == job.id)
        corrections = [r for r in world.records("reply") if r["job_id"].startswith(job.id + "#c")]
        assert len(corrections) == 1
        assert corrections[0]["target"]["post_id"] == head["post_id"]
        text = corrections[0]["text"]
        if job.language == "es":
            assert "«viernes 20 de agosto de 2027»" in text and "viernes 27 de agosto de 2027" in text
    # what was published stays as it was: the correction is the answer under it
    assert {r["post_id"]: r["text"] for r in world.records("publish")} == before


def test_a_cancelled_entry_deletes_every_post_of_the_thread_last_first(world, tmp_path):
    (world.config / "policies.yaml").write_text("retraction:\n  default: delete\n")
    jobs = _publish(world)
    world.file.write_text(CALENDAR.split("entries:")[0] + "entries: []\n")
    world.sync()
    world.wait_settled()
    view = fold(world.records())
    assert not any(view.get(job.account) for job in jobs), view
    for job in jobs:
        posted = [r["post_id"] for r in world.records() if r["job_id"] == job.id
                  and r["action"] in ("publish", "reply")]
        deleted = [r["target"]["post_id"] for r in world.records("retract")
                   if r["job_id"].startswith(job.id + "#c")]
        assert deleted == posted[::-1]
        assert world.store.state(job.id) == "retracted"


def test_a_lost_answer_in_the_middle_of_a_thread_is_looked_up_and_the_rest_goes_once(world):
    lost: set[str] = set()

    def lose_part_two(request):
        if request.idempotency_key.endswith("/2") and request.idempotency_key not in lost:
            lost.add(request.idempotency_key)
            return OutcomeUnknown("timeout after sending part 2")
        return None

    jobs = _publish(world, fail_plan=lose_part_two)
    assert len(lost) == 6
    keys = [r["idempotency_key"] for r in world.records()]
    assert len(keys) == len(set(keys)), "no post of a thread went out twice"
    view = fold(world.records())
    for job in jobs:
        (head,) = [p for p in view[job.account] if p.text == job.thread[0]]
        assert [p.text for p in _chain(head)] == list(job.thread)
        trail = [a["why"] for a in world.store.audit(job.id)]
        # a thread of two is done once its second post is found; a longer one goes on
        found = "lookup found the post" if len(job.thread) == 2 else "lookup found post 2 of"
        assert any(found in why for why in trail), trail


def test_a_rate_limit_on_a_later_post_resumes_the_thread_where_it_stopped(world):
    limited: set[str] = set()

    def limit_part_three(request):
        if request.idempotency_key.endswith("/3") and request.idempotency_key not in limited:
            limited.add(request.idempotency_key)
            return RateLimited("429", retry_after_s=0.2)
        return None

    jobs = _publish(world, fail_plan=limit_part_three)
    assert limited
    keys = [r["idempotency_key"] for r in world.records()]
    assert len(keys) == len(set(keys))
    view = fold(world.records())
    for job in jobs:
        (head,) = [p for p in view[job.account] if p.text == job.thread[0]]
        assert [p.text for p in _chain(head)] == list(job.thread)
    hold_still(lambda: len(world.records()) == len(keys), 0.3, what="nothing more sent")


def test_a_thread_stopped_half_way_when_the_date_changes_finishes_as_begun_then_is_corrected(
        world):
    world.x_age = dt.timedelta(hours=2)
    slowed: set[str] = set()

    def slow_part_two_on_x(request):
        key = request.idempotency_key
        if key.endswith("/2") and "/x:ayto-test/es#" in key and key not in slowed:
            slowed.add(key)
            return RateLimited("429", retry_after_s=2.0)
        return None

    world.engine.fail_plan = slow_part_two_on_x
    plans = world.compile()
    x_es = next(j for j in plans[0].jobs if j.id.endswith("/x:ayto-test/es"))
    apply_plan(world.store, [FakeSourcePlan(plans[0].path, True, (dataclasses.replace(
        x_es, due_utc=utc_in(0.5)),))], dt.datetime.now(UTC))
    wait_for(lambda: world.store.get(x_es.id).fields.get("tp"), what="the first post out")
    first_version = world.store.get(x_es.id).job.thread

    # the deadline moves while the thread waits for its retry: it is neither re-rendered
    # (its second post would contradict its first) nor cancelled
    world.set_fact("plazo_fin", "2027-08-27")
    apply_plan(world.store, [FakeSourcePlan(plans[0].path, True, (dataclasses.replace(
        x_es, due_utc=utc_in(0.5)),))], dt.datetime.now(UTC))
    world.sync()
    assert world.store.get(x_es.id).job.thread == first_version

    wait_for(lambda: world.store.state(x_es.id) == "published", what="the thread finished")
    world.sync()
    world.wait_settled()
    view = fold(world.records())
    (head,) = [p for p in view["x:ayto-test"] if p.text == first_version[0]]
    chain = _chain(head)
    assert [p.text for p in chain] == list(first_version)
    # the correction answers the first post
    (correction,) = [r for r in head.replies if "27 de agosto" in r.text]
    assert "«viernes 20 de agosto de 2027»" in correction.text
