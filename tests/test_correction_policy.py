"""How each published post is put right, decided from the platform's capabilities."""

from __future__ import annotations

import dataclasses
import datetime as dt

from adapters import capabilities_for
from worker.corrections.policy import changed_values, correction_steps, retraction_steps
from worker.jobs import Job

UTC = dt.timezone.utc
NOW = dt.datetime(2027, 4, 1, 10, 0, tzinfo=UTC)


def job(language="es", text=None, plazo="2027-04-14", parts=None, platform="x"):
    return Job(id=f"cal/aviso/{platform}:ayto/{language}", calendar="cal", entry="aviso",
               kind="post", account=f"{platform}:ayto", platform=platform, department="d",
               language=language, due_utc=dt.datetime(2027, 3, 30, 8, tzinfo=UTC),
               due_local="2027-03-30 10:00 CEST", timezone="Europe/Madrid",
               text=text or "El plazo termina el miércoles, 14 de abril de 2027.",
               depends_on={"plazo_fin": plazo}, parts=parts or {})


def moved(old, new_text):
    return dataclasses.replace(old, text=new_text, depends_on={"plazo_fin": "2027-04-21"})


def test_the_changed_date_is_quoted_as_the_post_wrote_it():
    old = job()
    new = moved(old, "El plazo termina el miércoles, 21 de abril de 2027.")
    (change,) = changed_values(old, new, "es")
    assert (change.old, change.new) == ("miércoles, 14 de abril de 2027",
                                        "miércoles, 21 de abril de 2027")


def test_a_post_on_x_outside_its_edit_window_is_corrected_by_a_reply_in_its_language():
    old = job()
    new = moved(old, "El plazo termina el miércoles, 21 de abril de 2027.")
    (step,) = correction_steps(old, new, capabilities_for("x"), now=NOW,
                               published_at=NOW - dt.timedelta(hours=2),
                               labels={"plazo_fin": {"es": "el plazo de solicitud"}})
    assert step.action == "reply" and step.language == "es"
    assert "CORRECCIÓN sobre el plazo de solicitud" in step.text
    assert "«miércoles, 14 de abril de 2027»" in step.text
    assert "«miércoles, 21 de abril de 2027»" in step.text


def test_a_post_on_x_inside_its_edit_window_is_edited_in_place_with_a_note():
    old = job()
    new = moved(old, "El plazo termina el miércoles, 21 de abril de 2027.")
    (step,) = correction_steps(old, new, capabilities_for("x"), now=NOW,
                               published_at=NOW - dt.timedelta(minutes=5))
    assert step.action == "correct"
    assert step.new_post_text.startswith("El plazo termina el miércoles, 21 de abril")
    assert "Corregido" in step.new_post_text


def test_a_combined_facebook_post_is_edited_with_a_note_in_each_language():
    parts = {"es": "Termina el miércoles, 14 de abril de 2027.",
             "ca": "Acaba el dimecres, 14 d’abril del 2027."}
    old = job("es+ca", text="\n\n".join(parts.values()), parts=parts, platform="facebook")
    new_parts = {"es": "Termina el miércoles, 21 de abril de 2027.",
                 "ca": "Acaba el dimecres, 21 d’abril del 2027."}
    new = dataclasses.replace(moved(old, "\n\n".join(new_parts.values())), parts=new_parts)
    (step,) = correction_steps(old, new, capabilities_for("facebook"), now=NOW,
                               published_at=NOW - dt.timedelta(days=3))
    assert step.action == "correct"
    assert "Corregido" in step.new_post_text and "Corregit" in step.new_post_text
    assert "dimecres, 21 d’abril del 2027" in step.new_post_text


def test_bluesky_cannot_edit_so_the_correction_is_a_reply():
    old = job(platform="bluesky")
    new = moved(old, "El plazo termina el miércoles, 21 de abril de 2027.")
    (step,) = correction_steps(old, new, capabilities_for("bluesky"), now=NOW,
                               published_at=NOW - dt.timedelta(minutes=1))
    assert step.action == "reply"


def test_an_unchanged_text_needs_no_correction():
    old = job()
    assert correction_steps(old, dataclasses.replace(old, due_local="x"), capabilities_for("x"),
                            now=NOW) == []


def test_a_retraction_deletes_where_the_policy_says_delete():
    (step,) = retraction_steps(job(), capabilities_for("x"), "delete", now=NOW,
                               published_at=NOW - dt.timedelta(days=1))
    assert step.action == "retract"


def test_a_retraction_replies_with_a_notice_where_the_policy_says_reply():
    (step,) = retraction_steps(job(), capabilities_for("x"), "reply", now=NOW,
                               published_at=NOW - dt.timedelta(days=1), reason="suspendida")
    assert step.action == "reply" and step.text.startswith("ANULADO")


def test_telegram_past_its_delete_window_replaces_the_text_instead():
    (step,) = retraction_steps(job(platform="telegram"), capabilities_for("telegram"), "delete",
                               now=NOW, published_at=NOW - dt.timedelta(days=3))
    assert step.action in ("reply", "correct")


def test_instagram_cannot_edit_so_the_correction_is_a_comment_under_the_post():
    old = job(platform="instagram")
    new = moved(old, "El plazo termina el miércoles, 21 de abril de 2027.")
    (step,) = correction_steps(old, new, capabilities_for("instagram"), now=NOW,
                               published_at=NOW - dt.timedelta(hours=1))
    assert step.action == "reply" and "«miércoles, 21 de abril de 2027»" in step.text


def test_a_linkedin_post_is_edited_in_place_with_a_note():
    old = job(platform="linkedin")
    new = moved(old, "El plazo termina el miércoles, 21 de abril de 2027.")
    (step,) = correction_steps(old, new, capabilities_for("linkedin"), now=NOW,
                               published_at=NOW - dt.timedelta(days=2))
    assert step.action == "correct" and "Corregido" in step.new_post_text


def test_an_instagram_post_that_cannot_be_deleted_gets_a_cancellation_comment():
    (step,) = retraction_steps(job(platform="instagram"), capabilities_for("instagram"), "delete",
                               now=NOW, published_at=NOW - dt.timedelta(days=1))
    assert step.action == "reply" and step.text.startswith("ANULADO")
