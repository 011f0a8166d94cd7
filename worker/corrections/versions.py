"""A post's versions: closing the version a correction brings, and the record of each.

A published post corrected is a chain of versions (1: as first published; 2, 3...: each
correction once every step of it is out). ``finish`` closes a version in one Lua call
(``lua/correction_finish.lua``): the original becomes ``published`` again with the new text,
hash and reference (the new post id when an edit produced one, as on X) -- or ``retracted`` --
and the version is appended to ``pregonero:versions:{id}``, so chains 20 -> 27 -> 31 always
correct against what citizens last read. ``finish_stranded`` closes the versions whose last
step went out but whose worker died before closing them.
"""

from __future__ import annotations

import json

import structlog

from adapters.base import PostRef
from worker.engine import keys
from worker.engine.clock import now_ms
from worker.engine.states import CORRECTING, PUBLISHED
from worker.engine.store import Store, StoredJob, job_from_json

log = structlog.get_logger("pregonero.corrections")


def finish(store: Store, correction: StoredJob, ref: PostRef | None, by: str = "worker") -> bool:
    """After a correction job is published: close its version if every step is out."""
    original = store.get(correction.fields["o"])
    if original is None or original.state != CORRECTING:
        return False
    version = original.fields.get("cv", "")
    cids = [c for c in original.fields.get("cj", "").split(",") if c]
    action = correction.fields.get("ca")
    # the post's new reference is the version's edit, whichever of its steps closes it
    edit = ref if action == "correct" else _edit_of(store, cids)
    new_ref = json.dumps(edit.as_dict(), separators=(",", ":")) if edit is not None else ""
    first = ""
    if original.fields.get("v", "1") == "1":
        first = json.dumps(_version_record(1, original.job.text, int(original.fields.get("pa") or 0),
                                           "publish", original.id, original.ref, "", ""),
                           ensure_ascii=False)
    nj = original.fields.get("nj")
    text = job_from_json(original.id, nj).text if nj else correction.job.text
    record = _version_record(int(version or 0), text, now_ms(), action or "", correction.id,
                             ref or edit or original.ref, original.fields.get("cw", ""),
                             original.fields.get("cb", ""),
                             note=correction.job.text if action != "correct" else "")
    script = store.script("correction_finish")
    done = bool(script(keys=[keys.job(original.id), keys.AUDIT, keys.versions(original.id),
                             *(keys.job(c) for c in cids)],
                       args=[original.id, version, by, now_ms(), store.audit_maxlen, new_ref,
                             first, json.dumps(record, ensure_ascii=False)]))
    if done:
        log.info("correction_done", job_id=original.id, version=version)
    return done


def _edit_of(store: Store, cids: list[str]) -> PostRef | None:
    """The platform reference an edit step of these corrections published, if one did."""
    for cid in cids:
        step = store.get(cid)
        if step is not None and step.fields.get("ca") == "correct" and step.ref is not None:
            return step.ref
    return None


def finish_stranded(store: Store, summaries: dict, by: str = "corrections") -> list[str]:
    """Close the versions whose every step is published but that nobody closed: the engine
    died between publishing a version's last step and ``finish``. Without this the post
    would stay ``correcting`` for ever, and no later correction could be planned for it."""
    closed = []
    for job_id, summary in sorted(summaries.items()):
        if summary.state != CORRECTING:
            continue
        stored = store.get(job_id)
        cids = [c for c in (stored.fields.get("cj", "") if stored else "").split(",") if c]
        if not cids or any(summaries.get(c) is None or summaries[c].state != PUBLISHED
                           for c in cids):
            continue
        last = store.get(cids[-1])
        if last is not None and finish(store, last, last.ref, by=by):
            closed.append(job_id)
    return closed


def _version_record(version: int, text: str, at_ms: int, action: str, job_id: str,
                    ref: PostRef | None, why: str, by: str, note: str = "") -> dict:
    return {"v": version, "text": text, "at": at_ms, "action": action, "job": job_id,
            "url": ref.url if ref else None, "post_id": ref.post_id if ref else None,
            "why": why, "by": by, "note": note}
