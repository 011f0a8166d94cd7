"""``pregonero report --html OUT_DIR``: a static site with the year's editorial calendar and,
for the past, the plan against what was done.

``data`` turns jobs (plan and store) into rows and outcomes (pure), ``svg`` draws the bar
charts (inline SVG: the site works offline, no JavaScript), ``site`` writes the pages.
"""

from worker.ops.report.data import ReportData, build_report_data, read_store
from worker.ops.report.site import write_site

__all__ = ["ReportData", "build_report_data", "read_store", "write_site"]
