"""A long-running worker picks up a renewed token or a new account without a restart, and
keeps publishing on its last good configuration when config/ is broken."""

from __future__ import annotations

import datetime as dt
import json
import os
import types
from pathlib import Path

import pytest
import responses

from tests import test_adapter_mastodon as masto
from tests.enginekit import FakeSourcePlan, hold_still, make_job, utc_in, wait_for
from worker.engine.adapter_pool import AdapterPool
from worker.engine.retry import CurrentPlan, Selection, apply_retries, plan_retries
from worker.engine.clock import to_ms
from worker.engine.states import FAILED
from worker.engine.sync import apply_plan

DEPARTMENTS = "departments:\n  comunicacion: {name: Gabinete}\n"


def accounts_yaml(secret: Path, *, extra: str = "") -> str:
    return ("accounts:\n"
            "  mastodon:ayto-test:\n"
            '    handle: "@ayto@social.example.org"\n'
            "    department: comunicacion\n"
            "    transport: live\n"
            f"    credentials: {{access_token: {{file: {json.dumps(str(secret))}}}}}\n"
            f'    options: {{instance: "{masto.BASE}", text_limit: 500}}\n' + extra)


@pytest.fixture
def deployment(tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    secret = tmp_path / "secrets" / "mastodon_token"
    secret.parent.mkdir()
    secret.write_text("expired-token\n")
    (config / "departments.yaml").write_text(DEPARTMENTS)
    (config / "accounts.yaml").write_text(accounts_yaml(secret))
    return types.SimpleNamespace(home=tmp_path / "home", config=config, secret=secret)


def for_account(account: str):
    return types.SimpleNamespace(account=account)


def built_with_tokens(deployment):
    """A pool whose "adapters" just record the token they were built with."""
    def make(account, transport, *, home):
        return types.SimpleNamespace(token=account.credential("access_token").reveal(),
                                     transport=transport)
    return AdapterPool(deployment.home, deployment.config, recheck_s=0, make=make)


def test_the_same_adapter_serves_while_nothing_changes(deployment):
    pool = built_with_tokens(deployment)
    first = pool(for_account("mastodon:ayto-test"))
    assert pool(for_account("mastodon:ayto-test")) is first
    assert first.token == "expired-token"


def test_a_secret_file_rotated_in_place_or_swapped_gives_a_new_adapter(deployment):
    pool = built_with_tokens(deployment)
    assert pool(for_account("mastodon:ayto-test")).token == "expired-token"
    deployment.secret.write_text("renewed-token-1\n")  # rewritten in place
    assert pool(for_account("mastodon:ayto-test")).token == "renewed-token-1"
    swapped = deployment.secret.with_name("new")  # Kubernetes-style: a new file moved in
    swapped.write_text("renewed-token-2\n")
    os.replace(swapped, deployment.secret)
    assert pool(for_account("mastodon:ayto-test")).token == "renewed-token-2"


def test_an_account_added_to_the_config_is_known_without_a_restart(deployment):
    pool = built_with_tokens(deployment)
    with pytest.raises(KeyError, match="x:ayto-nueva is not in accounts.yaml"):
        pool(for_account("x:ayto-nueva"))
    (deployment.config / "accounts.yaml").write_text(accounts_yaml(
        deployment.secret, extra="  x:ayto-nueva:\n    handle: \"@AytoNueva\"\n"
                                 "    department: comunicacion\n"
                                 "    credentials: {access_token: {env: UNSET_IN_THIS_TEST}}\n"))
    pool._make = lambda account, transport, *, home: types.SimpleNamespace(ref=account.ref)
    assert pool(for_account("x:ayto-nueva")).ref == "x:ayto-nueva"


def test_a_broken_config_keeps_the_last_good_one_in_use(deployment):
    pool = built_with_tokens(deployment)
    adapter = pool(for_account("mastodon:ayto-test"))
    (deployment.config / "accounts.yaml").write_text("accounts:\n  mastodon:ayto-test: [\n")
    assert pool(for_account("mastodon:ayto-test")) is adapter


def test_the_config_is_read_again_at_most_once_per_recheck_interval(deployment):
    clock = [0.0]
    pool = AdapterPool(deployment.home, deployment.config, recheck_s=1.0,
                       clock=lambda: clock[0], make=lambda account, transport, *, home: object())
    pool(for_account("mastodon:ayto-test"))
    (deployment.config / "accounts.yaml").write_text("accounts: {}\n")
    clock[0] = 0.5
    assert pool(for_account("mastodon:ayto-test"))  # not looked at yet
    clock[0] = 1.5
    with pytest.raises(KeyError):
        pool(for_account("mastodon:ayto-test"))


@pytest.fixture
def mastodon():
    """Mastodon refuses the expired token and accepts any other."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as http:
        def answer(request):
            if request.headers["Authorization"] == "Bearer expired-token":
                return 401, {}, json.dumps({"error": "The access token is invalid"})
            return 200, {}, json.dumps(masto.status_json(text=masto.TEXT))
        http.add_callback(responses.POST, masto.POST, callback=answer)
        yield http


def test_after_the_token_is_renewed_a_retry_publishes_without_restarting_the_worker(
        engine, deployment, mastodon):
    from worker.engine.service import adapter_factory

    adapter_for = adapter_factory(deployment.home, deployment.config)  # what the worker uses
    engine.adapter_for_account = lambda account: adapter_for(for_account(account))
    job = make_job("pleno", utc_in(1.0), account="mastodon:ayto-test", text=masto.TEXT)
    plan = FakeSourcePlan("cal.yaml", True, (job,))
    apply_plan(engine.store, [plan], dt.datetime.now(dt.timezone.utc))
    wait_for(lambda: engine.store.state(job.id) == FAILED, what="refused: expired token")
    assert engine.store.get(job.id).reason.startswith("AuthError")

    deployment.secret.write_text("renewed-token-after-expiry\n")
    retries = plan_retries(engine.store, Selection(job_ids=(job.id,)), CurrentPlan([plan]),
                           to_ms(dt.datetime.now(dt.timezone.utc)))
    assert apply_retries(engine.store, retries, "cli:guardia", "token renovado") == [job.id]

    stored = wait_for(lambda: engine.store.get(job.id).state == "published" and
                      engine.store.get(job.id), what="published with the renewed token")
    assert stored.ref.post_id == masto.STATUS_ID
    tokens = [c.request.headers["Authorization"] for c in mastodon.calls]
    assert tokens == ["Bearer expired-token", "Bearer renewed-token-after-expiry"]
    hold_still(lambda: len(mastodon.calls) == 2, 0.5, what="no further request")
