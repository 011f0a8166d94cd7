"""One test per linter check, each with a fixture that fails it (mutations of a clean base)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.lintkit import BASE, codes, lint, replace


def test_the_base_calendar_lints_clean():
    result = lint(BASE)
    assert [f.format() for f in result.findings] == []
    assert result.ok


def test_a_broken_quote_points_at_the_opening_quote():
    text = replace('at: "2027-03-10 10:00"', 'at: "2027-03-10 10:00')
    (finding,) = lint(text).findings
    assert finding.code == "yaml-syntax"
    line = BASE.splitlines().index('    at: "2027-03-10 10:00"') + 1
    assert (finding.line, finding.col) == (line, 9)


def test_a_duplicate_key_is_reported_with_the_first_line():
    text = replace("  timezone: Europe/Madrid\n", "  timezone: Europe/Madrid\n  timezone: UTC\n")
    (finding,) = lint(text).findings
    assert finding.code == "duplicate-key" and "first written on line 5" in finding.message


def test_hostile_yaml_structures_are_refused_with_a_position_not_expanded():
    recursive = "calendar: &a {id: c, self: *a}\n"
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n"
        for i in range(6))
    deep = "calendar: " + "[" * 60 + "]" * 60 + "\n"
    for text, why in ((recursive, "contains it"), (laughs, "too many values"),
                      (deep, "nested too deeply")):
        (finding,) = lint(text).findings
        assert finding.code == "yaml-structure" and why in finding.message, text[:40]
        assert finding.line >= 1 and finding.col >= 1


def test_a_finding_inside_an_anchored_value_points_at_its_line():
    text = replace("    accounts: [x:ayto-test]\n", "    accounts: &cuentas [x:nadie]\n")
    result = lint(text)
    unknown = [f for f in result.findings if f.code == "unknown-account"]
    line = text.splitlines().index("    accounts: &cuentas [x:nadie]") + 1
    assert unknown and unknown[0].line == line


def test_a_document_that_is_not_a_calendar_says_so():
    assert codes("- just\n- a list\n") == {"not-a-calendar"}
    assert codes("title: hola\n") == {"not-a-calendar"}


def test_an_unknown_key_suggests_the_right_one():
    result = lint(replace("    accounts: [x:ayto-test]\n", "    acounts: [x:ayto-test]\n"))
    unknown = [f for f in result.findings if f.code == "unknown-key"]
    assert unknown and "did you mean 'accounts'" in unknown[0].message


def test_a_wrong_type_is_reported_where_it_is():
    result = lint(replace("  languages: [es, ca]", "  languages: 3"))
    (finding,) = [f for f in result.findings if f.code == "wrong-type"]
    assert (finding.line, finding.col) == (6, 14)


def test_an_unknown_time_zone_suggests_the_right_one():
    result = lint(replace("Europe/Madrid", "Europe/Madird"))
    (finding,) = [f for f in result.findings if f.code == "unknown-timezone"]
    assert "Europe/Madrid" in finding.message + finding.hint


def test_an_impossible_date_says_why():
    result = lint(replace("publicacion: 2027-03-12", "publicacion: 2027-02-30"))
    (finding,) = [f for f in result.findings if f.code == "impossible-date"]
    assert "28" in finding.message


def test_a_local_time_skipped_by_the_spring_dst_change_is_an_error():
    assert "nonexistent-local-time" in codes(replace('"2027-03-10 10:00"', '"2027-03-28 02:30"'))


def test_a_local_time_repeated_by_the_autumn_dst_change_is_an_error():
    assert "ambiguous-local-time" in codes(replace('"2027-03-10 10:00"', '"2027-10-31 02:30"'))


def test_a_post_in_the_past_is_an_error_unless_archived():
    later = dt.datetime(2027, 3, 11, tzinfo=dt.timezone.utc)
    assert "in-the-past" in codes(BASE, now=later)
    archived = replace("    role: announcement\n", "    role: announcement\n    archived: true\n")
    assert "in-the-past" not in codes(archived, now=later)


def test_a_reminder_after_the_close_is_an_error():
    text = replace("at: {before: plazo_fin, days: 3", "at: {after: plazo_fin, days: 1")
    assert "after-deadline" in codes(text)


def test_a_golive_before_the_period_opens_is_an_error():
    text = replace('at: {on: plazo_inicio, time: "09:00"}', 'at: {before: plazo_inicio, days: 1, time: "09:00"}')
    assert "golive-before-open" in codes(text)


def test_an_announcement_after_the_period_opened_is_a_warning():
    result = lint(replace('"2027-03-10 10:00"', '"2027-03-16 10:00"'))
    (finding,) = [f for f in result.findings if f.code == "announcement-late"]
    assert finding.severity == "warning"


def test_an_unknown_account_suggests_a_known_one():
    result = lint(replace("[x:ayto-test, bluesky:ayto-test]", "[x:ayto-tset, bluesky:ayto-test]"))
    (finding,) = [f for f in result.findings if f.code == "unknown-account"]
    assert "did you mean 'x:ayto-test'" in finding.message


def test_an_account_of_another_department_is_refused():
    assert "account-department" in codes(replace("[x:ayto-test]", "[x:policia-test]"))


def test_a_text_too_long_for_x_is_counted_the_x_way():
    long_text = "Á" * 250
    text = replace("Ya está abierto el plazo", long_text + " Ya está abierto el plazo")
    result = lint(text)
    (finding,) = [f for f in result.findings if f.code == "too-long"]
    assert "x:ayto-test" in finding.message and "280" in finding.message


def test_a_text_too_long_for_bluesky_counts_graphemes():
    text = replace("Quedan tres días:", "Quedan tres días " + "👍🏽" * 270 + ":")
    messages = [f.message for f in lint(text).findings if f.code == "too-long"]
    assert any("bluesky" in m and "300" in m for m in messages)


def test_a_missing_language_is_an_error():
    text = replace('      ca: "Queden tres dies: el termini acaba el {{ plazo_fin }}."\n', "")
    assert "missing-language" in codes(text)


def test_an_image_without_alt_text_in_every_language_is_an_error():
    text = replace("    link: https://sede.example.org/ayudas\n",
                   "    link: https://sede.example.org/ayudas\n    images:\n"
                   "      - {url: https://sede.example.org/cartel.png, alt: {es: Cartel}}\n")
    assert "missing-alt" in codes(text)


def test_a_weekday_that_does_not_match_its_date_is_an_error():
    # 9 April 2027 is a Friday.
    text = replace("Ya está abierto el plazo", "El lunes 9 de abril de 2027 ya está abierto el plazo")
    findings = [f for f in lint(text).findings if f.code.startswith("text-date")]
    assert findings and findings[0].severity == "error"
    assert "Friday" in findings[0].message or "viernes" in findings[0].message


def test_a_typed_date_that_contradicts_a_fact_is_an_error():
    # plazo_fin is 14 April 2027 in the Valencian Community; the text says the 12th.
    text = replace("Quedan tres días:", "Quedan tres días, hasta el 12 de abril:")
    findings = [f for f in lint(text).findings if f.code.startswith("text-date")]
    assert any(f.severity == "error" for f in findings)


def test_a_post_in_a_quiet_period_is_refused_unless_its_category_is_allowed():
    text = replace('"2027-03-10 10:00"', '"2027-05-10 10:00"')
    text = text.replace("role: announcement", "role: closing")
    assert "quiet-period" in codes(text)
    allowed = replace("    role: closing\n", "    role: closing\n    category: procedure\n", text)
    assert "quiet-period" not in codes(allowed)


def test_a_forbidden_word_is_reported_at_the_word():
    text = replace("Ayudas de hasta", "Ayudas a fondo perdido de hasta")
    (finding,) = [f for f in lint(text).findings if f.code == "style-word"]
    line = text.splitlines().index([l for l in text.splitlines() if "fondo perdido" in l][0]) + 1
    assert finding.line == line and text.splitlines()[line - 1][finding.col - 1:].startswith("a fondo")


def test_a_missing_required_hashtag_is_reported():
    assert "style-hashtag" in codes(replace('  hashtags: ["#Test"]\n', ""))


def test_duplicate_entry_ids_are_reported():
    assert "duplicate-id" in codes(replace("  - id: recordatorio", "  - id: abierto"))


def test_a_reference_to_an_unknown_fact_suggests_the_right_one():
    result = lint(replace("{before: plazo_fin,", "{before: plazo_fni,"))
    (finding,) = [f for f in result.findings if f.code == "unknown-fact"]
    assert "plazo_fin" in finding.message


def test_a_hostile_template_is_a_lint_error_not_a_crash():
    text = replace("{{ importe }} para", "{{ importe.__class__.__mro__ }} para")
    assert "template" in codes(text)


def test_an_unknown_fact_in_a_template_is_a_lint_error():
    assert "template" in codes(replace("{{ importe }} para", "{{ importes }} para"))


def test_instagram_needs_an_image():
    assert "image-required" in codes(replace("[x:ayto-test]", "[instagram:ayto-test]"))


def test_a_calendar_feed_only_takes_events():
    assert "feed-needs-event" in codes(replace("[x:ayto-test]", "[ics:ayto-test]"))


def test_a_fact_cycle_is_reported():
    text = replace("publicacion: 2027-03-12", "publicacion: {from: plazo_fin, calendar_days: 1}")
    assert "fact-cycle" in codes(text)


@pytest.mark.parametrize("text", ["", "calendar: 3\nentries: []\n", "calendar:\n  id: x\n",
                                  "{{{{", "calendar: &a [*a]\n", "\t- tab\n"])
def test_degenerate_documents_give_findings_not_tracebacks(text):
    result = lint(text)
    assert result.findings and not result.ok


EVENT_ENTRY = """  - id: jornada
    kind: event
    at: "2027-03-01 10:00"
    accounts: [telegram:ayto-test]
    text: {es: "Jornada informativa.", ca: "Jornada informativa."}
    event:
      start: "2027-03-20 18:00"
      end: "2027-03-20 20:00"
      title: {es: Jornada, ca: Jornada}
"""
IMAGE = "      - {{url: https://sede.example.org/{n}.png, alt: {{es: {alt}, ca: {alt}}}}}\n"


def with_images(n: int, alt: str = "Cartel") -> str:
    images = "".join(IMAGE.format(n=i, alt=alt) for i in range(n))
    return replace("    link: https://sede.example.org/ayudas\n",
                   f"    link: https://sede.example.org/ayudas\n    images:\n{images}")


# (the code, a fixture that fails that check and no other on purpose)
MORE_CHECKS = [
    ("alt-too-long", lambda: with_images(1, "A" * 1100)),
    ("too-many-images", lambda: with_images(5)),
    ("missing-image", lambda: replace("    link: https://sede.example.org/ayudas\n",
                                      "    link: https://sede.example.org/ayudas\n    images:\n"
                                      "      - {file: no-existe.png, alt: {es: Cartel, ca: Cartell}}\n")),
    ("event-kind", lambda: replace("    link: https://sede.example.org/ayudas\n",
                                   "    link: https://sede.example.org/ayudas\n"
                                   "    event: {start: plazo_inicio, title: {es: A, ca: B}}\n")),
    ("missing-event", lambda: replace("kind: golive", "kind: event")),
    ("event-order", lambda: BASE + EVENT_ENTRY.replace('end: "2027-03-20 20:00"',
                                                       'end: "2027-03-19 20:00"')),
    ("fact-kind", lambda: replace("{before: plazo_fin,", "{before: importe,")),
    ("fact-shape", lambda: replace("  importe:", "  otro: {from: publicacion}\n  importe:")),
    ("impossible-time", lambda: replace('time: "09:00"', 'time: "25:00"')),
    ("missing-time", lambda: replace('{before: plazo_fin, days: 3, time: "10:00"}',
                                     "{before: plazo_fin, days: 3}")),
    ("relative-time", lambda: replace("{before: plazo_fin, days: 3,",
                                      "{before: plazo_fin, after: publicacion, days: 3,")),
    ("missing-key", lambda: replace("  department: promocion\n", "")),
    ("empty-list", lambda: replace("accounts: [x:ayto-test, bluesky:ayto-test]", "accounts: []")),
    ("unknown-value", lambda: replace("kind: golive", "kind: golife")),
    ("too-long-value", lambda: replace("Ya está abierto el plazo", "a" * 100_001)),
    ("unknown-language", lambda: replace('      ca: "Queden tres dies',
                                         '      fr: "Plus que trois jours."\n      ca: "Queden tres dies')),
    ("unknown-period", lambda: replace("    for: solicitudes\n    role: reminder",
                                       "    for: solicitud\n    role: reminder")),
    ("unknown-platform", lambda: replace("[x:ayto-test]", "[myspace:ayto-test]")),
    ("unknown-region", lambda: replace("region: ES-VC", "region: ES-XX")),
    ("unsupported-language", lambda: replace("languages: [es, ca]", "languages: [es, fr]")),
    ("yaml-key", lambda: replace("  importe:", "  ? [a, b]\n  : 1\n  importe:")),
]


@pytest.mark.parametrize("code,fixture", MORE_CHECKS, ids=[c for c, _ in MORE_CHECKS])
def test_every_other_check_has_a_fixture_that_fails_it(code, fixture):
    findings = [f for f in lint(fixture()).findings if f.code == code]
    assert findings, f"no [{code}] in {[f.format() for f in lint(fixture()).findings]}"
    # each finding says where, what and how to fix it
    assert all(f.line >= 1 and f.col >= 1 and f.message for f in findings)


def test_a_file_too_large_for_a_calendar_is_refused_before_it_is_parsed(tmp_path):
    from worker.analysis import MAX_FILE_BYTES, analyze_file
    from tests.lintkit import NOW, config

    big = tmp_path / "big.yaml"
    big.write_text(BASE + "#" * (MAX_FILE_BYTES + 1), encoding="utf-8")
    (finding,) = analyze_file(big, config(), NOW).findings
    assert finding.code == "too-large" and "split it" in finding.hint


def test_a_period_that_closes_on_a_text_is_an_error_not_a_crash():
    text = replace("closes: plazo_fin}", "closes: importe}")
    (finding,) = [f for f in lint(text).findings if f.code == "fact-kind"]
    assert "'importe' is a text" in finding.message
    assert text.splitlines()[finding.line - 1].strip().startswith("solicitudes:")


def test_a_go_live_without_check_contains_is_warned_that_a_placeholder_page_would_release_it():
    bare = replace('    check_contains: "Solicitud de ayudas al comercio"\n', "")
    findings = [f for f in lint(bare).findings if f.code == "golive-no-text"]
    assert len(findings) == 1 and findings[0].severity == "warning"
    line = bare.splitlines().index("    kind: golive") + 1
    assert (findings[0].line, findings[0].col) == (line, 11)
    assert "golive-no-text" not in codes(BASE)
