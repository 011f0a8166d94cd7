"""An account's own limits in ``config/accounts.yaml`` (``options.max_images``,
``alt_text_limit``, ``text_limit``) are what the linter checks, as the engine's adapter will:
a post the account's adapter would refuse at send time is refused at lint time instead."""

from __future__ import annotations

import shutil

import pytest

from adapters import account_capabilities, capabilities_with_options
from tests.lintkit import FIXTURES, NOW, replace
from worker.analysis import analyze_text
from worker.calendar.compile import account_capabilities as calendar_account_capabilities
from worker.config import ConfigError, load_config

IMAGES = ("    images:\n"
          "      - url: https://sede.example.org/cartel-1.jpg\n"
          "        alt: {es: Cartel de las ayudas al comercio local, ca: Cartell de les ajudes}\n"
          "      - url: https://sede.example.org/cartel-2.jpg\n"
          "        alt: {es: Plano, ca: Plànol}\n")
#: 'abierto' goes to x:ayto-test only
CALENDAR = replace("    kind: golive\n", "    kind: golive\n" + IMAGES)


def config_with_x_options(tmp_path, options: str):
    config = tmp_path / "config"
    shutil.copytree(FIXTURES / "config", config)
    accounts = config / "accounts.yaml"
    text = accounts.read_text(encoding="utf-8")
    anchor = "      bearer_token: {env: PREGONERO_TEST_X_TOKEN}\n"
    assert anchor in text
    accounts.write_text(text.replace(anchor, anchor + f"    options: {options}\n", 1),
                        encoding="utf-8")
    return config


def findings(tmp_path, options: str):
    config = load_config(config_with_x_options(tmp_path, options))
    return analyze_text(CALENDAR, config, NOW, path="cal.yaml").findings


def test_an_account_that_takes_one_image_is_refused_two_at_lint_time(tmp_path):
    (too_many,) = [f for f in findings(tmp_path, "{max_images: 1}") if f.code == "too-many-images"]
    assert "x:ayto-test takes at most 1 images" in too_many.message
    assert too_many.severity == "error"


def test_an_account_with_a_shorter_alt_text_limit_is_refused_a_longer_description(tmp_path):
    found = [f for f in findings(tmp_path, "{alt_text_limit: 25}") if f.code == "alt-too-long"]
    # only the long description (es 38 characters) is refused; "Plano" fits
    assert found and all("x allows 25" in f.message for f in found)
    assert {f.message.split(" characters")[0] for f in found} == {"alt text is 38"}


def test_without_account_limits_the_same_calendar_lints_clean_of_them(tmp_path):
    codes = {f.code for f in findings(tmp_path, "{}")}
    assert not codes & {"too-many-images", "alt-too-long"}


@pytest.mark.parametrize("options", ["{max_images: many}", "{alt_text_limit: 0}",
                                     "{max_images: -1}", "{text_limit: true}"])
def test_a_malformed_account_limit_is_a_config_error_not_a_crash(tmp_path, options):
    with pytest.raises(ConfigError) as caught:
        load_config(config_with_x_options(tmp_path, options))
    name = options.strip("{}").split(":")[0]
    (bad,) = [f for f in caught.value.findings if f"options.{name}" in f.message]
    assert "must be" in bad.message


def test_the_linter_and_the_engine_take_an_account_s_limits_from_the_same_place(tmp_path):
    config = load_config(config_with_x_options(
        tmp_path, "{max_images: 2, alt_text_limit: 300, text_limit: 250}"))
    account = config.accounts["x:ayto-test"]
    engine = account_capabilities(account)
    linter = calendar_account_capabilities("x:ayto-test", account.options)
    assert engine == linter == capabilities_with_options("x", account.options)
    assert (linter.max_images, linter.alt_text_limit, linter.text_limit) == (2, 300, 250)
