"""`thread: true` in a calendar: what the linter accepts, refuses and explains, and the jobs
the compiler makes of it."""

from adapters.capabilities import BLUESKY, X
from tests.lintkit import BASE, lint, replace

LONG_ES = ("Ayudas de hasta {{ importe }} para el comercio local de la villa. " * 8
           + "Solicitudes hasta el {{ plazo_fin }}.")
LONG_CA = ("Ajudes de fins a {{ importe }} per al comerç local de la vila. " * 8
           + "Sol·licituds fins al {{ plazo_fin }}.")


def _calendar(accounts: str, thread: bool) -> str:
    text = replace('      es: "Quedan tres días: el plazo termina el {{ plazo_fin }}."\n'
                   '      ca: "Queden tres dies: el termini acaba el {{ plazo_fin }}."',
                   f'      es: "{LONG_ES}"\n      ca: "{LONG_CA}"', BASE)
    text = replace("    accounts: [x:ayto-test, bluesky:ayto-test]\n",
                   f"    accounts: [{accounts}]\n" + ("    thread: true\n" if thread else ""), text)
    return text


def _jobs(result, entry="recordatorio"):
    return [job for job in result.jobs if job.entry == entry]


def test_a_long_text_marked_as_thread_is_no_error_and_becomes_numbered_parts_that_fit():
    result = lint(_calendar("x:ayto-test, bluesky:ayto-test", thread=True))
    assert not [f for f in result.findings if f.severity == "error"], result.findings
    jobs = _jobs(result)
    assert {(j.platform, j.language) for j in jobs} == {("x", "es"), ("x", "ca"),
                                                       ("bluesky", "es"), ("bluesky", "ca")}
    for job in jobs:
        caps = X if job.platform == "x" else BLUESKY
        assert len(job.thread) >= 2
        assert all(caps.count(part) <= caps.text_limit for part in job.thread)
        assert job.thread[-1].endswith(f"{len(job.thread)}/{len(job.thread)}")
        # the whole text stays the job's text: corrections compare what citizens read in full
        assert caps.count(job.text) > caps.text_limit


def test_the_same_long_text_without_thread_is_too_long_with_a_hint_to_thread():
    result = lint(_calendar("x:ayto-test", thread=False))
    (finding,) = [f for f in result.findings if f.code == "too-long" and "in es" in f.message]
    assert "thread: true" in finding.hint


def test_thread_on_a_network_that_cannot_thread_is_still_too_long_and_says_why():
    result = lint(_calendar("telegram:ayto-test", thread=True).replace(LONG_ES, LONG_ES * 12)
                  .replace(LONG_CA, LONG_CA * 12))
    (finding,) = [f for f in result.findings if f.code == "too-long"]
    assert "telegram cannot publish threads" in finding.hint
    assert not [j for j in _jobs(result) if j.thread]


def test_a_thread_that_would_need_too_many_posts_is_one_finding_at_its_language():
    text = _calendar("bluesky:ayto-test", thread=True).replace(LONG_CA, LONG_CA * 8)
    result = lint(text)
    found = [f for f in result.findings if f.severity == "error"]
    assert [f.code for f in found] == ["thread-too-long"]
    assert "in ca" in found[0].message and "more than 10 posts" in found[0].message
    assert text.splitlines()[found[0].line - 1].startswith('      ca: "Ajudes de fins')


def test_a_short_text_marked_as_thread_is_one_post():
    text = replace("    accounts: [x:ayto-test, bluesky:ayto-test]\n",
                   "    accounts: [x:ayto-test, bluesky:ayto-test]\n    thread: true\n")
    result = lint(text)
    assert not [f for f in result.findings if f.severity == "error"]
    assert all(job.thread == () for job in _jobs(result))


def test_jobs_without_thread_keep_the_content_hash_they_had_before_threads_existed():
    job = _jobs(lint(BASE))[0]
    assert "thread" not in job.as_dict()
