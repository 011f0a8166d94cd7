"""Every version of every post of a calendar: what it said, when, who changed what and why,
and where it lives on its platform. Read from the versions lists and the audit stream."""

from __future__ import annotations

from typing import Any

from worker.engine.store import Store
from worker.engine.clock import ms_to_iso



def _when(ms: int | str | None) -> str:
    return ms_to_iso(ms) if ms else ""


def history(store: Store, calendar: str, entry: str | None = None) -> list[dict[str, Any]]:
    """One record per post (not per correction job), oldest job id first."""
    prefix = f"{calendar}/" + (f"{entry}/" if entry else "")
    summaries = store.summaries()
    posts = sorted(j for j, s in summaries.items() if j.startswith(prefix) and not s.of)
    audit = [a for a in store.audit(None, count=10_000_000)
             if a.get("job", "").startswith(prefix) or a.get("job") == f"calendar:{calendar}"]
    out = []
    for job_id in posts:
        stored = store.get(job_id)
        if stored is None:
            continue
        versions = store.versions(job_id)
        if not versions and stored.state in ("published", "needs_correction", "orphaned",
                                             "correcting"):
            ref = stored.ref
            versions = [{"v": 1, "text": stored.job.text, "at": int(stored.fields.get("pa") or 0),
                         "action": "publish", "job": job_id, "url": ref.url if ref else None,
                         "post_id": ref.post_id if ref else None, "why": "", "by": "",
                         "note": ""}]
        for version in versions:
            version["when"] = _when(version.get("at"))
        trail = [{"when": _when(a.get("at")), "job": a["job"], "from": a.get("from", ""),
                  "to": a.get("to", ""), "by": a.get("by", ""), "why": a.get("why", "")}
                 for a in audit if a.get("job") == job_id or a.get("job", "").startswith(job_id + "#")]
        ref = stored.ref
        out.append({"job_id": job_id, "account": stored.job.account,
                    "platform": stored.job.platform, "language": stored.job.language,
                    "state": stored.state, "due": stored.job.due_local,
                    "url": ref.url if ref else None, "versions": versions, "audit": trail})
    return out


def overrides_trail(store: Store, calendar: str) -> list[dict]:
    return [{"when": _when(a.get("at")), "by": a.get("by", ""), "why": a.get("why", "")}
            for a in store.audit(None, count=10_000_000) if a.get("job") == f"calendar:{calendar}"]


def render(records: list[dict], calendar_trail: list[dict] | None = None) -> str:
    lines = []
    for note in calendar_trail or ():
        lines.append(f"{note['when']}  {note['by']}: {note['why']}")
    if calendar_trail:
        lines.append("")
    for record in records:
        lines.append(f"{record['job_id']}  [{record['state']}]  {record['url'] or ''}")
        for version in record["versions"]:
            who = f" — {version['by']}: {version['why']}" if version.get("why") else ""
            lines.append(f"  v{version['v']} {version['when']} {version['action']}{who}")
            if version.get("url"):
                lines.append(f"     link: {version['url']}")
            for text_line in (version.get("text") or "").splitlines():
                lines.append(f"     | {text_line}")
            if version.get("note"):
                for text_line in version["note"].splitlines():
                    lines.append(f"     > {text_line}")
        for step in record["audit"]:
            lines.append(f"    {step['when']} {step['job'].split('/')[-1]}: {step['from'] or '·'} -> "
                         f"{step['to'] or '·'} by {step['by']}: {step['why']}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n" if lines else "no posts found\n"
