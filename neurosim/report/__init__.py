"""Reports: accuracy, memory, energy and latency per chip, side by side.

:func:`make_report` builds a :class:`Report` from a mapping and its
simulations; :func:`compare_reports` puts reports side by side; the
renderers give a rich table, Markdown and (:mod:`neurosim.plots.report`)
figures. JSON keys are documented in ``docs/report.md``.
"""

from neurosim.report.accuracy import AccuracyReport, accuracy_report, quantization_diagnostics, top1
from neurosim.report.compare import Comparison, compare_reports
from neurosim.report.render import render_markdown, render_table
from neurosim.report.report import SCHEMA_VERSION, Report, fit_reason, make_report

__all__ = [
    "SCHEMA_VERSION",
    "AccuracyReport",
    "Comparison",
    "Report",
    "accuracy_report",
    "compare_reports",
    "fit_reason",
    "make_report",
    "quantization_diagnostics",
    "render_markdown",
    "render_table",
    "top1",
]
