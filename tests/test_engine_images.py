"""The engine never trusts a compiled image path: a plan stored in Redis (by an older
pregonero, before images were confined) whose image leads to a secret outside the calendar
repository is refused right before any adapter sees it: the job fails for good with the
entry and the rule, an alert is logged, and the secret's bytes are in no request. An image
inside the repository goes out as the very bytes that were checked."""

from __future__ import annotations

import dataclasses
import json

import httpx
import pytest
import respx
import structlog

from adapters.bluesky import BlueskyAdapter
from tests import test_adapter_bluesky as bsky
from tests.enginekit import FakeSourcePlan, make_job, utc_in, wait_for
from tests.test_engine import now
from tests.test_engine_platforms import account
from tests.contract.cases import TOKEN
from tests.twins.base import png_bytes
from worker.jobs import PlannedImage
from worker.engine.sync import apply_plan

SECRET = b"calp_bluesky_app_password=abcd-efgh-ijkl-mnop"
CARTEL = png_bytes(4, 3)


@pytest.fixture
def repo(tmp_path):
    """tmp/repo (the calendar repository, a git checkout) with a real poster and a committed
    link to a secret kept outside it, in tmp/run/secrets."""
    root = tmp_path / "repo"
    (root / "img").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "img" / "cartel.png").write_bytes(CARTEL)
    secrets = tmp_path / "run" / "secrets"
    secrets.mkdir(parents=True)
    (secrets / "calp_bluesky").write_bytes(SECRET)
    (root / "img" / "logo.png").symlink_to(secrets / "calp_bluesky")
    return root


@pytest.fixture
def http():
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        router.post(bsky.CREATE_SESSION).mock(
            return_value=httpx.Response(200, json=bsky.session_json()))
        router.post(f"{bsky.PDS}/xrpc/com.atproto.repo.uploadBlob").mock(
            return_value=httpx.Response(200, json={"blob": {
                "$type": "blob", "ref": {"$link": bsky.NEW_CID}, "mimeType": "image/png",
                "size": len(CARTEL)}}))
        router.post(bsky.CREATE_RECORD).mock(
            return_value=httpx.Response(200, json=bsky.record_json()))
        yield router


def bodies(router) -> list[bytes]:
    return [call.request.content for call in router.calls]


def live_bluesky(engine, monkeypatch):
    adapter = BlueskyAdapter(account("bluesky:ayto-test", monkeypatch, {"app_password": TOKEN},
                                     handle=bsky.HANDLE), timeout_s=5)
    engine.adapter_for_account = lambda acct: adapter
    return adapter


def stored_plan_job(entry: str, image_path: str):
    job = make_job(entry, utc_in(1.0), account="bluesky:ayto-test", text="Cartel de fiestas")
    return dataclasses.replace(job, images=(PlannedImage(image_path, "Cartel"),))


def test_a_stored_job_whose_image_links_to_a_secret_fails_before_any_request(
        engine_factory, repo, http, monkeypatch):
    engine = engine_factory(images_root=str(repo))
    live_bluesky(engine, monkeypatch)
    job = stored_plan_job("cartel-viejo", str(repo / "img" / "logo.png"))
    with structlog.testing.capture_logs() as logs:
        apply_plan(engine.store, [FakeSourcePlan("cal.yaml", True, (job,))], now())
        stored = wait_for(lambda: (s := engine.store.get(job.id)) and s.state == "failed" and s,
                          what="the job failed")
    assert not any(SECRET in body for body in bodies(http))
    assert not [c for c in http.calls if "uploadBlob" in str(c.request.url)]
    assert not [c for c in http.calls if "createRecord" in str(c.request.url)]
    reason = stored.fields["r"]
    assert "entry 'cartel-viejo' of calendar 'cal'" in reason and "image-outside-repo" in reason
    assert SECRET.decode() not in json.dumps(engine.store.audit(job.id))
    (failed,) = [e for e in logs if e["event"] == "publish_failed" and e.get("job_id") == job.id]
    assert failed["alert"] is True and failed["entry"] == "cartel-viejo"


@pytest.mark.parametrize("path", ["/etc/passwd", "relative/cartel.png"])
def test_a_stored_job_naming_a_system_file_or_a_relative_path_is_refused(
        engine_factory, repo, http, monkeypatch, path):
    engine = engine_factory(images_root=str(repo))
    live_bluesky(engine, monkeypatch)
    job = stored_plan_job("cartel-raro", path)
    apply_plan(engine.store, [FakeSourcePlan("cal.yaml", True, (job,))], now())
    stored = wait_for(lambda: (s := engine.store.get(job.id)) and s.state == "failed" and s,
                      what="the job failed")
    assert "image-outside-repo" in stored.fields["r"]
    assert not http.calls or all("uploadBlob" not in str(c.request.url) for c in http.calls)


def test_an_image_inside_the_repository_is_uploaded_as_the_bytes_that_were_checked(
        engine_factory, repo, http, monkeypatch):
    engine = engine_factory(images_root=str(repo))
    live_bluesky(engine, monkeypatch)
    job = stored_plan_job("cartel", str(repo / "img" / "cartel.png"))
    apply_plan(engine.store, [FakeSourcePlan("cal.yaml", True, (job,))], now())
    wait_for(lambda: (s := engine.store.get(job.id)) and s.state == "published",
             what="the job published")
    (upload,) = [c for c in http.calls if "uploadBlob" in str(c.request.url)]
    assert upload.request.content == CARTEL


def test_a_worker_told_no_calendar_repository_sends_no_local_image(
        engine_factory, repo, http, monkeypatch):
    engine = engine_factory()  # images_root None
    live_bluesky(engine, monkeypatch)
    job = stored_plan_job("cartel", str(repo / "img" / "cartel.png"))
    apply_plan(engine.store, [FakeSourcePlan("cal.yaml", True, (job,))], now())
    stored = wait_for(lambda: (s := engine.store.get(job.id)) and s.state == "failed" and s,
                      what="the job failed")
    assert "--schedules" in engine.store.audit(job.id)[-1]["why"]
    assert not [c for c in http.calls if "uploadBlob" in str(c.request.url)]
    assert stored.ref is None
