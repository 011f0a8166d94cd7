"""What an HTTP status means by itself (``adapters.platform.error_for_status``), the fallback
of every adapter once its platform's own error codes have said nothing more precise."""

from __future__ import annotations

import pytest

from adapters.base import (AccountBlocked, AuthError, OutcomeUnknown, RateLimited, Rejected,
                           Unavailable, VersionRetired)
from adapters.platform import error_for_status


@pytest.mark.parametrize("status, write, expected", [
    (400, True, Rejected), (404, False, Rejected), (422, True, Rejected),
    (401, True, AuthError), (403, False, AuthError),
    (402, True, AccountBlocked),   # credits spent: the account, not the text
    (426, True, VersionRetired),   # the pinned API version is retired: the account's config
    (429, True, RateLimited),
    (500, True, Unavailable), (503, True, Unavailable), (504, False, Unavailable),
    (504, True, OutcomeUnknown),   # the gateway gave up: the platform may have acted
])
def test_each_status_means_one_adapter_error(status, write, expected):
    error = error_for_status(status, f"HTTP {status}", write=write, retry_after_s=30)
    assert type(error) is expected
    if expected is RateLimited:
        assert error.retry_after_s == 30


def test_account_level_refusals_are_auth_errors_so_the_engine_alerts_about_the_account():
    for status in (401, 402, 403, 426):
        assert isinstance(error_for_status(status, "", write=True), AuthError)
    assert not isinstance(error_for_status(400, "", write=True), AuthError)
