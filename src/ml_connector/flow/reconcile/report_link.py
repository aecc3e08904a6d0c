"""Which settlement V2 report belongs to which financial event group (pure).

A report names its settlement by ``settlement-id``; a group knows its settlement only through
its transactions' ``SETTLEMENT_ID``, which real transactions often leave out (the settlement
id is then the group id, and no report carries that). So a report is linked:

1. by settlement id, when one report (or identical copies of it) carries the group's;
2. otherwise by period: the report's ``settlement-start-date``/``settlement-end-date`` against
   the group's ``FinancialEventGroupStart``/``End`` within ``PERIOD_TOLERANCE``, in the same
   currency; when several reports fit, the total amount decides. A report already claimed by
   another group's settlement id is not a candidate.

Anything else links nothing and says why: no report fits, several fit and the total does not
tell them apart, or one report fits two groups. Never a silent pick.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "PERIOD_TOLERANCE",
    "GroupPeriod",
    "ReportLink",
    "StoredReport",
    "link_reports",
]

PERIOD_TOLERANCE = timedelta(hours=2)
"""How far a report's period may sit from its group's: Amazon writes both from one settlement
close, to the second in every sample we have; two hours absorbs a report written in local time
read as UTC, and groups of one currency never start within hours of each other."""


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class StoredReport:
    """A settlement report as extract stored it (see ``flow/extract/reports.py``)."""

    report_id: str
    settlement_id: str
    currency: str
    total: Decimal
    start: datetime | None
    end: datetime | None

    @classmethod
    def from_payload(cls, report_id: str, payload: Mapping[str, Any]) -> StoredReport | None:
        """None for a payload without a readable total (it can link nothing)."""
        try:
            total = Decimal(str(payload["totalAmount"]))
        except (KeyError, InvalidOperation):
            return None
        return cls(
            report_id=str(payload.get("reportId") or report_id),
            settlement_id=str(payload.get("settlementId") or ""),
            currency=str(payload.get("currency") or "").upper(),
            total=total,
            start=_time(payload.get("start")),
            end=_time(payload.get("end")),
        )


@dataclass(frozen=True, slots=True)
class GroupPeriod:
    """What linking needs of a Closed financial event group."""

    group_id: str
    settlement_id: str
    currency: str
    total: Decimal
    start: datetime | None
    end: datetime | None

    @classmethod
    def from_group(
        cls, payload: Mapping[str, Any], *, settlement_id: str, currency: str, total: Decimal
    ) -> GroupPeriod:
        return cls(
            group_id=str(payload.get("FinancialEventGroupId") or ""),
            settlement_id=settlement_id,
            currency=currency.upper(),
            total=total,
            start=_time(payload.get("FinancialEventGroupStart")),
            end=_time(payload.get("FinancialEventGroupEnd")),
        )


@dataclass(frozen=True, slots=True)
class ReportLink:
    """The report linked to a group and how, or why none is."""

    report: StoredReport | None
    by: str | None = None
    """``settlement_id`` or ``period``; None when nothing linked."""
    reason: str | None = None
    """Why nothing linked (None when a report did)."""


def _one(reports: Sequence[StoredReport]) -> StoredReport | None:
    """The report, when every candidate is a copy of one (same settlement id and total):
    Amazon sometimes lists a settlement twice under two report ids."""
    if len({(r.settlement_id, r.total, r.currency) for r in reports}) == 1:
        return min(reports, key=lambda r: r.report_id)
    return None


def _ids(reports: Sequence[StoredReport]) -> str:
    return ", ".join(sorted(r.report_id for r in reports))


def _fits(report: StoredReport, group: GroupPeriod, tolerance: timedelta) -> bool:
    if report.currency != group.currency:
        return False
    if report.start is None or report.end is None or group.start is None or group.end is None:
        return False
    return abs(report.start - group.start) <= tolerance and abs(report.end - group.end) <= tolerance


def _by_period(
    group: GroupPeriod, candidates: Sequence[StoredReport], tolerance: timedelta
) -> ReportLink:
    fitting = [r for r in candidates if _fits(r, group, tolerance)]
    if not fitting:
        period = (
            f"{group.start:%Y-%m-%d %H:%M} to {group.end:%Y-%m-%d %H:%M} UTC"
            if group.start and group.end
            else "an unknown period"
        )
        return ReportLink(
            None,
            reason=(
                f"no settlement report carries settlement id {group.settlement_id} or covers "
                f"{period} in {group.currency}"
            ),
        )
    single = _one(fitting)
    if single is not None:
        return ReportLink(single, by="period")
    same_total = [r for r in fitting if r.total == group.total]
    single = _one(same_total) if same_total else None
    if single is not None:
        return ReportLink(single, by="period")
    if not same_total:
        reason = (
            f"{len(fitting)} settlement reports cover this period in {group.currency} "
            f"({_ids(fitting)}) and none has the group's total {group.total}"
        )
    else:
        reason = (
            f"{len(same_total)} settlement reports match this period, {group.currency} and the "
            f"total {group.total} ({_ids(same_total)}): which one is this settlement's is not "
            "decidable"
        )
    return ReportLink(None, reason=reason)


def link_reports(
    groups: Sequence[GroupPeriod],
    reports: Sequence[StoredReport],
    *,
    tolerance: timedelta = PERIOD_TOLERANCE,
) -> dict[str, ReportLink]:
    """Every group's report link, by group id."""
    by_settlement: dict[str, list[StoredReport]] = {}
    for report in reports:
        if report.settlement_id:
            by_settlement.setdefault(report.settlement_id, []).append(report)
    claimed = {g.settlement_id for g in groups if g.settlement_id in by_settlement}
    unclaimed = [r for r in reports if r.settlement_id not in claimed]
    links: dict[str, ReportLink] = {}
    for group in groups:
        named = by_settlement.get(group.settlement_id)
        if named:
            single = _one(named)
            links[group.group_id] = (
                ReportLink(single, by="settlement_id")
                if single is not None
                else ReportLink(
                    None,
                    reason=(
                        f"{len(named)} settlement reports carry settlement id "
                        f"{group.settlement_id} with different totals ({_ids(named)})"
                    ),
                )
            )
            continue
        links[group.group_id] = _by_period(group, unclaimed, tolerance)
    # One report, two groups by period: neither link stands.
    users: dict[str, list[str]] = {}
    for group_id, link in links.items():
        if link.by == "period" and link.report is not None:
            users.setdefault(link.report.report_id, []).append(group_id)
    for report_id, group_ids in users.items():
        if len(group_ids) > 1:
            for group_id in group_ids:
                others = ", ".join(g for g in sorted(group_ids) if g != group_id)
                links[group_id] = ReportLink(
                    None,
                    reason=(
                        f"settlement report {report_id} matches this group and {others} by "
                        "period, currency and total: which one it belongs to is not decidable"
                    ),
                )
    return links
