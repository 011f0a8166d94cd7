"""``adapters.factory``: one line per live platform, imported only when an account of that
platform is built; the outbox and the feed write under the home they are given."""

from __future__ import annotations

import pytest

from adapters import PLATFORMS
from adapters.accounts import AccountConfig
from adapters.base import NotSupported
from adapters.factory import LIVE, live_adapter_class, make_adapter


def test_every_platform_but_the_local_ones_has_a_live_adapter_and_the_table_names_it_right():
    assert set(LIVE) == set(PLATFORMS) - {"outbox", "ics"}
    for platform in LIVE:
        adapter_class = live_adapter_class(platform)
        assert adapter_class.__name__.lower() == f"{platform}adapter"
        for method in ("publish", "correct", "reply", "retract", "lookup", "verify"):
            assert callable(getattr(adapter_class, method)), (platform, method)


def test_a_platform_without_a_live_adapter_is_not_supported():
    # the iCalendar feed is written locally whatever the transport
    with pytest.raises(NotSupported, match="no live ics adapter"):
        live_adapter_class("ics")


def test_the_outbox_needs_the_deployment_s_home_and_writes_under_it(tmp_path):
    account = AccountConfig.from_mapping("x:ayto", {"handle": "@Ayto", "department": "prensa"})
    with pytest.raises(ValueError, match="home folder"):
        make_adapter(account, "outbox")
    outbox = make_adapter(account, "outbox", home=tmp_path)
    assert type(outbox).__name__ == "OutboxAdapter"
    assert outbox.capabilities == PLATFORMS["x"]  # the account's own limits: none here
