"""Each page's data (from `views`) as HTML; the JSON twin is the same data serialized."""

from __future__ import annotations

from typing import Any

from ml_connector.run.web.pages import (
    Safe,
    audit_link,
    heading,
    ids,
    layout,
    link,
    paragraph,
    search_form,
    table,
)

MATCHED = "matched"


def overview(data: dict[str, Any]) -> str:
    totals = data["documents"]
    sections = [
        heading("Documents by state"),
        table(list(totals), [list(totals.values())]),
        paragraph(link("/review", f"{data['review_open']} review item(s) open")),
        heading("Connections"),
    ]
    for conn in data["connections"]:
        state = "enabled" if conn["enabled"] else "disabled"
        sections.append(heading(f"{conn['name']} ({state})", 3))
        sections.append(
            paragraph(
                "Marketplaces: ",
                ", ".join(conn["marketplaces"]),
                " · Oracle pod: ",
                conn["oracle_pod"],
            )
        )
        runs = conn["last_runs"]
        sections.append(
            table(
                ["stream", "status", "started", "finished", "counts", "error"],
                [
                    [
                        r["stream"],
                        r["status"],
                        r["started_at"],
                        r["finished_at"],
                        r["counts"],
                        r["error"],
                    ]
                    for r in runs
                ],
                row_class=["bad" if r["status"] == "failed" else "" for r in runs],
            )
        )
        counts = conn["documents"]
        sections.append(paragraph(link("/documents", "Documents"), " by state:"))
        sections.append(table(list(counts), [list(counts.values())]))
    if not data["connections"]:
        sections.append(
            paragraph("No connections yet: add one with `ml-connector connection add`.")
        )
    return layout("Overview", *sections)


def documents(data: dict[str, Any]) -> str:
    docs = data["documents"]
    title = f"Documents for {data['amazon_id']}" if data["amazon_id"] else "Documents"
    return layout(
        title,
        search_form("/documents", "amazon_id", data["amazon_id"], "Amazon id"),
        table(
            ["kind", "Amazon id", "state", "attempts", "Oracle id", "Oracle number", "key",
             "connection", "updated", "last error"],
            [
                [d["kind"], audit_link(d["amazon_id"]), d["state"], d["attempts"],
                 audit_link(d["oracle_id"]), d["oracle_number"], d["key"], d["connection"],
                 d["updated_at"], d["last_error"]]
                for d in docs
            ],
            row_class=["bad" if d["state"] == "rejected" else "" for d in docs],
        ),
    )  # fmt: skip


def review(data: dict[str, Any]) -> str:
    items = data["items"]
    return layout(
        f"Review queue ({len(items)} open)",
        table(
            ["#", "kind", "subject", "reason", "details", "connection", "since"],
            [
                [i["id"], i["kind"], audit_link(i["subject"]), i["reason"], i["details"],
                 i["connection"], i["created_at"]]
                for i in items
            ],
        ),
    )  # fmt: skip


def audit(data: dict[str, Any]) -> str:
    events = data["events"]
    bindings = data["bindings"]
    sections: list[Safe] = []
    if bindings:
        sections += [
            heading("Bindings"),
            table(
                ["kind", "Amazon id", "Oracle id", "Oracle number", "connection"],
                [
                    [b["kind"], audit_link(b["amazon_id"]), audit_link(b["oracle_id"]),
                     b["oracle_number"], b["connection"]]
                    for b in bindings
                ],
            ),
        ]  # fmt: skip
    sections += [
        heading("Timeline"),
        table(
            ["at", "action", "Amazon ids", "Oracle ids", "Amazon request", "Oracle request",
             "details", "connection"],
            [
                [e["at"], e["action"], ids(e["amazon_ids"]), ids(e["oracle_ids"]),
                 e["amazon_request_id"], e["oracle_request_id"], e["details"], e["connection"]]
                for e in events
            ],
            row_class=["bad" if e["action"] == "rejected" else "" for e in events],
        ),
    ]  # fmt: skip
    return layout(f"Audit trail of {data['id']}", *sections)


def _row_class(row: dict[str, Any]) -> str:
    status = row["status"]
    variance = row["variance"]
    if status == MATCHED or (status is None and variance is not None and not _nonzero(variance)):
        return "ok"
    if status == "variance" or (variance is not None and _nonzero(variance)):
        return "bad"
    return ""


def _nonzero(text: str) -> bool:
    return text.strip().lstrip("+-").strip("0.") != ""


def reconciliation(data: dict[str, Any]) -> str:
    rows = data["settlements"]
    return layout(
        "Reconciliation",
        table(
            ["settlement", "status", "currency", "Amazon total", "report total", "posted total",
             "variance", "reconciled at", "connection"],
            [
                [audit_link(r["settlement_id"]), r["status"], r["currency"], r["amazon_total"],
                 r["report_total"], r["posted_total"], r["variance"], r["at"], r["connection"]]
                for r in rows
            ],
            row_class=[_row_class(r) for r in rows],
            numeric=frozenset({3, 4, 5, 6}),
        ),
    )  # fmt: skip
