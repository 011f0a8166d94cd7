"""Counting text the way each platform counts it, fast paths agreeing with the references."""

from __future__ import annotations

import random

import pytest
import regex
from hypothesis import given
from hypothesis import strategies as st
from twitter_text import parse_tweet

from adapters import PLATFORMS, capabilities_for, parse_account_ref
from adapters.textlength import (char_length, grapheme_length, mastodon_length, utf16_length,
                                 x_weighted_length)

SAMPLES = [
    "",
    "Pleno municipal hoy a las 18:00 en el Ayuntamiento.",
    "Més informació: https://www.calp.es/ple?any=2025&mes=3. Gràcies!",
    "Visiteu calp.es o www.ajuntament.cat/agenda per a l'agenda",
    "Cl·lusió: Sant Antoni, 17.00 h. a la plaça",
    "Ekitaldia: Donostiako Udala 🎉👍🏽 #Euskara",
    "Corte de agua ©️ ® ™ 1️⃣ 🇪🇸 👨‍👩‍👧",
    "línea uno\r\nlínea dos\rtres",
    "café con e + acento combinado: cafe\u0301",
    "日本語のテキスト https://example.jp",
    "@ayto_calp@mastodon.social y @otra@tooting.ch avisan",
    "versión 2.0 del plan, 3.5 km, a.m. y p.m., S.A.",
    "mailto y correos info@calp.es, http://192.168.1.1/x",
    # twitter-text reads a token beyond ASCII in its context: "ñcalp.es" is a link here
    "ñ. çwww.gva.es", "\nñcalp.es. ", "Bases: 12.000 € • plazo… https://sede.calp.es/x€",
    "ver \u0301calp.es(https://t.co/x).",
]


def test_x_weighted_length_agrees_with_twitter_text_on_every_sample():
    for text in SAMPLES:
        assert x_weighted_length(text) == parse_tweet(text).weightedLength, text


def test_x_weighted_length_agrees_with_twitter_text_on_random_texts():
    rng = random.Random(20250301)
    pieces = ["a", "ñ", "é", "ç", "l·l", " ", ".", ". ", "calp.es", "https://www.calp.es/a?b=1",
              "www.gva.es", "😀", "🇪🇸", "中", "\u0301", "\r\n", "\n", "@ayto", "#Calp", "©",
              "1.5", "x.y", "(https://t.co/x)", "...", "\u00a0", "—", "«", "»", "€", "…",
              "•", "https://sede.calp.es/x€", "’"]
    for _ in range(1500):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        assert x_weighted_length(text) == parse_tweet(text).weightedLength, repr(text)


def test_a_link_counts_23_on_x_whatever_its_length():
    short, long = "Info: https://a.es", "Info: https://www.calp.es/" + "x" * 200
    assert x_weighted_length(short) == x_weighted_length(long) == len("Info: ") + 23


def test_emoji_and_cjk_weigh_two_on_x():
    assert x_weighted_length("👍🏽") == 2
    assert x_weighted_length("日本") == 4


def test_grapheme_length_counts_user_perceived_characters():
    for text in SAMPLES:
        assert grapheme_length(text) == len(regex.findall(r"\X", text)), text
    assert grapheme_length("👨‍👩‍👧") == 1
    assert grapheme_length("🇪🇸") == 1
    assert grapheme_length("cafe\u0301") == 4
    assert grapheme_length("a\r\nb") == 3


def test_mastodon_counts_links_as_23_and_remote_mentions_as_local_part():
    assert mastodon_length("Ver https://www.calp.es/" + "x" * 100) == 4 + 23
    assert mastodon_length("@ayto@mastodon.social") == len("@ayto")
    assert mastodon_length("hola @ayto_calp@calp.social!") == len("hola @ayto_calp!")


def _mastodon_reference(text: str) -> int:
    """Mastodon's StatusLengthValidator written out plainly: every http(s) link twitter-text
    finds becomes 23 characters, "@user@domain" becomes "@user", then grapheme clusters."""
    from twitter_text import extract_urls_with_indices

    parts, last = [], 0
    for url in extract_urls_with_indices(text):
        start, end = url["indices"]
        if url["url"].lower().startswith(("http://", "https://")):
            parts += [text[last:start], "x" * 23]
            last = end
    text = "".join(parts) + text[last:]
    text = regex.sub(r"(?<![=/\w])@(([a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_]+)?)(?:@[\w.-]+\w+)?)",
                     r"@\2", text, flags=regex.IGNORECASE)
    return len(regex.findall(r"\X", text))


def test_mastodon_length_agrees_with_the_plain_algorithm_on_every_sample():
    for text in SAMPLES:
        assert mastodon_length(text) == _mastodon_reference(text), text


def test_mastodon_length_agrees_with_the_plain_algorithm_on_random_texts():
    rng = random.Random(20261125)
    pieces = ["a", "ñ", "é", "l·l", " ", ".", ". ", "calp.es", "https://www.calp.es/a?b=1",
              "HTTP://GVA.ES/x", "www.gva.es", "😀", "中", "\u0301", "\r\n", "@ayto",
              "@ayto@calp.social", "#Calp", "©", "’", "—", "€", "(https://t.co/x)", "1.5"]
    for _ in range(1500):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        assert mastodon_length(text) == _mastodon_reference(text), repr(text)


def test_mastodon_does_not_shorten_links_without_a_scheme():
    assert mastodon_length("calp.es/agenda") == len("calp.es/agenda")


def test_mastodon_counts_graphemes():
    assert mastodon_length("🇪🇸 Calp") == 6


def test_utf16_length_counts_astral_characters_twice():
    assert utf16_length("hola") == 4
    assert utf16_length("año") == 3
    assert utf16_length("👍") == 2
    assert utf16_length("👍🏽") == 4
    for text in SAMPLES:
        assert utf16_length(text) == len(text.encode("utf-16-le")) // 2


def test_char_length_counts_code_points():
    assert char_length("cafe\u0301") == 5


def test_the_grapheme_fast_path_agrees_with_the_unicode_rules_on_random_texts():
    rng = random.Random(7)
    alphabet = ([chr(c) for c in range(0x20, 0x300)] + [chr(c) for c in range(0x2000, 0x2070)]
                + [chr(c) for c in range(0x20a0, 0x2100)]
                + ["\r", "\n", "\u0301", "\u200d", "👍", "🏽", "🇪", "🇸", "각"])
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        assert grapheme_length(text) == len(regex.findall(r"\X", text)), repr(text)


def test_each_platform_counts_with_its_declared_counting():
    assert capabilities_for("x").count("👍") == 2
    assert capabilities_for("bluesky").count("👍🏽") == 1
    assert capabilities_for("telegram").count("👍🏽") == 4
    assert capabilities_for("mastodon").count("@a@b.social") == 2


def test_capability_overrides_replace_only_the_given_fields():
    custom = capabilities_for("mastodon", text_limit=1000)
    assert custom.text_limit == 1000
    assert custom.edit == PLATFORMS["mastodon"].edit
    assert PLATFORMS["mastodon"].text_limit == 500


def test_overriding_the_counting_switches_the_count_function():
    assert capabilities_for("linkedin", counting="utf16").count("👍") == 2


def test_unknown_capability_overrides_are_refused():
    with pytest.raises(ValueError, match="text_limt"):
        capabilities_for("x", text_limt=10)


def test_unknown_platforms_get_a_did_you_mean():
    with pytest.raises(ValueError, match="did you mean 'x'"):
        parse_account_ref("twitter:ayto-calp")
    with pytest.raises(ValueError, match="did you mean 'mastodon'"):
        parse_account_ref("mastodn:ayto-calp")


def test_account_refs_split_into_platform_and_handle():
    assert parse_account_ref("bluesky:calp.bsky.social") == ("bluesky", "calp.bsky.social")
    with pytest.raises(ValueError, match="platform:handle"):
        parse_account_ref("ayto-calp")


def test_the_characters_that_skip_the_emoji_search_are_never_emoji():
    from adapters.textlength import _MAYBE_EMOJI, _OUTSIDE_EMOJI_FREE

    free = [chr(c) for c in range(0x2100) if not _OUTSIDE_EMOJI_FREE.search(chr(c))]
    assert "€" in free and "’" in free and "©" not in free and "‼" not in free
    assert [c for c in free if _MAYBE_EMOJI.search(c)] == []


def test_telegram_counts_a_caption_after_dropping_carriage_returns_and_trimming():
    from adapters.textlength import telegram_sent_length

    assert telegram_sent_length("Plazo\r\nabierto \u2028 ") == len("Plazo\nabierto")
    assert telegram_sent_length("\n  Hola") == len("Hola")  # leading newlines and spaces go


@given(st.text())
def test_what_the_linter_counts_for_telegram_is_never_below_what_the_server_counts(text):
    from adapters.textlength import telegram_sent_length, utf16_length

    assert utf16_length(text) >= telegram_sent_length(text)
