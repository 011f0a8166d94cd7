"""Publishing quotas: hold a job that would exceed its account's daily publishing limit.

Instagram and Threads accounts may publish only so many posts through the API per moving 24
hours (a carousel counts as one); past the limit the publishing call is refused. Meta
recommends that apps enforce the limit themselves, especially when posts are scheduled, so
before publishing the actor asks the adapter (any adapter with ``publishing_quota()``) how much
is used. A job that would exceed it is ``held`` with reason ``instagram_quota`` or
``threads_quota`` and re-checked later: it is neither failed nor retried at random, and
``status`` shows why it waits.

Two jobs of one account released at the same moment may both see one free slot; the second
is then refused by the API, which the adapter reports as ``RateLimited`` (retried later,
when this gate holds it). If the quota cannot be read, the job goes ahead for the same reason:
the platform enforces its own limit.
"""

from __future__ import annotations

import dataclasses

import structlog

from adapters.base import Adapter, AdapterError
from worker.engine.states import INSTAGRAM_QUOTA, QUOTA_HOLDS
from worker.engine.store import StoredJob

__all__ = ["quota_reason", "QuotaCheck", "quota_gate"]

log = structlog.get_logger("pregonero.quota")


def quota_reason(platform: str) -> str:
    """The hold reason of a job waiting for its account's publishing quota (``status``)."""
    return QUOTA_HOLDS.get(platform, INSTAGRAM_QUOTA)


@dataclasses.dataclass(frozen=True)
class QuotaCheck:
    """The gate's answer: may the job be published now, and why not."""

    allowed: bool
    detail: str = ""


def quota_gate(adapter: Adapter, stored: StoredJob) -> QuotaCheck:
    """Whether publishing ``stored`` now stays within the account's publishing quota.

    Only new posts count: corrections (comments, edits, deletions; the ``ca`` field of a
    correction job) do not use the publishing limit. Adapters without ``publishing_quota``
    have no such limit."""
    read = getattr(adapter, "publishing_quota", None)
    if read is None or stored.fields.get("ca"):
        return QuotaCheck(True)
    try:
        quota = read()
    except AdapterError as exc:
        log.warning("quota_unreadable", job_id=stored.id, account=stored.job.account,
                    error=f"{type(exc).__name__}: {exc}"[:300])
        return QuotaCheck(True, "quota unreadable")
    if quota.used + 1 > quota.total:
        hours = round(quota.duration_s / 3600)
        return QuotaCheck(False, f"{quota.used} of {quota.total} posts published in the last "
                                 f"{hours} h")
    return QuotaCheck(True, f"{quota.used} of {quota.total}")
