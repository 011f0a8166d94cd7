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


def test_an_instagram_post_is_deleted_and_without_that_right_gets_a_cancellation_comment():
    (step,) = retraction_steps(job(platform="instagram"), capabilities_for("instagram"), "delete",
                               now=NOW, published_at=NOW - dt.timedelta(days=1))
    assert step.action == "retract"
    (step,) = retraction_steps(job(platform="instagram"),
                               capabilities_for("instagram", delete=False), "delete",
                               now=NOW, published_at=NOW - dt.timedelta(days=1))
    assert step.action == "reply" and step.text.startswith("ANULADO")


# --- the whole phrase citizens read -------------------------------------------------------------


def sesion(text, value="2026-12-18", extra=None, language="es"):
    return Job(id=f"cal/sesion/x:ayto/{language}", calendar="cal", entry="sesion", kind="post",
               account="x:ayto", platform="x", department="d", language=language,
               due_utc=dt.datetime(2026, 12, 1, 8, tzinfo=UTC), due_local="2026-12-01 09:00 CET",
               timezone="Europe/Madrid", text=text,
               depends_on={"sesion": value, **(extra or {})})


def test_a_reply_quotes_the_weekday_with_the_date_so_nobody_reads_viernes_23():
    old = sesion("Sesión informativa el viernes 18 de diciembre de 2026 en el salón de actos.")
    new = sesion("Sesión informativa el miércoles 23 de diciembre de 2026 en el salón de actos.",
                 "2026-12-23")
    (change,) = changed_values(old, new, "es")
    assert (change.old, change.new) == ("viernes 18 de diciembre de 2026",
                                        "miércoles 23 de diciembre de 2026")
    (step,) = correction_steps(old, new, capabilities_for("bluesky"), now=NOW)
    assert "«viernes 18 de diciembre de 2026»" in step.text
    assert "«miércoles 23 de diciembre de 2026»" in step.text


def test_a_date_written_without_its_weekday_is_corrected_with_the_new_weekday_stated():
    old = sesion("Sesión informativa el 18 de diciembre de 2026.")
    new = sesion("Sesión informativa el 23 de diciembre de 2026.", "2026-12-23")
    (change,) = changed_values(old, new, "es")
    assert (change.old, change.new) == ("18 de diciembre de 2026",
                                        "miércoles, 23 de diciembre de 2026")


def test_the_time_next_to_a_date_belongs_to_the_phrase_that_is_quoted():
    old = sesion("Pleno el viernes, 18 de diciembre de 2026, a las 10:00, en el salón.",
                 "2026-12-18 10:00")
    new = sesion("Pleno el miércoles, 23 de diciembre de 2026, a las 12:30, en el salón.",
                 "2026-12-23 12:30")
    (change,) = changed_values(old, new, "es")
    assert change.old == "viernes, 18 de diciembre de 2026, a las 10:00"
    assert change.new == "miércoles, 23 de diciembre de 2026, a las 12:30"


def test_a_moved_time_fact_is_quoted_with_the_date_written_beside_it():
    text = "Pleno el viernes 18 de diciembre de 2026 a las {}."
    old = sesion(text.format("10:00"), extra={"hora": "10:00:00"})
    new = sesion(text.format("12:00"), extra={"hora": "12:00:00"})
    (change,) = changed_values(old, new, "es")
    assert change.fact == "hora"
    assert (change.old, change.new) == ("viernes 18 de diciembre de 2026 a las 10:00",
                                        "viernes 18 de diciembre de 2026 a las 12:00")


def test_catalan_and_basque_phrases_are_quoted_whole_in_their_own_word_order():
    old = sesion("Sessió el divendres 18 de desembre del 2026.", language="ca")
    new = sesion("Sessió el dimecres 23 de desembre del 2026.", "2026-12-23", language="ca")
    (change,) = changed_values(old, new, "ca")
    assert (change.old, change.new) == ("divendres 18 de desembre del 2026",
                                        "dimecres 23 de desembre del 2026")
    old = sesion("Saioa: 2026ko abenduaren 18a, ostirala.", language="eu")
    new = sesion("Saioa: 2026ko abenduaren 23a, asteazkena.", "2026-12-23", language="eu")
    (change,) = changed_values(old, new, "eu")
    assert (change.old, change.new) == ("2026ko abenduaren 18a, ostirala",
                                        "2026ko abenduaren 23a, asteazkena")


def test_a_day_number_inside_another_number_is_not_taken_for_the_date():
    old = sesion("Del 18 de diciembre de 2026 al 118 de la calle.", )
    new = sesion("Del 23 de diciembre de 2026 al 118 de la calle.", "2026-12-23")
    (change,) = changed_values(old, new, "es")
    assert change.old == "18 de diciembre de 2026"


def test_a_post_edited_once_is_corrected_again_quoting_its_whole_phrase_not_the_weekday():
    # the text citizens read now carries the first correction's note: the phrases of old and
    # new texts no longer pair up, and the quote must still be the whole phrase
    old = sesion("Sesión el sábado 16 de enero de 2027. (Corregido: donde decía «lunes 11 de "
                 "enero de 2027», ahora dice «sábado 16 de enero de 2027».)", "2027-01-16")
    new = sesion("Sesión el lunes 18 de enero de 2027.", "2027-01-18")
    (change,) = changed_values(old, new, "es")
    assert (change.old, change.new) == ("sábado 16 de enero de 2027", "lunes, 18 de enero de 2027")
