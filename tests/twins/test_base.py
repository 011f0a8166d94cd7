"""The twins' plumbing: one handler answers both requests and httpx, with the body parsed."""

import httpx
import pytest
import requests

from tests.twins.base import SeenPost, TwinClock, answer


def echo(request):
    return answer(201, {"path": request.path, "id": request.match["id"],
                        "form": request.form(), "query": request.query,
                        "files": {k: [n, len(b)] for k, (n, b) in request.files().items()},
                        "auth": request.header("authorization")})


def test_one_handler_answers_requests_and_httpx_with_the_body_parsed(http):
    http.route("POST", r"https://api\.example\.org/items/(?P<id>\d+)", echo)
    via_requests = requests.post("https://api.example.org/items/7?x=1", data={"a": "é"},
                                 headers={"Authorization": "Bearer t"}).json()
    via_httpx = httpx.post("https://api.example.org/items/8", files={"f": ("a.png", b"1234")},
                           data={"b": "2"}).json()
    assert via_requests == {"path": "/items/7", "id": "7", "form": {"a": ["é"]},
                            "query": {"x": ["1"]}, "files": {}, "auth": "Bearer t"}
    assert via_httpx["id"] == "8" and via_httpx["form"] == {"b": ["2"]}
    assert via_httpx["files"] == {"f": ["a.png", 4]}


def test_a_request_no_twin_answers_is_refused_by_both_libraries(http):
    with pytest.raises(requests.ConnectionError):
        requests.get("https://elsewhere.example.org/")
    with pytest.raises(Exception):
        httpx.get("https://elsewhere.example.org/")


def test_the_clock_advances_by_what_the_scenario_asks():
    clock = TwinClock()
    before = clock.now()
    clock.advance(3600)
    assert 3600 <= (clock.now() - before).total_seconds() < 3605


def test_a_thread_reads_the_post_then_its_replies_depth_first():
    post = SeenPost("1", "a", replies=(SeenPost("2", "b", replies=(SeenPost("3", "c"),)),
                                       SeenPost("4", "d")))
    assert post.thread() == ["a", "b", "c", "d"]


def test_a_planted_refusal_answers_without_acting_and_a_lost_answer_acts_then_times_out(http):
    from tests.twins.base import Fault

    acted = []

    def create(request):
        acted.append(request.arg("n"))
        return answer(200, {"ok": True})

    http.route("POST", r"https://api\.example\.org/create", create)
    http.plant(Fault("POST", r"/create", "refuse", status=503))
    http.plant(Fault("POST", r"/create", "lose_answer"))
    assert requests.post("https://api.example.org/create", data={"n": "1"}).status_code == 503
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post("https://api.example.org/create", data={"n": "2"})
    with pytest.raises(httpx.ReadTimeout):
        http.plant(Fault("POST", r"/create", "lose_answer"))
        httpx.post("https://api.example.org/create", data={"n": "3"})
    assert requests.post("https://api.example.org/create", data={"n": "4"}).ok
    assert acted == ["2", "3", "4"]
    assert [c.status for c in http.calls] == [503, "timeout", "timeout", 200]
