"""The engine's compile (``worker.plan.compile_for_engine``) is pure: on-call changes and what
the store knows come in as data, git is a function it is given, and what the store should
remember comes out as ``PlanEffects`` for the sync to apply. No Redis here."""

from __future__ import annotations

from tests.lintkit import BASE, NOW, config, replace
from worker.corrections.rules import Override
from worker.plan import LastGood, PlanInputs, compile_for_engine

RAISED = replace('importe: {value: "3.000 €"}', 'importe: {value: "4.000 €"}')
CHANGE = Override("test-ayudas", "fact", "importe", value="4.000 €", old="3.000 €",
                  path="cal.yaml", reason="error en el BOP", by="guardia")


def schedules_with(tmp_path, text: str):
    folder = tmp_path / "schedules"
    folder.mkdir(exist_ok=True)
    (folder / "cal.yaml").write_text(text, encoding="utf-8")
    return folder


def texts(plans) -> str:
    return "\n".join(job.text for plan in plans for job in plan.jobs)


def test_an_on_call_change_is_applied_on_top_of_the_file_and_nothing_is_cleared(tmp_path):
    outside_git = lambda file: (None, False)  # noqa: E731
    plans, effects = compile_for_engine(schedules_with(tmp_path, BASE), config(), NOW,
                                        PlanInputs((CHANGE,)), committed=outside_git)
    (plan,) = plans
    assert plan.ok and plan.applied == (CHANGE,)
    assert "4.000 €" in texts(plans) and "3.000 €" not in texts(plans)
    # what the store should remember: the source that compiled and the calendar's labels
    assert [(path, cal) for path, cal, _text in effects.sources] == [("cal.yaml", "test-ayudas")]
    assert [(cal.id, path) for cal, path in effects.metas] == [("test-ayudas", "cal.yaml")]
    assert effects.cleared == [] and effects.stale == []


def test_a_change_git_now_carries_is_returned_to_clear_and_not_applied_again(tmp_path):
    carried = lambda file: (RAISED, True)  # noqa: E731
    plans, effects = compile_for_engine(schedules_with(tmp_path, RAISED), config(), NOW,
                                        PlanInputs((CHANGE,)), committed=carried)
    assert plans[0].applied == () and "4.000 €" in texts(plans)
    assert effects.cleared == [(CHANGE, "cal.yaml: git carries it")]


def test_a_stale_copy_keeps_the_change_on_top_and_is_returned_to_alert(tmp_path):
    stale = lambda file: (BASE, True)  # noqa: E731
    plans, effects = compile_for_engine(schedules_with(tmp_path, BASE), config(), NOW,
                                        PlanInputs((CHANGE,)), committed=stale)
    assert plans[0].applied == (CHANGE,) and "4.000 €" in texts(plans)
    assert effects.stale == [(CHANGE, "cal.yaml", "the file says 3.000 €, an earlier value")]


def test_a_preview_applies_every_change_and_clears_none(tmp_path):
    carried = lambda file: (RAISED, True)  # noqa: E731
    plans, effects = compile_for_engine(schedules_with(tmp_path, RAISED), config(), NOW,
                                        PlanInputs((CHANGE,)), clear=False, committed=carried)
    assert plans[0].applied == (CHANGE,) and effects.cleared == []


def test_a_broken_file_with_a_change_compiles_its_last_good_source_with_the_change(tmp_path):
    broken = schedules_with(tmp_path, BASE.replace("entries:", "entries: [", 1))
    last = LastGood("cal.yaml", "test-ayudas", BASE, "2027-01-09T10:00:00+00:00")
    plans, effects = compile_for_engine(
        broken, config(), NOW, PlanInputs((CHANGE,), last_good={"cal.yaml": last}.get),
        committed=lambda file: (None, False))
    (plan,) = plans
    assert plan.degraded and plan.ok and "4.000 €" in texts(plans)
    assert plan.findings and all(f.path == "cal.yaml" for f in plan.findings)
    assert effects.sources == []  # the broken file is no new last good source


def test_a_second_file_with_the_same_calendar_id_fails_for_the_engine_and_for_plan(tmp_path):
    from worker.plan import compile_paths

    folder = schedules_with(tmp_path, BASE)
    (folder / "copia.yaml").write_text(BASE, encoding="utf-8")
    engine_plans, _effects = compile_for_engine(folder, config(), NOW,
                                                committed=lambda file: (None, False))
    for plans in (engine_plans, compile_paths([folder], config(), NOW, root=folder)):
        first, second = sorted(plans, key=lambda p: p.path)
        assert (first.path, first.ok) == ("cal.yaml", True) and second.path == "copia.yaml"
        assert not second.ok and second.jobs == ()
        (dup,) = [f for f in second.findings if f.code == "duplicate-calendar"]
        assert "already used by cal.yaml" in dup.message and dup.hint
