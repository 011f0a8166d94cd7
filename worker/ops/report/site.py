"""Writing the static site: ``index.html`` (the year at a glance and the balance), one page
per month (per department, per account) and ``balance.html`` (every past post and what became
of it). Plain HTML with one inline stylesheet and inline SVG: it opens from disk, offline."""

from __future__ import annotations

import calendar as pycalendar
from html import escape
from pathlib import Path

from worker.ops.agenda import one_line

from worker.ops.report.data import BALANCE, OUTCOMES, ReportData, ReportRow, count_by
from worker.ops.report.svg import OUTCOME_COLOURS, bar_chart, column_chart

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem;
       color: #222; background: #fff; max-width: 1200px; }
h1 { font-size: 1.8rem; margin-bottom: .2rem; } h2 { margin-top: 2rem; border-bottom: 2px solid #2b6c8f; }
h3 { margin-top: 1.4rem; color: #2b6c8f; }
nav a { margin-right: .8rem; } .meta { color: #555; }
table { border-collapse: collapse; width: 100%; margin: .6rem 0 1rem; font-size: .92rem; }
th, td { border: 1px solid #ccc; padding: .25rem .45rem; text-align: left; vertical-align: top; }
th { background: #eef4f7; } td.num { text-align: right; }
.outcome { font-weight: bold; white-space: nowrap; }
.charts { display: flex; flex-wrap: wrap; gap: 2rem; margin: 1rem 0; }
.months a { display: inline-block; margin: .2rem .5rem .2rem 0; padding: .2rem .5rem;
            border: 1px solid #2b6c8f; border-radius: 4px; text-decoration: none; }
"""

LABELS = {"on_time": "on time", "late": "late (> 60 s)", "corrected": "corrected",
          "retracted": "retracted", "failed": "failed", "pending": "pending / held",
          "cancelled": "cancelled", "not_synced": "not synced"}


def month_title(month: str) -> str:
    year, number = month.split("-")
    return f"{pycalendar.month_name[int(number)]} {year}"


def month_file(month: str) -> str:
    return f"month-{month}.html"


def page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            f'<nav><a href="index.html">Year view</a><a href="balance.html">Balance</a></nav>\n'
            f"{body}\n</body>\n</html>\n")


def _outcome_cell(row: ReportRow) -> str:
    if not row.past:
        return '<td class="outcome">planned</td>'
    colour = OUTCOME_COLOURS.get(row.outcome, "#222")
    late = f" ({row.lateness_ms / 1000:.1f} s)" if row.lateness_ms is not None else ""
    return (f'<td class="outcome" style="color:{colour}">{escape(LABELS.get(row.outcome, row.outcome))}'
            f"{escape(late)}</td>")


def _post_table(rows: list[ReportRow], with_day: bool = True) -> str:
    head = ("<tr>" + ("<th>day</th>" if with_day else "") + "<th>time</th><th>account</th>"
            "<th>lang</th><th>kind</th><th>entry</th><th>text</th><th>outcome</th></tr>")
    lines = [f"<table>{head}"]
    for row in rows:
        job = row.job
        lines.append("<tr>" + (f"<td>{row.day}</td>" if with_day else "")
                     + f"<td>{row.time}</td><td>{escape(job.account)}</td>"
                     f"<td>{escape(job.language)}</td><td>{escape(job.kind)}</td>"
                     f"<td>{escape(job.calendar)}/{escape(job.entry)}</td>"
                     f"<td>{escape(one_line(job.text, 120))}</td>{_outcome_cell(row)}</tr>")
    lines.append("</table>")
    return "\n".join(lines)


def _count_table(counts: dict[str, int], what: str) -> str:
    rows = "".join(f"<tr><td>{escape(k)}</td><td class=\"num\">{v}</td></tr>"
                   for k, v in counts.items())
    return f"<table><tr><th>{escape(what)}</th><th>posts</th></tr>{rows}</table>"


def _balance_section(data: ReportData) -> str:
    past = data.past()
    if not past:
        return ("<h2>Balance</h2><p>No post of this period is due yet: the balance of what "
                "was done appears once the period has started.</p>")
    counts = data.balance()
    shown = {LABELS[k]: counts[k] for k in BALANCE}
    extra = {LABELS[k]: counts[k] for k in OUTCOMES if k not in BALANCE and counts[k]}
    colours = {LABELS[k]: v for k, v in OUTCOME_COLOURS.items()}
    chart = bar_chart({**shown, **extra}, title="Plan against what was done", colours=colours)
    table = _count_table({**shown, **extra}, "outcome")
    return (f"<h2>Balance</h2><p>{len(past)} post(s) were due between the start of the period "
            f"and {escape(data.generated_at.strftime('%Y-%m-%d %H:%M UTC'))}. "
            f'Every one is listed in <a href="balance.html">the balance</a>.</p>'
            f'<div class="charts">{chart}</div>{table}')


def index_page(data: ReportData) -> str:
    months = data.months()
    per_month = [len(data.in_month(m)) for m in months]
    span = (f"{data.first or (data.rows[0].day if data.rows else '?')} to "
            f"{data.last or (data.rows[-1].day if data.rows else '?')}")
    body = ["<h1>Editorial calendar</h1>",
            f'<p class="meta">{len(data.rows)} post(s), {span}. Generated '
            f"{escape(data.generated_at.strftime('%Y-%m-%d %H:%M UTC'))} from "
            f"{escape(', '.join(data.sources) or 'nothing')}.</p>"]
    body += [f'<p class="meta">{escape(note)}</p>' for note in data.notes]
    body.append('<h2>Month by month</h2><p class="months">'
                + "".join(f'<a href="{month_file(m)}">{escape(month_title(m))} ({n})</a>'
                          for m, n in zip(months, per_month)) + "</p>")
    body.append('<div class="charts">'
                + column_chart([m[2:] for m in months], per_month, title="Posts per month")
                + bar_chart(count_by(data.rows, lambda r: r.job.department),
                            title="Posts per department")
                + bar_chart(count_by(data.rows, lambda r: r.job.platform),
                            title="Posts per platform")
                + "</div>")
    body.append(_balance_section(data))
    return page("pregonero: editorial calendar", "\n".join(body))


def month_page(data: ReportData, month: str) -> str:
    rows = data.in_month(month)
    body = [f"<h1>{escape(month_title(month))}</h1>",
            f'<p class="meta">{len(rows)} post(s).</p>',
            '<div class="charts">'
            + bar_chart(count_by(rows, lambda r: r.job.department), title="Per department")
            + bar_chart(count_by(rows, lambda r: r.job.account), title="Per account")
            + "</div>", "<h2>Per department</h2>"]
    for department, _ in count_by(rows, lambda r: r.job.department).items():
        mine = [r for r in rows if r.job.department == department]
        body += [f"<h3>{escape(department)}</h3>", _post_table(mine)]
    body.append("<h2>Per account</h2>")
    for account, _ in count_by(rows, lambda r: r.job.account).items():
        mine = [r for r in rows if r.job.account == account]
        body += [f"<h3>{escape(account)}</h3>", _post_table(mine)]
    return page(f"pregonero: {month_title(month)}", "\n".join(body))


def balance_page(data: ReportData) -> str:
    past = data.past()
    body = ["<h1>Balance: the plan against what was done</h1>", _balance_section(data)]
    if past:
        body += ["<h2>Per department</h2>",
                 _count_table(count_by(past, lambda r: r.job.department), "department"),
                 "<h2>Every post due so far</h2>", _post_table(past)]
    return page("pregonero: balance", "\n".join(body))


def write_site(data: ReportData, out_dir: Path | str) -> list[Path]:
    """Write the site; returns the files written (index.html first)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {"index.html": index_page(data), "balance.html": balance_page(data)}
    for month in data.months():
        files[month_file(month)] = month_page(data, month)
    written = []
    for name, text in files.items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
