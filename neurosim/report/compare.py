"""Side-by-side comparison of reports: :class:`Comparison` and :func:`compare_reports`."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from neurosim.report.report import SCHEMA_VERSION, Report, json_safe

__all__ = ["Comparison", "compare_reports"]


@dataclass(frozen=True, eq=False)
class Comparison:
    """The reports of one network on several chips (or limits), in order.

    Attributes
    ----------
    reports : tuple of Report
    """

    reports: tuple[Report, ...]

    @property
    def network(self) -> str:
        return self.reports[0].network if self.reports else ""

    def rows(self) -> list[dict[str, Any]]:
        """One :meth:`Report.summary` per chip."""
        return [r.summary() for r in self.reports]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: ``schema_version``, ``network``, ``rows`` and full ``reports``."""
        return {
            "schema_version": SCHEMA_VERSION,
            "network": self.network,
            "rows": self.rows(),
            "reports": [r.to_dict() for r in self.reports],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(json_safe(self.to_dict()), indent=indent)

    def table(self) -> Any:
        """A rich Table (see :func:`neurosim.report.render_table`)."""
        from neurosim.report.render import render_table

        return render_table(self)

    def to_markdown(self) -> str:
        from neurosim.report.render import render_markdown

        return render_markdown(self)


def compare_reports(reports: Iterable[Report] | Mapping[str, Report]) -> Comparison:
    """Put reports side by side, in the order given.

    Parameters
    ----------
    reports : iterable of Report, or mapping of label to Report
        Usually one per chip, from :func:`~neurosim.report.make_report` (or
        :meth:`Report.failed` for a chip where mapping raised). With a mapping
        its keys label reports that have no label of their own. Reports that
        would share a name (several runs on one chip) are numbered,
        ``generic (1)``, ``generic (2)``, ...; their overrides tell them apart.

    Returns
    -------
    Comparison
    """
    if isinstance(reports, Mapping):
        items = [r if r.label else dataclasses.replace(r, label=str(k)) for k, r in reports.items()]
    else:
        items = list(reports)
    names = [r.name for r in items]
    seen: dict[str, int] = {}
    out = []
    for r in items:
        if names.count(r.name) > 1:
            seen[r.name] = seen.get(r.name, 0) + 1
            r = dataclasses.replace(r, label=f"{r.name} ({seen[r.name]})")
        out.append(r)
    return Comparison(tuple(out))
