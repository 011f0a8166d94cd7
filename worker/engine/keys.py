"""Every Redis key pregonero uses, in one place.

Everything lives under ``pregonero:`` so that a shared Redis (``REDIS_URL``) can host other
things, and so that ``redis-cli --scan --pattern 'pregonero:*'`` shows the whole state.
The Lua scripts in ``worker.engine.store`` build job keys from ``JOB_PREFIX``: keep them in sync by
passing the prefix in, never by repeating the literal.
"""

from __future__ import annotations

PREFIX = "pregonero:"

#: ``pregonero:job:{id}`` -- hash, one per job: state, compact job JSON, due, attempt, ref...
JOB_PREFIX = PREFIX + "job:"
#: zset of job ids that need the dispatcher at a given instant, scored by epoch ms:
#: ``scheduled`` jobs (at their due instant or retry instant) and ``held`` go-live jobs
#: (at their next re-check).
DUE = PREFIX + "due"
#: zset of jobs with a lease, scored by lease expiry epoch ms: ``dispatched`` (message sent,
#: not yet begun), ``publishing`` (heartbeat-extended) and ``uncertain`` (next lookup).
LEASES = PREFIX + "leases"
#: zset of held job ids (paused, quiet period, missed), scored by the instant they were due.
HELD = PREFIX + "held"
#: hash of active pauses: field ``all`` | ``account:{x}`` | ``department:{x}`` -> JSON info.
PAUSES = PREFIX + "pauses"
#: stream of every state transition (job_id, from, to, by, why, at).
AUDIT = PREFIX + "audit"
#: list the dispatcher BLPOPs on: a push wakes it early when sync adds an earlier job.
WAKE = PREFIX + "wake"
#: hash: last sync outcome (time, counts, load errors).
SYNC_STATUS = PREFIX + "sync:status"
#: ``pregonero:calendar:{path}`` -- JSON summary of the last good compile of a calendar file.
CALENDAR_PREFIX = PREFIX + "calendar:"
#: counter used to mint dispatch tokens.
TOKEN_SEQ = PREFIX + "seq:token"
#: ``pregonero:heartbeat:{component}`` -- epoch ms a process last said it was alive (/healthz).
HEARTBEAT_PREFIX = PREFIX + "heartbeat:"
#: ``pregonero:versions:{job_id}`` -- list of every published version of a post (history).
VERSIONS_PREFIX = PREFIX + "versions:"
#: hash of CLI corrections kept until the calendar in git carries the same value.
OVERRIDES = PREFIX + "overrides"
#: hash of stale calendar values already alerted on: ``{override field}|{why}`` -> epoch ms
OVERRIDES_STALE = PREFIX + "overrides:stale"
#: hash: calendar file -> digest of the load findings already alerted on (one alert per change)
LOAD_ALERTS = PREFIX + "sync:load-alerts"
#: ``pregonero:source:{path}`` -- hash: the text of a calendar file as it last compiled
#: cleanly (sha, calendar_id, text, at): on-call corrects from it while the file is broken
SOURCE_PREFIX = PREFIX + "source:"
#: ``pregonero:calmeta:{calendar}`` -- where a calendar lives and what its facts say.
CALMETA_PREFIX = PREFIX + "calmeta:"
#: ``pregonero:changes:{calendar}`` -- the log of fact changes (who, why, when).
CHANGES_PREFIX = PREFIX + "changes:"


def job(job_id: str) -> str:
    """The hash key of one job."""
    return JOB_PREFIX + job_id


def versions(job_id: str) -> str:
    """``pregonero:versions:{job_id}``: every published version of a post."""
    return VERSIONS_PREFIX + job_id


def calendar(path: str) -> str:
    """The key holding the last good plan summary of one calendar file."""
    return CALENDAR_PREFIX + path


def dramatiq_namespace(home_id: str) -> str:
    """The dramatiq broker namespace: one per pregonero home, so two homes sharing a Redis
    never consume each other's messages."""
    return f"pregonero-dramatiq-{home_id}"
