"""Corrections end to end: real redis-server, dispatcher, dramatiq worker, adapters over the
outbox with each platform's own capabilities (X's 30-minute edit window, Facebook's edits,
Bluesky's lack of edits, the iCalendar feed).

The originals are published first (their instants pulled to "in a second"), then the calendar
file changes on disk as a commit would change it, and ``sync_once`` does what the service does.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest

from adapters import capabilities_for
from adapters.base import OutcomeUnknown
from adapters.outbox import OutboxAdapter
from tests.enginekit import FakeSourcePlan, hold_still, utc_in, wait_for
from worker.corrections import engine as ceng, writeback
from worker.corrections.overrides import engine_compile
from worker.engine.sync import apply_plan, sync_once

UTC = dt.timezone.utc

ACCOUNTS = """accounts:
  x:ayto-test: {handle: "@AytoTest", department: comunicacion, also_departments: [promocion]}
  facebook:ayto-test: {handle: AytoTest, department: comunicacion, also_departments: [promocion],
                       options: {page_id: "1234567890"}}
  bluesky:ayto-test: {handle: aytotest.bsky.social, department: comunicacion, also_departments: [promocion]}
  mastodon:ayto-test: {handle: "@ayto@social.example.org", department: comunicacion,
                       also_departments: [promocion], options: {instance: "https://social.example.org"}}
  telegram:ayto-test: {handle: "@aytotest", department: comunicacion, also_departments: [promocion]}
  ics:ayto-test: {handle: agenda, department: comunicacion, also_departments: [promocion]}
"""
DEPARTMENTS = """departments:
  comunicacion: {name: Gabinete de Comunicación}
  promocion: {name: Promoción Económica}
"""
POLICIES = """retraction:
  default: reply
  platforms: {ics: delete}
"""

CALENDAR = """# Ayudas de prueba: el plazo se escribe UNA vez.
calendar:
  id: ayudas-test
  title:
    es: "Ayudas de prueba"
    ca: "Ajudes de prova"
  department: promocion
  timezone: Europe/Madrid
  languages: [es, ca]
  sources:
    - https://example.org/bases

facts:
  plazo_fin:
    date: 2027-08-20   # fecha del BOP
    label:
      es: "el último día para presentar solicitudes"
      ca: "l'últim dia per a presentar sol·licituds"
  sesion:
    datetime: "2027-07-15 18:00"

entries:
  - id: anuncio
    category: procedure
    at: "2027-08-02 10:00"
    accounts: [x:ayto-test, facebook:ayto-test, bluesky:ayto-test]
    text:
      es: "Ayudas de prueba: solicitudes hasta el {{ plazo_fin | weekday }} {{ plazo_fin | long }}."
      ca: "Ajudes de prova: sol·licituds fins al {{ plazo_fin | weekday }} {{ plazo_fin | long }}."

  - id: sesion-informativa
    kind: event
    category: event
    at: "2027-07-10 10:00"
    accounts: [ics:ayto-test, telegram:ayto-test]
    text:
      es: "Sesión informativa el {{ sesion | day_month }} a las {{ sesion | time }} h."
      ca: "Sessió informativa el {{ sesion | day_month }} a les {{ sesion | time }} h."
    event:
      start: sesion
      title: {es: "Sesión informativa", ca: "Sessió informativa"}
      place: {es: "Casa de Cultura", ca: "Casa de Cultura"}
      description: {es: "Entrada libre.", ca: "Entrada lliure."}

  - id: recordatorio
    category: procedure
    at: {before: plazo_fin, days: 3, time: "10:00"}
    accounts: [x:ayto-test]
    text:
      es: "Quedan tres días: el plazo acaba el {{ plazo_fin | day_month }}."
      ca: "Queden tres dies: el termini acaba el {{ plazo_fin | day_month }}."
"""

PUBLISHED_ENTRIES = ("anuncio", "sesion-informativa")


@dataclasses.dataclass
class World:
    engine: object
    schedules: Path
    config: Path
    file: Path
    #: X posts are "published" two hours ago unless a test says otherwise (edit window passed)
    x_age: dt.timedelta = dt.timedelta(hours=2)

    @property
    def store(self):
        return self.engine.store

    def adapter(self, account: str):
        platform = account.split(":")[0]
        if platform == "ics":
            from adapters.ics import IcsAdapter

            return IcsAdapter(account, self.engine.home)
        clock = (lambda: dt.datetime.now(UTC) - self.x_age) if platform == "x" else \
            (lambda: dt.datetime.now(UTC))
        return OutboxAdapter(account, capabilities_for(platform), self.engine.home, clock=clock,
                             fail_plan=lambda r: self.engine.fail_plan(r) if self.engine.fail_plan else None)

    def records(self, action: str | None = None, job_prefix: str = "") -> list[dict]:
        path = self.engine.home / "outbox.jsonl"
        if not path.exists():
            return []
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return [r for r in rows if (action is None or r["action"] == action)
                and r["job_id"].startswith(job_prefix)]

    def compile(self):
        return engine_compile(self.store, self.schedules, self.config, dt.datetime.now(UTC))

    def publish_entries(self, entries=PUBLISHED_ENTRIES, fail_plan=None):
        """Publish the entries' jobs now (instants pulled to ~1 s from now), then sync for real
        so the store holds exactly what the calendar compiles to."""
        plans = self.compile()
        jobs = [dataclasses.replace(j, due_utc=utc_in(1.0)) for p in plans for j in p.jobs
                if j.entry in entries]
        apply_plan(self.store, [FakeSourcePlan(plans[0].path, True, tuple(jobs))],
                   dt.datetime.now(UTC))
        for job in jobs:
            wait_for(lambda: self.store.state(job.id) == "published", what=f"{job.id} published")
        self.sync()
        return jobs

    def sync(self):
        return sync_once(self.store, self.schedules, self.config)

    def set_fact(self, fact: str, value: str):
        text, _ = writeback.set_fact_text(self.file.read_text(), fact, value)
        self.file.write_text(text)

    def wait_settled(self, timeout_s: float = 15.0):
        """Every correction sent and every original back to published/retracted."""
        def settled():
            states = {s.state for s in self.store.summaries().values()}
            return not states & {"needs_correction", "orphaned", "correcting", "dispatched",
                                 "publishing", "uncertain"} or None
        wait_for(lambda: settled() and not [s for s in self.store.summaries().values()
                                            if s.of and s.state == "scheduled"],
                 timeout_s, what="corrections settled")


def make_world(engine, tmp_path) -> World:
    schedules, config = tmp_path / "schedules", tmp_path / "config"
    schedules.mkdir()
    config.mkdir()
    (config / "accounts.yaml").write_text(ACCOUNTS)
    (config / "departments.yaml").write_text(DEPARTMENTS)
    (config / "policies.yaml").write_text(POLICIES)
    file = schedules / "ayudas.yaml"
    file.write_text(CALENDAR)
    world = World(engine, schedules, config, file)
    engine.adapter_for_account = world.adapter
    return world


@pytest.fixture
def world(engine, tmp_path):
    return make_world(engine, tmp_path)


X_ES = "ayudas-test/anuncio/x:ayto-test/es"
X_CA = "ayudas-test/anuncio/x:ayto-test/ca"
FB = "ayudas-test/anuncio/facebook:ayto-test/es+ca"
BSKY_ES = "ayudas-test/anuncio/bluesky:ayto-test/es"
ICS = "ayudas-test/sesion-informativa/ics:ayto-test/es+ca"
REMINDER_ES = "ayudas-test/recordatorio/x:ayto-test/es"


def publishes_once(world: World):
    counts: dict[str, int] = {}
    for record in world.records("publish"):
        counts[record["job_id"]] = counts.get(record["job_id"], 0) + 1
    assert counts and all(n == 1 for n in counts.values()), counts
    corrections: dict[str, int] = {}
    for record in world.records():
        if "#c" in record["job_id"]:
            corrections[record["job_id"]] = corrections.get(record["job_id"], 0) + 1
    assert all(n == 1 for n in corrections.values()), corrections


def test_a_deadline_moved_in_git_replies_on_x_edits_facebook_and_moves_pending_posts(world):
    world.publish_entries()
    reminder = world.store.get(REMINDER_ES)
    assert reminder.state == "scheduled" and "20 de agosto" in reminder.job.text

    world.set_fact("plazo_fin", "2027-08-27")
    report = world.sync()
    assert report.counts["corrections"] == 5 and report.counts["moves"] == 2
    world.wait_settled()

    # X (outside its edit window): a reply under the post, in the post's language
    (reply_es,) = world.records("reply", X_ES)
    assert reply_es["target"]["post_id"] == world.records("publish", X_ES)[0]["post_id"]
    assert "CORRECCIÓN sobre el último día para presentar solicitudes" in reply_es["text"]
    # the whole phrase as citizens read it, weekday included: never "viernes" + a new day
    assert "«viernes 20 de agosto de 2027»" in reply_es["text"]
    assert "«viernes 27 de agosto de 2027»" in reply_es["text"]
    (reply_ca,) = world.records("reply", X_CA)
    assert "CORRECCIÓ" in reply_ca["text"] and "27 d’agost del 2027" in reply_ca["text"]
    # Facebook: the combined post edited in place, with a note in each language
    (edit,) = world.records("correct", FB)
    assert edit["target"]["post_id"] == world.records("publish", FB)[0]["post_id"]
    assert "viernes 27 de agosto de 2027" in edit["text"] and "divendres 27 d’agost" in edit["text"]
    assert "(Corregido:" in edit["text"] and "(Corregit:" in edit["text"]
    # Bluesky cannot edit: a reply
    assert len(world.records("reply", BSKY_ES)) == 1
    # the pending reminder moved and re-rendered
    reminder = world.store.get(REMINDER_ES)
    assert reminder.state == "scheduled" and "27 de agosto" in reminder.job.text
    assert reminder.job.due_utc.date() == dt.date(2027, 8, 24)
    # the originals carry the corrected version, and its history
    original = world.store.get(FB)
    assert original.state == "published" and original.fields["v"] == "2"
    assert "27 de agosto" in original.job.text
    versions = world.store.versions(FB)
    assert [v["v"] for v in versions] == [1, 2] and "20 de agosto" in versions[0]["text"]
    assert "plazo_fin: 2027-08-20 -> 2027-08-27" in versions[1]["why"]
    # the correction went through the engine: claimed, dispatched, audited
    trail = [(a["from"], a["to"]) for a in world.store.audit(X_ES + "#c2")]
    assert trail == [("-", "scheduled"), ("scheduled", "dispatched"), ("dispatched", "publishing"),
                     ("publishing", "published")]
    publishes_once(world)
    # a second sync changes nothing: the same correction is never sent twice
    again = world.sync()
    assert again.counts["corrections"] == 0
    hold_still(lambda: len(world.records("reply", X_ES)) == 1, 0.5, what="a single reply")


def test_a_sync_that_flags_published_posts_plans_their_corrections_with_one_store_scan(
        world, monkeypatch):
    from worker.engine.store import Store

    world.publish_entries()
    world.set_fact("plazo_fin", "2027-08-27")
    scans = []
    every_job_values = Store.every_job_values
    monkeypatch.setattr(Store, "every_job_values",
                        lambda self, *f: scans.append(f) or every_job_values(self, *f))
    report = world.sync()
    assert report.counts["corrections"] == 5
    # the planner started from the sync's own summaries, brought up to date by its apply
    assert len(scans) == 1
    world.wait_settled()
    assert len(world.records("reply", X_ES)) == 1 and len(world.records("correct", FB)) == 1


def test_x_inside_its_edit_window_is_edited_and_gets_a_new_post_id(world):
    world.x_age = dt.timedelta(0)
    world.publish_entries(("anuncio",))
    world.set_fact("plazo_fin", "2027-08-27")
    world.sync()
    world.wait_settled()
    (edit,) = world.records("correct", X_ES)
    first = world.records("publish", X_ES)[0]
    assert edit["post_id"] != first["post_id"] and edit["target"]["post_id"] == first["post_id"]
    assert world.store.get(X_ES).ref.post_id == edit["post_id"]
    assert not world.records("reply", X_ES)


def test_a_version_whose_last_step_went_out_but_was_never_closed_is_closed_by_the_next_sync(
        world, monkeypatch):
    # the engine dies between publishing a correction and closing its version: the post
    # must not stay "correcting" for ever (no later correction could be planned for it)
    world.x_age = dt.timedelta(0)
    world.publish_entries(("anuncio",))
    from worker.corrections import send

    closing = send.finish
    # the crash: the worker's close of the version never happens
    monkeypatch.setattr(send, "finish", lambda *args, **kwargs: False)
    world.set_fact("plazo_fin", "2027-08-27")
    world.sync()
    wait_for(lambda: world.store.state(X_ES + "#c2") == "published", what="the edit sent")
    hold_still(lambda: world.store.state(X_ES) == "correcting", 0.3, what="left correcting")
    monkeypatch.setattr(send, "finish", closing)
    world.sync()
    original = world.store.get(X_ES)
    (edit,) = world.records("correct", X_ES)
    assert original.state == "published" and original.fields["v"] == "2"
    assert original.ref.post_id == edit["post_id"]  # later corrections edit the new version
    assert "27 de agosto" in original.job.text
    assert [v["v"] for v in world.store.versions(X_ES)] == [1, 2]


def test_a_chain_of_three_values_corrects_against_the_latest_published_text(world):
    world.publish_entries(("anuncio",))
    for value in ("2027-08-27", "2027-08-31"):
        world.set_fact("plazo_fin", value)
        world.sync()
        world.wait_settled()
    replies = [r["text"] for r in world.records("reply", X_ES)]
    assert len(replies) == 2
    assert "«viernes 20 de agosto de 2027»" in replies[0]
    assert "«viernes 27 de agosto de 2027»" in replies[0]
    assert "«viernes 27 de agosto de 2027»" in replies[1]
    assert "«martes 31 de agosto de 2027»" in replies[1]
    assert "20 de agosto" not in replies[1]
    edits = world.records("correct", FB)
    assert len(edits) == 2
    assert "martes 31 de agosto de 2027" in edits[1]["text"] and "20 de agosto" not in edits[1]["text"]
    assert "donde decía «viernes 27 de agosto de 2027»" in edits[1]["text"]
    assert [v["v"] for v in world.store.versions(X_ES)] == [1, 2, 3]
    assert world.store.get(FB).fields["v"] == "3"
    publishes_once(world)


def test_a_removed_entry_is_retracted_per_policy_and_the_event_is_cancelled(world):
    world.publish_entries()
    text = writeback.remove_entry_text(world.file.read_text(), "anuncio")
    world.file.write_text(writeback.remove_entry_text(text, "sesion-informativa"))
    report = world.sync()
    assert report.counts["orphans"] == 7
    world.wait_settled()
    (notice,) = world.records("reply", X_ES)
    assert notice["text"].startswith("ANULADO")
    assert world.store.state(X_ES) == "retracted"
    assert world.records("reply", FB)[0]["text"].startswith("ANULADO")
    # the iCalendar feed: STATUS:CANCELLED, never deleted
    feed = next((world.engine.home).rglob("*.ics")).read_text()
    assert "STATUS:CANCELLED" in feed
    assert world.store.state(ICS) == "retracted"
    # the pending reminder of a still-existing entry is untouched
    assert world.store.state(REMINDER_ES) == "scheduled"
    publishes_once(world)


def test_the_event_feed_is_updated_with_a_higher_sequence(world):
    world.publish_entries(("sesion-informativa",))
    world.set_fact("sesion", "2027-07-16 19:00")
    world.sync()
    world.wait_settled()
    feed = next((world.engine.home).rglob("*.ics")).read_text()
    assert "SEQUENCE:1" in feed and "20270716T170000Z" in feed
    # Telegram (combined, editable): edited in place
    (edit,) = world.records("correct", "ayudas-test/sesion-informativa/telegram")
    assert "16 de julio" in edit["text"] and "19:00" in edit["text"]


def test_a_correction_racing_its_original_waits_for_the_outcome(world):
    calls = []

    def unknown_once(request):
        if request.job_id == X_ES and request.action == "publish":
            calls.append(request)
            if len(calls) == 1:
                return OutcomeUnknown("timeout after sending")
        return None

    world.engine.fail_plan = unknown_once
    plans = world.compile()
    jobs = [dataclasses.replace(j, due_utc=utc_in(1.0)) for p in plans for j in p.jobs
            if j.id == X_ES]
    apply_plan(world.store, [FakeSourcePlan("ayudas.yaml", True, tuple(jobs))], dt.datetime.now(UTC))
    wait_for(lambda: world.store.state(X_ES) in ("uncertain", "published"), what="in flight")
    # the change arrives while the outcome is unknown: nothing is corrected or reposted yet
    world.set_fact("plazo_fin", "2027-08-27")
    report = sync_once(world.store, world.schedules, world.config)
    if world.store.state(X_ES) == "uncertain":
        assert X_ES in report.__dict__.get("conflicts", []) or report.counts["deferred"] >= 1
    wait_for(lambda: world.store.state(X_ES) == "published", what="lookup found the post")
    assert not world.records("reply", X_ES)
    world.sync()
    world.wait_settled()
    rows = [r for r in world.records() if r["job_id"].startswith(X_ES)]
    assert [r["action"] for r in rows] == ["publish", "reply"]
    assert "«viernes 27 de agosto de 2027»" in rows[1]["text"]


def test_a_change_while_the_original_is_still_scheduled_only_rerenders_it(world):
    plans = world.compile()
    apply_plan(world.store, plans, dt.datetime.now(UTC))
    world.set_fact("plazo_fin", "2027-08-27")
    report = world.sync()
    assert report.counts["corrections"] == 0 and report.counts["rerenders"] + report.counts["moves"] >= 3
    assert "27 de agosto" in world.store.get(X_ES).job.text
    assert not [s for s in world.store.summaries().values() if s.of]


def test_a_reminder_now_after_the_new_deadline_is_held_not_sent(world):
    world.publish_entries(("anuncio",))
    # the reminder is at plazo_fin - 3 days: make it independent of the deadline, then move
    # the deadline before it
    text = world.file.read_text().replace('at: {before: plazo_fin, days: 3, time: "10:00"}',
                                          'at: "2027-08-17 10:00"')
    text = text.replace("    accounts: [x:ayto-test]\n    text:\n      es: \"Quedan",
                        "    for: plazo\n    role: reminder\n    accounts: [x:ayto-test]\n    text:\n      es: \"Quedan")
    text = text.replace("entries:", "periods:\n  plazo:\n    opens: sesion\n    closes: plazo_fin\n"
                        "    label: {es: \"el plazo\", ca: \"el termini\"}\n\nentries:")
    world.file.write_text(text)
    world.sync()
    assert world.store.state(REMINDER_ES) == "scheduled"
    world.set_fact("plazo_fin", "2027-08-13")
    report = world.sync()
    assert REMINDER_ES in report.held
    stored = world.store.get(REMINDER_ES)
    assert stored.state == "held" and stored.reason == "after_deadline"
    assert "13 de agosto" in stored.job.text          # held with its new text, not sent
    world.wait_settled()
    # the date is fixed again: the reminder is scheduled again, with the right text
    world.set_fact("plazo_fin", "2027-08-27")
    world.sync()
    stored = world.store.get(REMINDER_ES)
    assert stored.state == "scheduled" and "27 de agosto" in stored.job.text


def test_a_post_the_platform_cannot_delete_gets_a_notice_and_an_alert_with_its_link(world):
    world.publish_entries(("anuncio",))
    assert world.store.flag_posted(X_ES, "orphaned", "test", "entry removed")
    # as an Instagram account whose token may not delete posts; the policy asks to delete
    planner = ceng.CorrectionPlanner(world.store, lambda account, platform:
                                     capabilities_for("instagram", delete=False),
                                     lambda platform: "delete")
    report = planner.run()
    assert report.alerts == [X_ES]
    alert = [e for e in world.store.audit(X_ES) if "ALERT" in e.get("why", "")]
    link = world.store.get(X_ES).ref.url
    assert alert and "cannot delete" in alert[0]["why"] and link in alert[0]["why"]
    world.wait_settled()
    (notice,) = world.records("reply", X_ES)
    assert notice["text"].startswith("ANULADO")
    # planning again does not alert twice
    assert planner.run().alerts == []


def test_a_sync_that_corrects_published_posts_reads_config_once(world, monkeypatch):
    import worker.config
    import worker.corrections.overrides

    world.publish_entries(("anuncio",))
    reads = []
    real = worker.config.load_config

    def counted(config_dir):
        reads.append(config_dir)
        return real(config_dir)

    monkeypatch.setattr(worker.config, "load_config", counted)
    monkeypatch.setattr(worker.corrections.overrides, "load_config", counted)
    world.set_fact("plazo_fin", "2027-08-27")
    report = world.sync()
    assert report.counts.get("corrections")  # the planner ran on this sync
    assert world.store.state(X_ES + "#c2")  # its correction planned
    assert len(reads) == 1
