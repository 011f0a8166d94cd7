"""What ``config/`` says, as frozen data: the accounts, the house rules (quiet periods, style,
typed dates), the retraction policy, the go-live check's limits and what it may reach.

``worker.config`` reads and validates the folder into these; the calendar's checks and the
engine read them. They sit below both so that the language never imports the loader (which is
built on the language's own YAML machinery)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Mapping

from adapters.accounts import AccountConfig

from worker.net.guard import NetPolicy


@dataclasses.dataclass(frozen=True)
class QuietPeriod:
    id: str
    start: dt.datetime
    end: dt.datetime
    departments: tuple[str, ...]
    allow: tuple[str, ...]
    reason: str

    def covers(self, instant: dt.datetime, department: str, category: str) -> bool:
        return (self.start <= instant <= self.end and category not in self.allow
                and (not self.departments or department in self.departments))


@dataclasses.dataclass(frozen=True)
class Config:
    """Everything from ``config/``, frozen."""

    accounts: Mapping[str, AccountConfig]
    departments: Mapping[str, str]
    quiet_periods: tuple[QuietPeriod, ...] = ()
    forbidden: tuple[tuple[str, str], ...] = ()
    required_hashtags: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    typed_dates: str = "warning"
    retraction_default: str = "delete"
    retraction_platforms: Mapping[str, str] = dataclasses.field(default_factory=dict)
    golive_recheck_s: int = 60
    golive_window_s: int = 6 * 3600
    golive_timeout_s: int = 10
    #: what the go-live check may reach
    network: NetPolicy = NetPolicy()
    transport_default: str = "outbox"
    #: the deployment's own X prices, on top of X's published ones (``adapters.pricing``)
    x_prices: Mapping[str, float] = dataclasses.field(default_factory=dict)

    def retraction_policy(self, platform: str) -> str:
        return self.retraction_platforms.get(platform, self.retraction_default)
