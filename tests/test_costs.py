"""What a plan will cost on X, which bills every request (``worker.costs``, prices in
``adapters.pricing``): per account, before the calendar is merged."""

from __future__ import annotations

import dataclasses
import json
import shutil

from click.testing import CliRunner

from adapters.pricing import X_PRICES, x_prices
from tests.enginekit import make_job, utc_in
from tests.lintkit import BASE, FIXTURES
from worker.cli.main import cli
from worker.config import ConfigError, load_config
from worker.costs import has_link, x_costs, x_unit_costs
from worker.jobs import PlannedImage


def job(text: str, account: str = "x:ayto-test", alts: tuple[str, ...] = ()):
    base = make_job("aviso", utc_in(3600), account=account)
    return dataclasses.replace(base, text=text, platform=account.split(":")[0],
                               images=tuple(PlannedImage(f"img/{i}.png", alt)
                                            for i, alt in enumerate(alts)))


def test_a_post_with_a_link_costs_the_link_price_and_each_alt_text_a_metadata_request():
    jobs = [job("Pleno el lunes."), job("Inscripción: https://www.calp.es/inscripcion"),
            job("Cartel de las fiestas", alts=("Cartel", "")),
            job("En Mastodon no se paga", account="mastodon:ayto-test")]
    (cost,) = x_costs(jobs, X_PRICES)
    assert (cost.account, cost.posts, cost.posts_with_link, cost.image_descriptions) == (
        "x:ayto-test", 3, 1, 1)
    assert round(cost.usd, 4) == round(2 * 0.015 + 0.20 + 0.005, 4)


def test_each_post_of_a_thread_is_billed_and_only_the_one_with_the_link_at_the_link_price():
    long = dataclasses.replace(job("whole text https://www.calp.es/bases"),
                               thread=("Parte uno\n1/3", "Parte dos\n2/3",
                                       "Bases: https://www.calp.es/bases\n3/3"))
    (cost,) = x_costs([long], X_PRICES)
    assert (cost.posts, cost.posts_with_link) == (3, 1)
    assert round(cost.usd, 4) == round(2 * 0.015 + 0.20, 4)


def test_a_bare_domain_is_a_link_for_x_as_it_is_for_its_counting():
    assert has_link("Más información en calp.es") and not has_link("Pleno el lunes.")


def test_a_deployment_can_set_its_own_prices_and_later_costs_follow_them():
    prices = x_prices({"post_create": 0.01})
    assert prices["post_create"] == 0.01 and prices["post_create_url"] == X_PRICES[
        "post_create_url"]
    later = x_unit_costs(prices)
    assert (later.correction, later.deletion, later.lookup_at_most) == (0.01, 0.005, 0.05)


def test_plan_says_what_the_calendar_costs_on_x_in_text_and_json(tmp_path):
    (tmp_path / "cal.yaml").write_text(BASE, encoding="utf-8")
    config = tmp_path / "config"
    shutil.copytree(FIXTURES / "config", config)
    (config / "policies.yaml").write_text(
        (config / "policies.yaml").read_text() + "\ncosts:\n  x:\n    post_create: 0.01\n")
    args = ["plan", str(tmp_path / "cal.yaml"), "--config", str(config),
            "--now", "2027-01-10T09:00:00Z"]
    text = CliRunner().invoke(cli, args)
    assert "X API cost of this plan" in text.output and "x:ayto-test:" in text.output
    data = json.loads(CliRunner().invoke(cli, [*args, "--json"]).output)
    costs = data["x_costs"]
    assert costs["prices_usd"]["post_create"] == 0.01
    assert "config/policies.yaml" in costs["source"]
    x_jobs = [j for j in data["jobs"] if j["platform"] == "x"]
    assert sum(a["posts"] for a in costs["accounts"]) == len(x_jobs) > 0


def test_lint_says_what_the_calendar_costs_on_x_and_its_json_carries_the_same_figures(tmp_path):
    (tmp_path / "cal.yaml").write_text(BASE, encoding="utf-8")
    args = ["lint", str(tmp_path / "cal.yaml"), "--config", str(FIXTURES / "config"),
            "--now", "2027-01-10T09:00:00Z"]
    result = CliRunner().invoke(cli, args)
    # the figures go with the summary, on stderr: stdout stays one finding per line
    assert "X API cost of this plan" in result.stderr and "x:ayto-test:" in result.stderr
    assert "X API cost" not in result.stdout
    linted = json.loads(CliRunner().invoke(cli, [*args, "--format", "json"]).stdout)["x_costs"]
    planned = json.loads(CliRunner().invoke(
        cli, ["plan", *args[1:], "--json"]).stdout)["x_costs"]
    assert linted == planned and linted["accounts"][0]["posts"] > 0


def test_a_price_that_is_not_a_number_is_a_config_error_at_its_line(tmp_path):
    config = tmp_path / "config"
    shutil.copytree(FIXTURES / "config", config)
    (config / "policies.yaml").write_text(
        (config / "policies.yaml").read_text() + "\ncosts:\n  x:\n    post_create: gratis\n"
        "    post_create_link: 0.2\n")
    try:
        load_config(config)
    except ConfigError as exc:
        messages = [f.format() for f in exc.findings]
    else:  # pragma: no cover - the assertion below says what was expected
        messages = []
    assert any("costs.x.post_create" in m and "number" in m for m in messages), messages
    assert any("post_create_link" in m and "post_create_url" in m for m in messages), messages


def test_accounts_check_says_what_x_bills_per_post(tmp_path):
    from adapters.accounts import AccountConfig
    from worker.cli.accounts_cmd import check_account

    account = AccountConfig.from_mapping("x:ayto-test", {
        "handle": "@AytoTest", "department": "comunicacion", "transport": "outbox"})
    row = check_account(account, "outbox", tmp_path, x_prices={"post_create_url": 0.25})
    assert "X bills $0.015 a post, $0.25 with a link" in row.detail
