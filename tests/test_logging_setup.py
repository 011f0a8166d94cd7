"""Logging: one structlog line per outcome, JSON off a terminal, and never a credential."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog

from adapters.credentials import resolve_secret
from worker.logging_setup import configure_logging, mask_text

TOKEN = "tok-4f9a7c2e1b8d6a3f5e0c9b7a2d4f6e8a"


@pytest.fixture
def captured():
    stream = io.StringIO()
    configure_logging(fmt="json", stream=stream)
    yield stream
    logging.getLogger().handlers = [h for h in logging.getLogger().handlers
                                    if not getattr(h, "_pregonero", False)]
    structlog.reset_defaults()


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_a_resolved_credential_never_appears_in_log_output_whatever_the_field(captured, monkeypatch):
    monkeypatch.setenv("PREGONERO_TEST_LOG_TOKEN", TOKEN)
    secret = resolve_secret({"env": "PREGONERO_TEST_LOG_TOKEN"})
    log = structlog.get_logger("pregonero.test")
    log.info("post_published", job_id="cal/e/x:a/es", secret=secret)
    log.error("publish_failed", reason=f"401 for https://api.example/post?key={TOKEN}")
    log.warning("adapter_said", body={"nested": [f"token was {TOKEN}"]})
    try:
        raise RuntimeError(f"boom with {TOKEN} inside")
    except RuntimeError:
        log.exception("sync_failed")
    logging.getLogger("urllib3").error("header Authorization: Bearer %s", TOKEN)
    output = captured.getvalue()
    assert TOKEN not in output
    assert output.count("***") >= 5
    events = [line["event"] for line in lines(captured)]
    assert events[:4] == ["post_published", "publish_failed", "adapter_said", "sync_failed"]


def test_anything_shaped_like_a_bearer_token_is_masked_even_if_never_resolved(captured):
    structlog.get_logger("pregonero.test").info(
        "http_request", header="Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig",
        url="https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage")
    output = captured.getvalue()
    assert "eyJhbGciOiJIUzI1NiJ9" not in output
    assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" not in output
    assert "Bearer ***" in output and "/bot***" in output


def test_json_lines_carry_level_logger_timestamp_and_the_outcome_fields(captured):
    structlog.get_logger("pregonero.publish").info("post_published", lateness_ms=12, account="x:a")
    (line,) = lines(captured)
    assert line["event"] == "post_published" and line["lateness_ms"] == 12
    assert line["level"] == "info" and line["logger"] == "pregonero.publish"
    assert line["timestamp"].endswith("Z")


def test_ordinary_words_are_not_mistaken_for_secrets():
    text = "token expired for account x:ayto-calp; idempotency_key=abc#123 content changed"
    assert mask_text(text, frozenset()) == text


def test_the_console_renderer_is_used_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream = Tty()
    try:
        configure_logging(fmt="auto", stream=stream)
        structlog.get_logger("pregonero.test").info("service_started", home="/tmp/x")
    finally:
        logging.getLogger().handlers = [h for h in logging.getLogger().handlers
                                        if not getattr(h, "_pregonero", False)]
        structlog.reset_defaults()
    output = stream.getvalue()
    assert "service_started" in output and not output.lstrip().startswith("{")
