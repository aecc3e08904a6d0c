"""Fusion collection conventions: ``q``, ``finder``, paging, ``fields``, ``orderBy``, links.

Both ``q`` dialects are understood: query-by-example (``A=1;B=2``, framework 1) and row-match
expressions (``A = '1' and B like 'x%'``, framework 2+). Only the attributes a resource marks
queryable may be filtered on, as ``/describe`` would tell a client on a real pod.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from ml_connector_sim.oracle.errors import OracleError

MAX_LIMIT = 500
DEFAULT_LIMIT = 25
_TERM = re.compile(r"^\s*(\w+)\s*(>=|<=|!=|<>|=|>|<|\s+like\s+)\s*(.*?)\s*$", re.IGNORECASE)
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Term:
    attribute: str
    op: str
    value: str

    def test(self, actual: Any) -> bool:
        if actual is None:
            return False
        left = _plain(actual)
        right = self.value
        if self.op == "like":
            pattern = "^" + ".*".join(re.escape(p) for p in right.split("%")) + "$"
            return re.match(pattern, left, re.IGNORECASE) is not None
        if isinstance(actual, int | Decimal) and not isinstance(actual, bool):
            try:
                a, b = Decimal(actual), Decimal(right)
            except ArithmeticError:
                return False
            return _compare(a, b, self.op)
        return _compare(left, right, self.op)


def _compare(a: Any, b: Any, op: str) -> bool:
    ops: dict[str, Callable[[Any, Any], bool]] = {
        "=": lambda x, y: x == y,
        "!=": lambda x, y: x != y,
        "<>": lambda x, y: x != y,
        ">": lambda x, y: x > y,
        "<": lambda x, y: x < y,
        ">=": lambda x, y: x >= y,
        "<=": lambda x, y: x <= y,
    }
    return ops[op](a, b)


def _plain(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _bad_q(q: str, why: str) -> OracleError:
    return OracleError.one(
        400, f'URL request parameter q with value "{q}" is not valid: {why}.', "SIM-QUERY-PARAM"
    )


def parse_q(q: str, queryable: set[str]) -> list[Term]:
    pieces = _AND.split(q) if _AND.search(q) or "'" in q else q.split(";")
    terms = []
    for piece in pieces:
        if not piece.strip():
            continue
        match = _TERM.match(piece)
        if not match:
            raise _bad_q(q, f"cannot read {piece.strip()!r}")
        attribute, op, value = match.group(1), match.group(2).strip().lower(), match.group(3)
        if attribute not in queryable:
            raise _bad_q(q, f"attribute {attribute} is not queryable")
        terms.append(Term(attribute, op, _unquote(value)))
    return terms


def _split_vars(text: str) -> list[str]:
    out, current, quote = [], "", ""
    for char in text:
        if quote:
            if char == quote:
                quote = ""
            else:
                current += char
        elif char in "'\"":
            quote = char
        elif char == ",":
            out.append(current)
            current = ""
        else:
            current += char
    out.append(current)
    return [part for part in out if part.strip()]


def parse_finder(finder: str, known: Mapping[str, set[str]]) -> tuple[str, dict[str, str]]:
    """``Name;Var=a,Var2=b`` → (name, variables); unknown finders and variables are a 400."""
    name, _, rest = finder.partition(";")
    name = name.strip()
    if name not in known:
        raise OracleError.one(
            400, f"The finder {name} isn't defined for this resource.", "SIM-FINDER-UNKNOWN"
        )
    variables: dict[str, str] = {}
    for part in _split_vars(rest):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in known[name]:
            raise OracleError.one(
                400, f"The finder {name} has no variable {key}.", "SIM-FINDER-VARIABLE"
            )
        variables[key] = value.strip()
    return name, variables


def jsonable(value: Any) -> Any:
    """Decimals go out as JSON numbers, dates as ISO strings, as Fusion's payloads show."""
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        return int(value) if isinstance(exponent, int) and exponent >= 0 else float(value)
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def adf_response(
    body: Any, status: int = 200, *, item: bool = True, headers: Mapping[str, str] | None = None
) -> Response:
    media = (
        "application/vnd.oracle.adf.resourceitem+json"
        if item
        else ("application/vnd.oracle.adf.resourcecollection+json")
    )
    return Response(
        json.dumps(jsonable(body)),
        status_code=status,
        media_type=media,
        headers=dict(headers or {}),
    )


def link(rel: str, href: str, name: str, kind: str) -> dict[str, str]:
    return {"rel": rel, "href": href, "name": name, "kind": kind}


def project(row: dict[str, Any], fields: str | None) -> dict[str, Any]:
    if not fields:
        return row
    wanted = {f.strip() for f in fields.split(";")[0].split(",") if f.strip()}
    return {k: v for k, v in row.items() if k in wanted or k == "links"}


def _sort_key(attribute: str) -> Callable[[dict[str, Any]], str]:
    return lambda row: _plain(row.get(attribute, ""))


def collection(
    request: Request,
    rows: Sequence[dict[str, Any]],
    *,
    name: str,
    render: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Page ``rows`` with ``limit``/``offset``; ``totalResults`` only when asked for."""
    params = request.query_params
    try:
        limit = int(params.get("limit", DEFAULT_LIMIT))
        offset = int(params.get("offset", 0))
    except ValueError:
        raise OracleError.one(400, "limit and offset must be integers.", "SIM-PAGING") from None
    if limit < 1 or offset < 0:
        raise OracleError.one(400, "limit must be positive and offset not negative.", "SIM-PAGING")
    limit = min(limit, MAX_LIMIT)
    ordered = list(rows)
    for spec in reversed([s for s in params.get("orderBy", "").split(",") if s.strip()]):
        attribute, _, direction = spec.partition(":")
        ordered.sort(key=_sort_key(attribute.strip()), reverse=direction.strip().lower() == "desc")
    page = ordered[offset : offset + limit]
    only_data = params.get("onlyData", "false").lower() == "true"
    items = []
    for row in page:
        rendered = render(row) if render else dict(row)
        rendered = project(rendered, params.get("fields"))
        if only_data:
            rendered.pop("links", None)
        items.append(rendered)
    body: dict[str, Any] = {
        "items": items,
        "count": len(items),
        "hasMore": offset + len(items) < len(ordered),
        "limit": limit,
        "offset": offset,
    }
    if params.get("totalResults", "false").lower() == "true":
        body["totalResults"] = len(ordered)
    if not only_data:
        body["links"] = [link("self", str(request.url), name, "collection")]
    return body
