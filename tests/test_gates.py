"""The publisher's gate chain (``worker.engine.gates``): gates are asked in order, the first
answer that is not "proceed" is applied as one guarded transition, and a new condition is one
more gate, not one more branch in the publisher."""

from __future__ import annotations

import dataclasses

from tests.enginekit import hold_still, make_job, now, one_file_plan, utc_in, wait_for
from worker.engine import gates
from worker.engine.publisher import default_gates
from worker.engine.store import StoredJob
from worker.engine.sync import apply_plan


@dataclasses.dataclass(frozen=True)
class Always:
    """A gate that gives the same answer about every job it applies to."""

    name: str
    answer: gates.Verdict
    only: str = ""  # applies to this entry only ("" = all)
    at_instant: bool = False
    asked: list = dataclasses.field(default_factory=list)

    def applies(self, stored: StoredJob) -> bool:
        return not self.only or stored.job.entry == self.only

    def verdict(self, stored, adapter):
        self.asked.append(stored.id)
        return self.answer


def stored_job(entry: str = "aviso") -> StoredJob:
    job = make_job(entry, utc_in(60))
    return StoredJob(job.id, "dispatched", job, {})


def test_the_first_gate_that_does_not_proceed_answers_and_later_gates_are_not_asked():
    hold = gates.Hold("storm", "storm warning: posts wait", recheck_ms=None)
    first = Always("first", gates.PROCEED)
    second = Always("second", hold)
    third = Always("third", gates.Fail("never asked"))
    assert gates.first_stop((first, second, third), stored_job(), adapter=None) == ("second", hold)
    assert first.asked and second.asked and not third.asked


def test_a_gate_that_does_not_apply_to_a_job_is_not_asked_about_it():
    other = Always("other", gates.Fail("not for this job"), only="otra-entrada")
    assert gates.first_stop((other,), stored_job(), adapter=None) == ("", gates.PROCEED)
    assert other.asked == []


def test_the_default_chain_is_golive_then_quota(store):
    from worker.engine.publisher import EngineSettings

    chain = default_gates(store, EngineSettings(), lambda: None)
    assert [g.name for g in chain] == ["golive", "quota"]
    # asked at the instant: the official page can change in the last moments; the quota is
    # asked in the dispatcher's lead time
    assert [g.at_instant for g in chain] == [True, False]


def test_a_correction_asks_for_its_request_at_its_instant_and_a_plain_post_in_the_lead_time(store):
    from worker.corrections.send import CorrectionSend
    from worker.engine.publisher import PlainPost

    # the corrected post's state can change in the last moments (a version closed over it)
    assert CorrectionSend(store, lambda stored: None).at_instant is True
    assert PlainPost().at_instant is False


def test_a_new_gate_holds_a_post_with_its_reason_and_nothing_is_published(engine):
    storm = Always("storm", gates.Hold("storm_warning", "storm warning: routine posts wait",
                                       recheck_ms=None, alert=True, event="storm_hold"))
    engine.publisher.gates = (*engine.publisher.gates, storm)
    job = make_job("mercado", utc_in(0.5))
    apply_plan(engine.store, one_file_plan(job), now())
    stored = wait_for(lambda: (s := engine.store.get(job.id)) and s.state == "held" and s,
                      what="held by the new gate")
    assert stored.reason == "storm_warning"
    assert engine.store.audit(job.id)[-1]["why"] == "storm warning: routine posts wait"
    # held for a person at its planned instant, not re-checked
    assert engine.store.r.zscore("pregonero:due", job.id) is None
    hold_still(lambda: not engine.posts(job.id), 0.5, what="nothing published")


def test_a_gate_that_fails_a_post_fails_it_for_a_person_and_nothing_is_published(engine):
    refuse = Always("refuse", gates.Fail("the account is under review"), only="mercado")
    engine.publisher.gates = (*engine.publisher.gates, refuse)
    refused, allowed = make_job("mercado", utc_in(0.5)), make_job("feria", utc_in(0.5))
    apply_plan(engine.store, one_file_plan(refused, allowed), now())
    wait_for(lambda: engine.store.state(refused.id) == "failed", what="failed by the gate")
    wait_for(lambda: engine.posts(allowed.id), what="the other post published")
    assert engine.store.get(refused.id).reason == "the account is under review"
    assert not engine.posts(refused.id)


def test_a_hold_with_a_recheck_is_asked_again_then_and_published_once_it_proceeds(engine):
    answers = iter([gates.Hold("golive_waiting", "not yet", recheck_ms=None)])

    @dataclasses.dataclass
    class OnceThenProceed:
        name: str = "once"
        at_instant: bool = True
        asked: int = 0

        def applies(self, stored):
            return True

        def verdict(self, stored, adapter):
            from worker.engine.clock import now_ms

            self.asked += 1
            hold = next(answers, None)
            return (dataclasses.replace(hold, recheck_ms=now_ms() + 300) if hold
                    else gates.PROCEED)

    gate = OnceThenProceed()
    engine.publisher.gates = (gate,)
    job = make_job("segundo-intento", utc_in(0.5))
    apply_plan(engine.store, one_file_plan(job), now())
    wait_for(lambda: engine.posts(job.id), what="published after the re-check")
    assert gate.asked == 2 and len(engine.posts(job.id)) == 1
    assert "not yet" in [a["why"] for a in engine.store.audit(job.id)]


def test_a_hold_re_checked_at_an_instant_must_have_a_reason_the_dispatcher_re_claims():
    import pytest

    with pytest.raises(ValueError, match="RECHECKED_HOLDS"):
        gates.Hold("waiting_room", "not yet", recheck_ms=1)
    assert gates.Hold("waiting_room", "for a person", recheck_ms=None).reason == "waiting_room"


class Originals:
    """The store as a correction's send side reads it: the original post by its id."""

    def __init__(self, *stored: StoredJob):
        self.by_id = {s.id: s for s in stored}

    def get(self, job_id: str):
        return self.by_id.get(job_id)


def correction_of(original: StoredJob, version: str = "2") -> StoredJob:
    job = make_job("aviso-correccion", utc_in(60))
    return StoredJob(job.id, "dispatched", job, {"o": original.id, "cv": version, "ca": "correct"})


def original_post(state: str, version: str = "2", ref: bool = True) -> StoredJob:
    job = make_job("aviso", utc_in(-600))
    fields = {"cv": version}
    if ref:
        fields["ref"] = '{"platform":"x","account":"x:ayto-test","post_id":"111","url":"https://x.com/a/status/111"}'
    return StoredJob(job.id, state, job, fields)


def test_a_correction_fails_unsent_when_its_original_is_not_waiting_for_its_version():
    from worker.corrections.send import CorrectionSend

    cases = {
        "the original post is not in the store": (Originals(), original_post("correcting")),
        "the original is published, not waiting for version 2":
            (Originals(original_post("published")), original_post("published")),
        "the original is correcting, not waiting for version 2":
            (Originals(original_post("correcting", version="3")), original_post("correcting", "3")),
        "the original has no platform reference":
            (Originals(original_post("correcting", ref=False)), original_post("correcting")),
    }
    for why, (store, original) in cases.items():
        answer = CorrectionSend(store, lambda stored: None).request(correction_of(original))
        assert answer == gates.Fail(f"correction target: {why}"), why


def test_a_correction_ready_to_go_aims_at_the_reference_its_original_holds():
    from worker.corrections.send import CorrectionSend

    original = original_post("correcting")
    request = CorrectionSend(Originals(original), lambda stored: None).request(
        correction_of(original))
    assert not isinstance(request, gates.Fail)
    assert (request.action, request.target.post_id) == ("correct", "111")
