"""Every field of a job's hash in Redis (``job:<id>``), and what it holds.

Names are one to three letters because a town's year is hundreds of thousands of hashes and
each name is stored in every one of them; this table is where they are spelled out. The
tests check that a running engine writes no field missing here (``tests/conftest.py``).
Times are UTC milliseconds since the epoch; texts are UTF-8.
"""

from __future__ import annotations

#: what the planner stored (``Store.add_job``, ``Store.update_job``)
PLANNED = {
    "j": "the planned Job as compact JSON (text, instant, account, images, event...)",
    "h": "the Job's content hash: a change of text, instant or images changes it",
    "d": "the planned instant (ms)",
    "p": "the calendar file it comes from, relative to the schedules folder",
    "e": "the calendar entry id",
    "a": "the account reference (platform:name)",
    "dp": "the department owning the calendar",
}

#: the engine's state machine (``worker.engine.states``)
STATE = {
    "s": "the state: scheduled, dispatched, held, publishing, uncertain, published, "
         "correcting, retracted, failed, cancelled",
    "u": "when the state last changed (ms)",
    "r": "why it is held or failed (a reason code such as golive_waiting, or a message)",
    "t": "the dispatch token of the claim now handing it to a worker",
    "at": "the id of the publishing attempt now (or last) under way",
    "as": "when that attempt began (ms): lateness is measured from it",
    "n": "tries spent on failures (outage, unexpected error) out of the backoff schedule",
    "ue": "the attempt whose call ended in an unexpected error (an expired lease does not)",
    "kd": "how many times a worker died while sending it (lookup said not posted)",
    "ref": "the platform's reference of the published post (PostRef JSON)",
    "pa": "when it was published (ms)",
    "lat": "how late it went out (ms after its planned instant)",
    "tp": "a thread's posts already out, in order (PostRef JSON list): a resumed attempt "
          "sends the rest (``worker.engine.thread_posts``)",
}

#: why and until when it is held (``worker.engine.holds``)
HOLDS = {
    "gs": "since when the go-live check has found the official page not live (ms)",
    "gr": "why the network policy refused the official page's address",
    "qp": "the quiet period holding it",
    "qe": "when that quiet period ends (ms)",
}

#: a plan that changed after publication (``worker.engine.sync``)
REPLANNED = {
    "pj": "the newly planned Job (JSON) of a post already out: its correction's target",
    "ph": "that Job's content hash",
}

#: on a published post being corrected (``worker.corrections.engine``)
CORRECTING = {
    "v": "the version now visible (1: as first published)",
    "cv": "the version being published",
    "cj": "the correction jobs of that version, comma separated",
    "ck": "what that version does: correct or retract",
    "nj": "the Job the post will state once that version is out (JSON)",
    "cw": "why it is corrected (the commit subject or the on-call reason)",
    "cb": "who asked for it (sync, the on-call command...)",
    "ec": "how many edits the platform has taken (X allows 5)",
    "al": "the last alert raised about it, so that it is raised once",
}

#: on a correction job (a reply, an edit or a deletion of a published post)
CORRECTION_STEP = {
    "o": "the id of the original post it corrects",
    "ca": "the step: correct (edit), reply or retract",
    "cr": "why this step (and not an edit): the platform's limits, the policy",
}

FIELDS: dict[str, str] = {**PLANNED, **STATE, **HOLDS, **REPLANNED, **CORRECTING,
                          **CORRECTION_STEP}
