"""Secrets resolve from env or files and never show up in output or error messages."""

from __future__ import annotations

import logging
import pickle

import pytest

from adapters.accounts import AccountConfig
from adapters.credentials import Secret, SecretError, mask_secrets, resolve_secret

TOKEN = "tok-9f8e7d6c5b4a-SECRET"


def test_a_secret_shows_as_stars_in_str_repr_and_format():
    secret = Secret(TOKEN, "env:X_CALP_TOKEN")
    for shown in (str(secret), repr(secret), f"{secret}", f"{secret!r}", "%s" % secret,
                  repr([secret]), repr({"token": secret})):
        assert TOKEN not in shown
        assert "***" in shown
    assert secret.reveal() == TOKEN


def test_a_secret_does_not_leak_through_logging(caplog):
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("token is %s / %r", Secret(TOKEN), Secret(TOKEN))
    assert TOKEN not in caplog.text


def test_a_secret_refuses_to_be_pickled():
    with pytest.raises(TypeError):
        pickle.dumps(Secret(TOKEN))


def test_an_env_secret_resolves_from_the_environment(monkeypatch):
    monkeypatch.setenv("X_CALP_TOKEN", TOKEN)
    secret = resolve_secret({"env": "X_CALP_TOKEN"})
    assert secret.reveal() == TOKEN
    assert secret.source == "env:X_CALP_TOKEN"


def test_a_missing_env_variable_is_named_in_the_error(monkeypatch):
    monkeypatch.delenv("X_CALP_TOKEN", raising=False)
    with pytest.raises(SecretError, match="X_CALP_TOKEN is not set"):
        resolve_secret({"env": "X_CALP_TOKEN"})


def test_an_empty_env_variable_is_an_error(monkeypatch):
    monkeypatch.setenv("X_CALP_TOKEN", "  ")
    with pytest.raises(SecretError, match="X_CALP_TOKEN is empty"):
        resolve_secret({"env": "X_CALP_TOKEN"})


def test_a_file_secret_loses_its_trailing_newline(tmp_path):
    path = tmp_path / "x_calp"
    path.write_text(TOKEN + "\n")
    assert resolve_secret({"file": str(path)}).reveal() == TOKEN


def test_a_missing_secret_file_is_named_in_the_error(tmp_path):
    path = tmp_path / "nope"
    with pytest.raises(SecretError, match="nope does not exist"):
        resolve_secret({"file": str(path)})


def test_an_unreadable_secret_file_does_not_quote_its_content(tmp_path):
    path = tmp_path / "binary"
    path.write_bytes(b"\xff\xfe" + TOKEN.encode())
    with pytest.raises(SecretError) as info:
        resolve_secret({"file": str(path)})
    assert "binary" in str(info.value)
    assert TOKEN not in str(info.value)
    assert info.value.__cause__ is None or TOKEN not in str(info.value.__cause__)


def test_a_malformed_spec_does_not_echo_its_values():
    with pytest.raises(SecretError) as info:
        resolve_secret({"value": TOKEN})
    assert TOKEN not in str(info.value)
    with pytest.raises(SecretError):
        resolve_secret({"env": "A", "file": "/b"})


def test_mask_secrets_replaces_every_occurrence():
    text = f"POST /oauth?token={TOKEN}&again={TOKEN} other=abc"
    masked = mask_secrets(text, [Secret(TOKEN), "abc", ""])
    assert TOKEN not in masked and "abc" not in masked
    assert masked.count("***") == 3


def test_account_credentials_resolve_lazily_and_name_the_account(monkeypatch):
    account = AccountConfig.from_mapping("x:ayto-calp", {
        "department": "comunicacion",
        "credentials": {"token": {"env": "X_CALP_TOKEN"}},
    })
    monkeypatch.delenv("X_CALP_TOKEN", raising=False)
    with pytest.raises(ValueError, match=r"x:ayto-calp.*token.*X_CALP_TOKEN"):
        account.credential("token")
    monkeypatch.setenv("X_CALP_TOKEN", TOKEN)
    assert account.credential("token").reveal() == TOKEN
    assert TOKEN not in repr(account)
    with pytest.raises(KeyError, match="configured: token"):
        account.credential("secret")


def test_a_token_pasted_into_the_config_is_refused_without_echoing_it():
    with pytest.raises(ValueError) as info:
        AccountConfig.from_mapping("x:ayto-calp", {"department": "c",
                                                   "credentials": {"token": TOKEN}})
    assert TOKEN not in str(info.value)
    assert "never put secrets" in str(info.value)


def test_account_config_parses_all_fields():
    account = AccountConfig.from_mapping("mastodon:calp", {
        "department": "comunicacion", "also_departments": ["turismo"],
        "languages": ["es", "ca"], "credentials": {"token": {"file": "/run/secrets/m"}},
        "options": {"instance": "https://calp.social", "text_limit": 1000},
    })
    assert (account.platform, account.handle) == ("mastodon", "calp")
    assert account.also_departments == ("turismo",)
    assert account.languages == ("es", "ca")
    assert account.options["text_limit"] == 1000
    assert account.may_publish("turismo") and not account.may_publish("deportes")


@pytest.mark.parametrize("data, message", [
    ({}, "'department' is required"),
    ({"department": "c", "languages": ["spanish"]}, "not a language tag"),
    ({"department": "c", "colour": "red"}, "unknown key"),
    ({"department": "c", "options": {"text_limit": -1}}, "positive integer"),
    ({"department": "c", "platform": "bluesky"}, "contradicts"),
])
def test_account_config_errors_say_what_is_wrong(data, message):
    with pytest.raises(ValueError, match=message):
        AccountConfig.from_mapping("x:ayto-calp", data)
