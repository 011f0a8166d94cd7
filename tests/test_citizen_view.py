"""The outbox replayed as a follower of each account sees it."""

from __future__ import annotations

from worker.ops.citizen_view import fold, outbox_events, render


def record(action, post_id, text="", target=None, account="x:ayto", **extra):
    return {"action": action, "account": account, "platform": account.split(":")[0],
            "post_id": post_id, "text": text, "target": {"post_id": target} if target else None,
            **extra}


def test_an_edit_replaces_the_text_and_the_id_and_a_reply_sits_under_its_post():
    view = fold([record("publish", "1", "Plazo: 9 de abril", images=[{"alt": "Cartel"}]),
                 record("correct", "2", "Plazo: 16 de abril", target="1"),
                 record("reply", "3", "CORRECCIÓN: 16 de abril", target="2")])
    (post,) = view["x:ayto"]
    assert (post.post_id, post.text, post.edited, post.images) == \
        ("2", "Plazo: 16 de abril", True, ("Cartel",))
    assert [r.text for r in post.replies] == ["CORRECCIÓN: 16 de abril"]


def test_a_retracted_post_and_a_retracted_reply_are_gone():
    view = fold([record("publish", "1", "A"), record("publish", "2", "B"),
                 record("reply", "3", "nota", target="2"), record("retract", "1", target="1"),
                 record("retract", "3", target="3")])
    (post,) = view["x:ayto"]
    assert post.text == "B" and post.replies == []


def test_an_account_with_nothing_left_is_not_listed_and_events_are_an_agenda():
    event = {"start_utc": "2027-04-15T17:00:00+00:00", "title": "Pleno", "place": "Salón",
             "description": "Orden del día"}
    records = [record("publish", "1", "A"), record("retract", "1", target="1"),
               record("publish", "e1", "x", account="ics:agenda", event=event),
               record("correct", "e1", "x", target="e1", account="ics:agenda",
                      event=dict(event, place="Auditorio"))]
    assert fold(records) == {}
    (shown,) = outbox_events(records)
    assert shown["location"] == "Auditorio" and shown["sequence"] == 1
    lines = render({}, [shown])
    assert lines[0] == "agenda (iCalendar feed)" and "Pleno — Auditorio, updated 1x" in lines[1]
    cancelled = records + [record("retract", "e1", target="e1", account="ics:agenda")]
    assert outbox_events(cancelled) == []
