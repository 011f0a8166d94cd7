"""The API versions an account is pinned to, and when each stops working: data, with where
every date comes from.

LinkedIn and Meta (Facebook, Instagram, Threads) version their APIs and retire old versions on a
published schedule; the others (X v2, Mastodon, Bluesky, Telegram) have no pinned versions.
A deployment pins a version per account (``options.linkedin_version``,
``options.graph_version``) so that an upgrade is a reviewed config change, never a surprise;
this table lets ``pregonero accounts check`` and ``pregonero status`` say how long that version
has left, and warn ``WARN_DAYS`` and alert ``ALERT_DAYS`` before its sunset.

What happens after a sunset differs, and both are dangerous for a town hall:

* LinkedIn refuses every call with a retired ``LinkedIn-Version`` (HTTP 426): the adapter turns
  it into ``VersionRetired``, an alert about the account's configuration, never a refusal of the
  post's content;
* Meta silently answers a retired Graph version with the oldest one still available, whose
  behaviour may differ; only this table can tell before it happens.

Pure data and arithmetic: no clock (``today`` is a parameter), no network.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

__all__ = ["ALERT_DAYS", "WARN_DAYS", "KnownVersion", "VersionStatus", "VersionTable",
           "TABLES", "table_for", "version_status", "pinned_version", "account_version_status"]

#: a pinned version this close to its sunset is reported as a warning, then as an alert
WARN_DAYS = 90
ALERT_DAYS = 30

GRAPH_SOURCE = "https://developers.facebook.com/docs/graph-api/changelog/versions/"
LINKEDIN_SOURCE = "https://learn.microsoft.com/linkedin/marketing/integrations/migrations"
THREADS_SOURCE = "https://developers.facebook.com/docs/threads/changelog"
LINKEDIN_POLICY = ("https://learn.microsoft.com/linkedin/marketing/versioning (each monthly "
                   "version is supported for at least one year)")


@dataclasses.dataclass(frozen=True)
class KnownVersion:
    version: str
    #: the last day it works; None: not announced yet
    sunset: dt.date | None
    #: where the date comes from
    source: str
    #: the date follows from the platform's stated policy, not from a published table
    estimated: bool = False


@dataclasses.dataclass(frozen=True)
class VersionTable:
    platform: str
    #: the account option that pins the version
    option: str
    #: what a new account gets: a current version with the longest life known
    default: str
    #: newest first
    versions: tuple[KnownVersion, ...]
    #: what the platform does with a call on a retired version
    after_sunset: str

    def known(self, version: str) -> KnownVersion | None:
        return next((v for v in self.versions if v.version == version), None)


@dataclasses.dataclass(frozen=True)
class VersionStatus:
    """How long an account's pinned version has left."""

    platform: str
    version: str
    #: ``ok``, ``warning`` (within WARN_DAYS), ``alert`` (within ALERT_DAYS), ``retired``,
    #: ``unknown`` (not in the table: a person must check)
    level: str
    sunset: dt.date | None
    days_left: int | None
    detail: str

    @property
    def needs_attention(self) -> bool:
        return self.level != "ok"

    def as_dict(self) -> dict:
        return {"version": self.version, "level": self.level,
                "sunset": self.sunset.isoformat() if self.sunset else None,
                "days_left": self.days_left, "detail": self.detail}


def _d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


# Graph API versions (Facebook Pages, Instagram): release + "available until", from Meta's
# versions changelog as published after v26.0's release (2026-07-29). Each version lives two
# years after the next one is released.
GRAPH = VersionTable(
    platform="graph", option="graph_version", default="v26.0",
    versions=(
        KnownVersion("v26.0", None, GRAPH_SOURCE),
        KnownVersion("v25.0", _d("2028-07-29"), GRAPH_SOURCE),
        KnownVersion("v24.0", _d("2028-02-18"), GRAPH_SOURCE),
        KnownVersion("v23.0", _d("2027-10-08"), GRAPH_SOURCE),
        KnownVersion("v22.0", _d("2027-05-20"), GRAPH_SOURCE),
        KnownVersion("v21.0", _d("2027-01-21"), GRAPH_SOURCE),
        KnownVersion("v20.0", _d("2026-09-24"), GRAPH_SOURCE),
        KnownVersion("v19.0", _d("2026-05-21"), GRAPH_SOURCE),
        KnownVersion("v18.0", _d("2026-01-26"), GRAPH_SOURCE),
    ),
    after_sunset="Meta answers calls on a retired version with the oldest version still "
                 "available, which may behave differently")

# LinkedIn Marketing API versions (organization pages): sunset dates from LinkedIn's migrations
# table; versions after 202603 have no published date yet, and are given the one year the
# versioning policy guarantees (estimated).
LINKEDIN = VersionTable(
    platform="linkedin", option="linkedin_version", default="202607",
    versions=(
        KnownVersion("202607", _d("2027-07-01"), LINKEDIN_POLICY, estimated=True),
        KnownVersion("202606", _d("2027-06-01"), LINKEDIN_POLICY, estimated=True),
        KnownVersion("202605", _d("2027-05-01"), LINKEDIN_POLICY, estimated=True),
        KnownVersion("202604", _d("2027-04-01"), LINKEDIN_POLICY, estimated=True),
        KnownVersion("202603", _d("2027-03-16"), LINKEDIN_SOURCE),
        KnownVersion("202602", _d("2027-02-15"), LINKEDIN_SOURCE),
        KnownVersion("202601", _d("2027-01-15"), LINKEDIN_SOURCE),
        KnownVersion("202511", _d("2026-11-16"), LINKEDIN_SOURCE),
        KnownVersion("202510", _d("2026-10-15"), LINKEDIN_SOURCE),
        KnownVersion("202411", _d("2025-11-17"), LINKEDIN_SOURCE),
        KnownVersion("202410", _d("2025-10-15"), LINKEDIN_SOURCE),
    ),
    after_sunset="LinkedIn refuses every call on a retired version (HTTP 426): the account "
                 "cannot publish until its version is raised")

# Threads API (graph.threads.net): one version so far, v1.0, served since the API opened in
# June 2024, with no sunset announced; Meta versions it apart from the Graph API (its own
# path, its own changelog). Listed so that accounts check and status name it, and say so the
# day a second version appears and a date is set for this one.
THREADS = VersionTable(
    platform="threads", option="graph_version", default="v1.0",
    versions=(KnownVersion("v1.0", None, THREADS_SOURCE),),
    after_sunset="Meta has announced no retirement of a Threads API version yet")

#: by the platform of an account
TABLES: dict[str, VersionTable] = {"facebook": GRAPH, "instagram": GRAPH, "linkedin": LINKEDIN,
                                   "threads": THREADS}


def table_for(platform: str) -> VersionTable | None:
    return TABLES.get(platform)


def _ordinal(table: VersionTable, version: str) -> tuple[int, ...] | None:
    """A sortable form of a version (``v21.0`` -> (21, 0), ``202411`` -> (202411,))."""
    numbers = re.findall(r"\d+", version)
    return tuple(int(n) for n in numbers) if numbers else None


def _estimated_sunset(table: VersionTable, version: str) -> KnownVersion | None:
    """A LinkedIn version newer than the table: one year after its month, as the policy says."""
    if table is LINKEDIN and re.fullmatch(r"20\d{2}(0[1-9]|1[0-2])", version):
        year, month = int(version[:4]), int(version[4:])
        return KnownVersion(version, dt.date(year + 1, month, 1), LINKEDIN_POLICY,
                            estimated=True)
    return None


def version_status(platform: str, version: str, today: dt.date) -> VersionStatus | None:
    """How long ``version`` of ``platform`` has left on ``today``; None when the platform pins
    no version."""
    table = table_for(platform)
    if table is None:
        return None
    known = table.known(version)
    newest = table.versions[0]
    if known is None:
        ordinal, newest_ordinal = _ordinal(table, version), _ordinal(table, newest.version)
        oldest = table.versions[-1]
        if ordinal is not None and ordinal < (_ordinal(table, oldest.version) or ()) \
                and oldest.sunset is not None and oldest.sunset < today:
            # older than the oldest version the table lists, which is itself retired
            return VersionStatus(platform, version, "retired", None, None,
                                 f"{table.option} {version} is older than {oldest.version}, "
                                 f"retired on {oldest.sunset.isoformat()}: "
                                 f"{table.after_sunset}; set {table.option}: {table.default}")
        if ordinal is not None and newest_ordinal is not None and ordinal > newest_ordinal:
            known = _estimated_sunset(table, version)
            if known is None:
                return VersionStatus(platform, version, "ok", None, None,
                                     f"{table.option} {version} is newer than pregonero's "
                                     f"table (newest known: {newest.version})")
        else:
            return VersionStatus(platform, version, "unknown", None, None,
                                 f"{table.option} {version} is not a version pregonero knows: "
                                 f"check it, or use {table.default}")
    if known.sunset is None:
        return VersionStatus(platform, version, "ok", None, None,
                             f"{table.option} {version}: no sunset announced ({known.source})")
    days = (known.sunset - today).days
    how = "estimated from " if known.estimated else ""
    when = f"{known.sunset.isoformat()} ({how}{known.source})"
    if days < 0:
        return VersionStatus(platform, version, "retired", known.sunset, days,
                             f"{table.option} {version} was retired on {when}: "
                             f"{table.after_sunset}; set {table.option}: {table.default}")
    level = "alert" if days <= ALERT_DAYS else "warning" if days <= WARN_DAYS else "ok"
    advice = f"; set {table.option}: {table.default}" if level != "ok" else ""
    return VersionStatus(platform, version, level, known.sunset, days,
                         f"{table.option} {version} works until {when}, "
                         f"{days} days left{advice}")


def pinned_version(platform: str, options: dict | None) -> str | None:
    """The version an account of ``platform`` calls: its option, else the table's default;
    None when the platform pins no version."""
    table = table_for(platform)
    if table is None:
        return None
    return str((options or {}).get(table.option) or table.default)


def account_version_status(platform: str, options: dict | None,
                           today: dt.date) -> VersionStatus | None:
    """``version_status`` of the version an account with ``options`` calls."""
    version = pinned_version(platform, options)
    return None if version is None else version_status(platform, version, today)
