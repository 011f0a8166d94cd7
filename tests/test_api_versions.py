"""The API versions accounts are pinned to (``adapters.api_versions``): how long each has left,
shown by ``pregonero accounts check`` and ``pregonero status`` before a platform retires it."""

from __future__ import annotations

import datetime as dt
import json

from click.testing import CliRunner

from adapters.api_versions import (ALERT_DAYS, GRAPH, LINKEDIN, THREADS, WARN_DAYS,
                                   pinned_version, version_status)
from adapters.accounts import AccountConfig
from worker.cli.accounts_cmd import check_account
from worker.cli.main import cli

TODAY = dt.date(2026, 12, 4)


def test_linkedin_202411_is_retired_and_names_the_option_and_a_current_version():
    status = version_status("linkedin", "202411", TODAY)
    assert status.level == "retired" and status.sunset == dt.date(2025, 11, 17)
    assert "linkedin_version" in status.detail and LINKEDIN.default in status.detail
    assert "426" in status.detail  # what LinkedIn does with it


def test_a_version_warns_ninety_days_before_its_sunset_and_alerts_thirty_days_before():
    sunset = dt.date(2027, 1, 21)  # Graph v21.0, Meta's versions changelog
    assert version_status("facebook", "v21.0", sunset - dt.timedelta(days=WARN_DAYS + 1)).level \
        == "ok"
    assert version_status("facebook", "v21.0", sunset - dt.timedelta(days=WARN_DAYS)).level \
        == "warning"
    alert = version_status("instagram", "v21.0", sunset - dt.timedelta(days=ALERT_DAYS))
    assert alert.level == "alert" and alert.days_left == ALERT_DAYS
    assert "v26.0" in alert.detail and "2027-01-21" in alert.detail
    retired = version_status("facebook", "v21.0", sunset + dt.timedelta(days=1))
    assert retired.level == "retired" and "oldest version still available" in retired.detail


def test_the_defaults_are_current_with_no_warning_on_the_day_they_were_chosen():
    for platform, table in (("facebook", GRAPH), ("linkedin", LINKEDIN)):
        status = version_status(platform, table.default, TODAY)
        assert status.level == "ok", status.detail
    assert pinned_version("linkedin", {}) == LINKEDIN.default
    assert pinned_version("facebook", {"graph_version": "v24.0"}) == "v24.0"
    assert pinned_version("mastodon", {}) is None  # no pinned versions there


def test_every_date_says_where_it_comes_from_and_estimates_say_so():
    for table in (GRAPH, LINKEDIN, THREADS):
        for known in table.versions:
            assert known.source.startswith("https://"), known
        assert [v.version for v in table.versions] == sorted(
            (v.version for v in table.versions), key=lambda v: [int(n) for n in
                                                                v.strip("v").split(".")],
            reverse=True)
    newer = version_status("linkedin", "202701", TODAY)  # newer than the table
    assert newer.level == "ok" and newer.sunset == dt.date(2028, 1, 1)
    assert "estimated" in version_status("linkedin", "202607", dt.date(2027, 5, 1)).detail


def test_threads_has_its_own_table_and_its_one_version_has_no_sunset_announced():
    from adapters.threads import THREADS_VERSION

    assert pinned_version("threads", {}) == THREADS_VERSION == THREADS.default == "v1.0"
    status = version_status("threads", "v1.0", TODAY)
    assert status.level == "ok" and "no sunset announced" in status.detail
    # the Graph API's numbers mean nothing on graph.threads.net
    assert version_status("threads", "v26.0", TODAY).level != "retired"


def test_a_version_older_than_the_table_is_retired_and_an_unknown_one_asks_a_person():
    assert version_status("facebook", "v17.0", TODAY).level == "retired"
    assert version_status("facebook", "v21.5", TODAY).level == "unknown"
    assert version_status("facebook", "v27.0", TODAY).level == "ok"


def test_accounts_check_fails_an_account_on_a_retired_version_whatever_its_transport(tmp_path):
    account = AccountConfig.from_mapping("linkedin:ayto-test", {
        "handle": "Ayto", "department": "comunicacion", "transport": "outbox",
        "options": {"organization_id": "123", "linkedin_version": "202411"}})
    row = check_account(account, "outbox", tmp_path, today=TODAY)
    assert not row.ok and row.version_level == "retired" and row.status == "FAILED"
    assert "linkedin_version 202411 was retired on 2025-11-17" in row.detail
    fb = AccountConfig.from_mapping("facebook:ayto-test", {
        "handle": "Ayto", "department": "comunicacion", "transport": "outbox",
        "options": {"page_id": "1", "graph_version": "v21.0"}})
    row = check_account(fb, "outbox", tmp_path, today=dt.date(2027, 1, 1))
    assert row.ok and row.warning and row.status == "API version: 20 d left"
    assert row.api_version == {"version": "v21.0", "level": "alert", "sunset": "2027-01-21",
                               "days_left": 20, "detail": row.api_version["detail"]}


ACCOUNTS = """\
accounts:
  linkedin:ayto-test:
    handle: Ayto
    department: comunicacion
    options: {organization_id: "123", linkedin_version: "202411"}
"""


def test_status_and_accounts_check_name_the_account_on_a_retired_version(tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.mkdir()
    (config / "accounts.yaml").write_text(ACCOUNTS, encoding="utf-8")
    (config / "departments.yaml").write_text("departments:\n  comunicacion: {name: Prensa}\n")
    monkeypatch.setenv("PREGONERO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PREGONERO_CONFIG", str(config))
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # nothing there: status still says
    result = CliRunner().invoke(cli, ["accounts", "check", "--config", str(config), "--json"])
    assert result.exit_code == 1, result.output
    (row,) = json.loads(result.output)
    assert row["api_version"]["level"] == "retired" and not row["ok"]
    result = CliRunner().invoke(cli, ["status", "--json"])
    report = json.loads(result.output)
    assert [r["account"] for r in report["api_versions"]] == ["linkedin:ayto-test"]
    assert report["api_versions"][0]["level"] == "retired"
