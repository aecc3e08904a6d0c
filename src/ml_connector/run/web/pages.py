"""Server-rendered HTML for the dashboard, with escaping that cannot be forgotten.

Every value reaching a page is escaped by `cell`/`table` unless it is a `Safe` fragment, and only
this module makes `Safe` fragments (from escaped parts). An SKU or an Oracle error text that
contains markup shows as text, never runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any
from urllib.parse import quote

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#232f3e;color:#fff;padding:.6em 1.2em}
header a{color:#fff;margin-right:1.2em;text-decoration:none}
main{padding:1em 1.2em}
table{border-collapse:collapse;margin:.5em 0 1.5em;background:#fff}
th,td{border:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f0f0f0}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.bad{background:#fde8e8}.ok{background:#e8f6ea}
pre{margin:0;white-space:pre-wrap;font-size:12px}
.muted{color:#777}
"""

NAV = (
    ("/", "Overview"),
    ("/documents", "Documents"),
    ("/review", "Review"),
    ("/reconciliation", "Reconciliation"),
    ("/metrics", "Metrics"),
)


class Safe(str):
    """An HTML fragment that is already escaped."""

    __slots__ = ()


def cell(value: Any) -> Safe:
    if isinstance(value, Safe):
        return value
    if value is None:
        return Safe('<span class="muted">—</span>')
    if isinstance(value, Mapping | list):
        if not value:
            return Safe("")
        text = json.dumps(value, indent=1, sort_keys=True, default=str)
        return Safe(f"<pre>{escape(text)}</pre>")
    return Safe(escape(str(value)))


def link(href: str, text: Any) -> Safe:
    return Safe(f'<a href="{escape(href)}">{cell(text)}</a>')


def audit_link(any_id: str | None) -> Safe:
    """An id that opens its audit timeline."""
    if not any_id:
        return cell(any_id)
    return link(f"/audit/{quote(any_id, safe='')}", any_id)


def ids(values: Iterable[str]) -> Safe:
    return Safe(", ".join(audit_link(v) for v in values))


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    row_class: Sequence[str] | None = None,
    numeric: frozenset[int] = frozenset(),
) -> Safe:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for index, row in enumerate(rows):
        css = f' class="{escape(row_class[index])}"' if row_class and row_class[index] else ""
        tds = "".join(
            f'<td class="num">{cell(v)}</td>' if i in numeric else f"<td>{cell(v)}</td>"
            for i, v in enumerate(row)
        )
        body.append(f"<tr{css}>{tds}</tr>")
    if not body:
        return Safe(f'<p class="muted">Nothing to show.</p><table><tr>{head}</tr></table>')
    return Safe(f"<table><tr>{head}</tr>{''.join(body)}</table>")


def heading(text: str, level: int = 2) -> Safe:
    return Safe(f"<h{level}>{escape(text)}</h{level}>")


def paragraph(*parts: Any) -> Safe:
    return Safe(f"<p>{''.join(cell(p) for p in parts)}</p>")


def layout(title: str, *sections: Safe) -> str:
    nav = "".join(link(href, label) for href, label in NAV)
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{escape(title)} · ml-connector</title>"
        f'<meta name="viewport" content="width=device-width"><style>{CSS}</style></head>'
        f"<body><header>{nav}</header><main><h1>{escape(title)}</h1>"
        f"{''.join(sections)}</main></body></html>"
    )


def search_form(action: str, name: str, value: str | None, label: str) -> Safe:
    return Safe(
        f'<form action="{escape(action)}" method="get"><label>{escape(label)} '
        f'<input name="{escape(name)}" value="{escape(value or "")}"></label> '
        "<button>Search</button></form>"
    )
