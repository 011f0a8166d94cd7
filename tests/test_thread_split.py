"""Long texts as threads: every part fits its platform as the platform counts, cut where a
reader pauses, numbered, and nothing of the text lost or repeated."""

import re

import pytest

from adapters.capabilities import BLUESKY, MASTODON, THREADS, X
from worker.calendar.thread_split import MAX_PARTS, ThreadProblem, split_thread

PARAGRAPHS = (
    "El Ayuntamiento de Calp abre el plazo de solicitud de las ayudas al alquiler joven para "
    "2027. Pueden pedirlas las personas de 18 a 35 años empadronadas en el municipio.\n\n"
    "Las solicitudes se presentan en la sede electrónica o en el registro de la Casa "
    "Consistorial, de lunes a viernes de 9:00 a 14:00, con el DNI y el contrato de alquiler.\n\n"
    "El plazo termina el viernes 9 de abril de 2027. Toda la información en "
    "https://www.calp.es/ca/ajudes-lloguer-jove-2027-bases-completes #Calp #AyudasAlquiler"
)


def _words(parts):
    """The text's words in order, counters removed: what a reader reads across the parts."""
    return [w for part in parts for w in re.sub(r"\n\d+/\d+$", "", part).split()]


@pytest.mark.parametrize("caps", [X, BLUESKY, THREADS, MASTODON], ids=lambda c: c.platform)
def test_every_part_fits_the_platform_as_it_counts_and_no_word_is_lost(caps):
    text = PARAGRAPHS * (2 if caps.text_limit >= 500 else 1)
    parts = split_thread(text, caps.text_limit, caps.count)
    assert len(parts) >= 2
    assert all(caps.count(part) <= caps.text_limit for part in parts)
    assert _words(parts) == text.split()


def test_parts_are_numbered_on_a_line_of_their_own():
    parts = split_thread(PARAGRAPHS, X.text_limit, X.count)
    total = len(parts)
    assert [part.rsplit("\n", 1)[1] for part in parts] == [f"{i}/{total}" for i in range(1, total + 1)]


def test_a_part_ends_at_a_paragraph_rather_than_in_the_middle_of_a_sentence():
    parts = split_thread(PARAGRAPHS, X.text_limit, X.count)
    first = parts[0].rsplit("\n", 1)[0]
    assert first.endswith("empadronadas en el municipio.")


def test_x_counts_the_link_as_23_so_the_long_address_is_never_cut():
    parts = split_thread(PARAGRAPHS, X.text_limit, X.count)
    assert sum("https://www.calp.es/ca/ajudes-lloguer-jove-2027-bases-completes" in p
               for p in parts) == 1


def test_a_text_that_fits_is_one_post_without_counter():
    assert split_thread("Hoy abre el plazo.", X.text_limit, X.count) == ("Hoy abre el plazo.",)


def test_a_word_longer_than_a_post_cannot_be_a_thread():
    with pytest.raises(ThreadProblem) as problem:
        split_thread("Mira " + "a" * 400, BLUESKY.text_limit, BLUESKY.count)
    assert problem.value.code == "thread-unsplittable"


def test_more_than_the_maximum_of_parts_is_refused():
    with pytest.raises(ThreadProblem) as problem:
        split_thread("palabra " * 600, BLUESKY.text_limit, BLUESKY.count)
    assert problem.value.code == "thread-too-long"
    assert str(MAX_PARTS) in str(problem.value)


def test_sentences_without_paragraphs_are_cut_after_a_full_stop():
    text = " ".join(f"Frase número {i} del bando municipal sobre las fiestas." for i in range(12))
    parts = split_thread(text, BLUESKY.text_limit, BLUESKY.count)
    assert all(part.rsplit("\n", 1)[0].endswith(".") for part in parts)
