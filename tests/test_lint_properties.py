"""Whatever an editor (or a fuzzer) writes, the linter answers with findings, never a
traceback, and a calendar it rejects is never planned."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.lintkit import BASE, NOW, config
from worker.analysis import analyze_text

CONFIG = config()
LINES = BASE.splitlines(keepends=True)

yaml_scalars = st.one_of(
    st.text(max_size=30), st.integers(-10**6, 10**6), st.booleans(), st.none(),
    st.sampled_from(["2027-02-30", "2027-03-28 02:30", "25:00", "{{ x.__class__ }}", "{{",
                     "Europe/Madird", "x:nadie", "[1, 2", "'unclosed", "*alias", "&a [*a]",
                     "{before: nada}", "- a\n- b", "\t", "~", "no", "10:00"]))


def lint(text: str):
    return analyze_text(text, CONFIG, NOW, path="fuzz.yaml")


def _check(text: str) -> None:
    result = lint(text)
    for finding in result.findings:
        assert finding.line >= 1 and finding.col >= 1
        assert finding.severity in ("error", "warning")
        assert finding.message and finding.code
    if not result.ok:
        assert any(f.severity == "error" for f in result.findings) or result.calendar is None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_random_text_gives_findings_never_tracebacks(text):
    _check(text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(LINES) - 1), yaml_scalars)
def test_a_calendar_with_one_value_replaced_gives_findings_never_tracebacks(index, value):
    line = LINES[index]
    if ":" in line:
        key, _, _ = line.partition(":")
        mutated = LINES[:index] + [f"{key}: {value}\n"] + LINES[index + 1:]
    else:
        mutated = LINES[:index] + [f"{value}\n"] + LINES[index + 1:]
    _check("".join(mutated))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(LINES) - 1), st.integers(0, len(LINES) - 1), st.integers(0, 80))
def test_a_calendar_with_lines_dropped_or_cut_gives_findings_never_tracebacks(drop, cut, at):
    mutated = list(LINES)
    mutated[cut] = mutated[cut][:at] + "\n"
    del mutated[drop]
    _check("".join(mutated))


keys = st.one_of(st.sampled_from(["fr", "pt", "en-US", "es_MX", "ca-valencia", "EU", "xx", "id",
                                  "text", "at", "for", "kind", "role", "alt", "event", "images",
                                  "time", "days", "before", "label", "value", "overrides"]),
                 st.from_regex(r"[a-z][a-z_-]{0,12}", fullmatch=True))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(LINES) - 1), keys)
def test_a_calendar_with_one_key_renamed_gives_findings_never_tracebacks(index, key):
    # e.g. a text in a language the calendar does not have, or one we cannot write dates in
    line = LINES[index]
    head, colon, rest = line.partition(":")
    if not colon:
        return
    indent = head[:len(head) - len(head.lstrip(" -"))]
    mutated = LINES[:index] + [f"{indent}{key}:{rest}"] + LINES[index + 1:]
    _check("".join(mutated))


# features written where they belong, or anywhere: overrides, events, relative times, notices
snippets = st.sampled_from([
    "    overrides: {x:ayto-test: {text: {es: 'Hola', ca: 'Hola'}}}\n",
    "    overrides: {x: {link: 'https://a.example.org'}}\n",
    "    overrides: {facebook: {images: []}}\n",
    "    images: [{file: a.png, alt: {es: a, ca: b}}]\n",
    "    event: {start: plazo_fin, end: publicacion, title: {es: a, ca: b}}\n",
    "    event: {start: '2027-03-01 10:00', title: x, stream: 'https://s.example.org'}\n",
    "    check_url: https://sede.example.org/x\n",
    "    check_contains: 'abierto'\n",
    "    archived: true\n",
    "    role: closing\n",
    "    category: emergency\n",
    "    at: {after: plazo_fin, business_days: 2, time: '09:00'}\n",
    "    at: {on: plazo_fin, hours: -3, time: '10:00'}\n",
    "    at: {before: importe, days: 1, time: '10:00'}\n",
    "    text: 'solo texto {{ plazo_fin | weekday }} {{ plazo_fin | long }}'\n",
    "    text: {es: '{{ importe | long }}', ca: '{{ plazo_fin | time }}'}\n",
    "    text: {es: 'lunes 12 de abril de 2027', ca: 'dilluns 12 d’abril de 2027'}\n",
    "  otro: {from: plazo_fin, months: 1}\n",
    "  otro: {from: plazo_fin, weeks: 2}\n",
    "  otro: {datetime: '2027-03-28 02:30'}\n",
    "  otro: {date: 2027-02-29}\n",
    "  otro: {value: {es: a}}\n",
    "  otro: {from: importe, calendar_days: 1}\n",
    "  otro: {opens: plazo_fin, closes: publicacion}\n",
    "notices: {correction: {es: 'Corrección: {old} → {new}'}}\n",
    "notices: {retraction: 3}\n",
    "  label: {es: [1]}\n",
    "  holidays: {region: MX-CMX, local: [2027-03-20, {date: 2027-02-30}]}\n",
])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(LINES)), snippets)
def test_a_calendar_with_a_feature_inserted_anywhere_gives_findings_never_tracebacks(index, snippet):
    _check("".join(LINES[:index] + [snippet] + LINES[index:]))
