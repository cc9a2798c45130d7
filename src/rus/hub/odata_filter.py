"""Parse the OData ``$filter`` subset that CDSE documents (and :func:`build_filter` writes) back
into a :class:`~rus.hub.query.SearchQuery`, for the local hub server."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from typing import Any

from rus.hub.errors import QueryError
from rus.hub.query import ORDER_FIELDS, SearchQuery, parse_aoi, parse_datetime

_DATE = re.compile(r"^ContentDate/(Start|End) (gt|ge|lt|le) (\S+)$")
_COLLECTION = re.compile(r"^Collection/Name eq '([A-Za-z0-9_.\-]+)'$")
_NAME_EQ = re.compile(r"^Name eq '([A-Za-z0-9_.\-]+)'$")
_CONTAINS = re.compile(r"^contains\(Name,\s*'([A-Za-z0-9_.\-]+)'\)$")
_INTERSECTS = re.compile(r"^OData\.CSC\.Intersects\(area=geography'(?:SRID=4326;)?(.+)'\)$", re.S)
_ATTRIBUTE = re.compile(
    r"^Attributes/OData\.CSC\.(String|Double|Integer)Attribute/any\(att:att/Name eq "
    r"'(\w+)' and att/OData\.CSC\.(?:String|Double|Integer)Attribute/Value "
    r"(eq|le|lt|ge|gt) ('[^']*'|-?[\d.]+)\)$"
)


def split_and(text: str) -> list[str]:
    """Split a filter on its top-level ``and`` (not inside parentheses or quotes)."""
    parts, depth, quoted, start, i = [], 0, False, 0, 0
    while i < len(text):
        ch = text[i]
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif not quoted and depth == 0 and text.startswith(" and ", i):
            parts.append(text[start:i].strip())
            start = i + 5
            i += 5
            continue
        i += 1
    if depth != 0 or quoted:
        raise QueryError(f"unbalanced parentheses or quotes in $filter {text[:80]!r}")
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def _strip_parens(clause: str) -> str:
    while clause.startswith("(") and clause.endswith(")") and len(split_and(clause[1:-1])) == 1:
        inner = clause[1:-1].strip()
        if inner.count("(") != inner.count(")"):
            break
        clause = inner
    return clause


def _date_clause(q: SearchQuery, op: str, value: str) -> SearchQuery:
    dt = parse_datetime(value)
    if op in ("gt", "ge"):
        lo = dt + timedelta(milliseconds=1) if op == "gt" else dt
        return replace(q, start=lo if q.start is None else max(q.start, lo))
    hi = dt + timedelta(milliseconds=1) if op == "le" else dt
    return replace(q, end=hi if q.end is None else min(q.end, hi))


def _attribute_clause(q: SearchQuery, name: str, op: str, raw: str) -> SearchQuery:
    value: Any = raw.strip("'") if raw.startswith("'") else float(raw)
    if name == "productType" and op == "eq":
        return replace(q, product_type=str(value))
    if name == "cloudCover" and op in ("le", "lt"):
        return replace(q, cloud_max=float(value))
    if name == "orbitDirection" and op == "eq":
        return replace(q, orbit_direction=str(value).upper())  # type: ignore[arg-type]
    if name == "relativeOrbitNumber" and op == "eq":
        return replace(q, relative_orbit=int(value))
    if name == "tileId" and op == "eq":
        return replace(q, tile=str(value))
    raise QueryError(f"unsupported attribute filter {name} {op} {raw}")


def parse_filter(text: str | None) -> SearchQuery:
    """A query from a ``$filter``; clauses not in the documented subset raise QueryError.

    ``ContentDate/End`` bounds are applied to the sensing start (products last seconds to
    minutes), which keeps every matching product and at worst adds one at a bound.
    """
    q = SearchQuery(collection="*")
    if not text:
        return q
    for raw in split_and(text.strip()):
        clause = _strip_parens(raw)
        if m := _COLLECTION.match(clause):
            q = replace(q, collection=m[1].upper())
        elif m := _DATE.match(clause):
            q = _date_clause(q, m[2], m[3])
        elif m := _INTERSECTS.match(clause):
            q = replace(q, aoi=parse_aoi(m[1]))
        elif m := _ATTRIBUTE.match(clause):
            q = _attribute_clause(q, m[2], m[3], m[4])
        elif m := _NAME_EQ.match(clause):
            q = replace(q, name=m[1])
        elif m := _CONTAINS.match(clause):
            q = replace(q, name_contains=m[1])
        else:
            raise QueryError(f"unsupported $filter clause {clause[:120]!r}")
    return q


def parse_orderby(q: SearchQuery, text: str | None) -> SearchQuery:
    """Apply ``$orderby`` (``<field> asc|desc``)."""
    if not text:
        return q
    parts = text.strip().split()
    if (
        parts[0] not in ORDER_FIELDS
        or len(parts) > 2
        or (len(parts) == 2 and parts[1] not in ("asc", "desc"))
    ):
        raise QueryError(f"unsupported $orderby {text!r}")
    return replace(q, order_by=parts[0], descending=len(parts) == 2 and parts[1] == "desc")
