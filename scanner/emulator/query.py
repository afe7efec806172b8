"""Drive `q` search queries: a tokenizer and recursive-descent parser compiling to a predicate.

Supported: ``and``/``or``/``not``/parentheses; ``name``/``fullText``/``mimeType`` with ``=``, ``!=``,
``contains``; ``modifiedTime``/``createdTime`` comparisons; ``trashed``/``starred``/``sharedWithMe``
booleans; ``'x' in parents|owners|writers|readers``; ``visibility = '...'``; Drive labels:
``'labels/ID' in labels`` and ``labels/ID.FIELD`` with ``=``, ``!=``, ``<``..``>=``, ``contains``,
``IS NULL``, ``IS NOT NULL`` (the ``queryKey`` of a label field).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from .errors import ApiError
from .state.model import DriveFile


class QueryContext(Protocol):
    #: The caller's email: what ``'me'`` stands for in ``'me' in owners``.
    me: str

    def owners(self, f: DriveFile) -> list[str]: ...
    def emails_with_role(self, f: DriveFile, minimum: str) -> list[str]: ...
    def visibility(self, f: DriveFile) -> str: ...
    def shared_with_me(self, f: DriveFile) -> bool: ...
    def full_text(self, f: DriveFile) -> str: ...
    def labels(self, f: DriveFile) -> dict[str, dict[str, list[str]]]:
        """Labels applied to the file: label id -> field id -> values."""
        ...


Predicate = Callable[[DriveFile, QueryContext], bool]


@dataclass(frozen=True)
class Query:
    text: str
    predicate: Predicate
    parent_hint: str | None = None  # a parent every match must have (lets the server use its index)

    def __call__(self, f: DriveFile, ctx: QueryContext) -> bool:
        return self.predicate(f, ctx)


_TOKEN = re.compile(
    r"""\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<op><=|>=|!=|=|<|>|\(|\))"""
    r"""|(?P<word>[A-Za-z_][\w.]*(?:/[\w.]+)?)|(?P<num>-?\d+(?:\.\d+)?))"""
)


def _invalid(text: str) -> ApiError:
    return ApiError(400, "invalid", "Invalid Value", location="q")


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise _invalid(text)
        pos = m.end()
        kind = m.lastgroup or ""
        value = m.group(kind)
        if kind == "str":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        out.append((kind, value))
    return out


def _time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ApiError(400, "invalid", "Invalid Value", location="q") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_CMP: dict[str, Callable[[object, object], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,  # type: ignore[operator]
    "<=": lambda a, b: a <= b,  # type: ignore[operator]
    ">": lambda a, b: a > b,  # type: ignore[operator]
    ">=": lambda a, b: a >= b,  # type: ignore[operator]
}

_VISIBILITY = {"anyoneCanFind", "anyoneWithLink", "domainCanFind", "domainWithLink", "limited"}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0
        self.parent_terms: list[str] = []

    def peek(self, offset: int = 0) -> tuple[str, str]:
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else ("eof", "")

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok[0] == "eof":
            raise _invalid(self.text)
        self.i += 1
        return tok

    def keyword(self, word: str) -> bool:
        kind, value = self.peek()
        if kind == "word" and value.lower() == word:
            self.i += 1
            return True
        return False

    def parse(self) -> Query:
        pred = self.or_expr(top=True)
        if self.peek()[0] != "eof":
            raise _invalid(self.text)
        hint = self.parent_terms[0] if len(self.parent_terms) == 1 else None
        return Query(self.text, pred, hint)

    def or_expr(self, top: bool = False) -> Predicate:
        parts = [self.and_expr(top)]
        while self.keyword("or"):
            parts.append(self.and_expr(False))
        if len(parts) > 1:
            self.parent_terms.clear()
            self.parent_terms.append("")  # ambiguous: disable the hint
            self.parent_terms.append("")
            return lambda f, c: any(p(f, c) for p in parts)
        return parts[0]

    def and_expr(self, top: bool) -> Predicate:
        parts = [self.not_expr(top)]
        while self.keyword("and"):
            parts.append(self.not_expr(top))
        if len(parts) > 1:
            return lambda f, c: all(p(f, c) for p in parts)
        return parts[0]

    def not_expr(self, top: bool) -> Predicate:
        if self.keyword("not"):
            inner = self.not_expr(False)
            return lambda f, c: not inner(f, c)
        if self.peek() == ("op", "("):
            self.take()
            inner = self.or_expr(False)
            if self.take() != ("op", ")"):
                raise _invalid(self.text)
            return inner
        return self.term(top)

    def value(self) -> str | bool | float:
        kind, value = self.take()
        if kind == "str":
            return value
        if kind == "num":
            return float(value)
        if kind == "word" and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise _invalid(self.text)

    def term(self, top: bool) -> Predicate:
        kind, value = self.peek()
        if kind == "str":  # 'x' in collection
            self.take()
            if not self.keyword("in"):
                raise _invalid(self.text)
            coll = self.take()[1]
            return self.membership(value, coll, top)
        if kind != "word":
            raise _invalid(self.text)
        field = self.take()[1]
        if field.startswith("labels/"):
            return self.label_field(field)
        if field == "sharedWithMe" and self.peek()[1] not in ("=", "!="):
            return lambda f, c: c.shared_with_me(f)
        op_kind, op = self.take()
        if op_kind == "word" and op.lower() == "contains":
            op = "contains"
        elif op_kind != "op" or op not in _CMP:
            raise _invalid(self.text)
        operand = self.value()
        return self.comparison(field, op, operand)

    def membership(self, value: str, coll: str, top: bool) -> Predicate:
        v = value.lower()
        if v == "me" and coll in ("owners", "writers", "readers"):
            return self.membership_of_me(coll)
        if coll == "parents":
            if top:
                self.parent_terms.append(value)
            return lambda f, c: value in f.parents
        if coll == "owners":
            return lambda f, c: v in c.owners(f)
        if coll == "writers":
            return lambda f, c: v in c.emails_with_role(f, "writer")
        if coll == "readers":
            return lambda f, c: v in c.emails_with_role(f, "reader")
        if coll == "labels" and value.startswith("labels/") and len(value) > len("labels/"):
            label_id = value[len("labels/"):]
            return lambda f, c: label_id in c.labels(f)
        raise _invalid(self.text)

    def label_field(self, key: str) -> Predicate:
        """``labels/LABEL.FIELD <op> value`` or ``labels/LABEL.FIELD IS [NOT] NULL``."""
        label_id, dot, field_id = key[len("labels/"):].partition(".")
        if not (label_id and dot and field_id):
            raise _invalid(self.text)

        def values(f: DriveFile, c: QueryContext) -> list[str]:
            return c.labels(f).get(label_id, {}).get(field_id, [])

        if self.keyword("is"):
            negate = self.keyword("not")
            if not self.keyword("null"):
                raise _invalid(self.text)
            return (lambda f, c: bool(values(f, c))) if negate else (lambda f, c: not values(f, c))
        op_kind, op = self.take()
        if op_kind == "word" and op.lower() == "contains":
            op = "contains"
        elif op_kind != "op" or op not in _CMP:
            raise _invalid(self.text)
        operand = self.value()
        if isinstance(operand, bool):
            raise _invalid(self.text)
        if op == "contains":
            needle = str(operand).lower()
            return lambda f, c: any(needle in v.lower() for v in values(f, c))
        if op in ("=", "!="):
            wanted = str(int(operand)) if isinstance(operand, float) and operand.is_integer() else str(operand)
            return (lambda f, c: wanted in values(f, c)) if op == "=" else (lambda f, c: wanted not in values(f, c))
        cmp = _CMP[op]

        def ordered(f: DriveFile, c: QueryContext) -> bool:
            for v in values(f, c):
                try:
                    if cmp(float(v), float(operand)):
                        return True
                except ValueError:
                    if cmp(v, str(operand)):
                        return True
            return False

        return ordered

    def membership_of_me(self, coll: str) -> Predicate:
        if coll == "owners":
            return lambda f, c: c.me in c.owners(f)
        role = "writer" if coll == "writers" else "reader"
        return lambda f, c: c.me in c.emails_with_role(f, role)

    def comparison(self, field: str, op: str, operand: str | bool | float) -> Predicate:
        text_fields: dict[str, Callable[[DriveFile, QueryContext], str]] = {
            "name": lambda f, c: f.name,
            "mimeType": lambda f, c: f.mime_type,
            "fullText": lambda f, c: c.full_text(f),
        }
        if field in text_fields:
            if not isinstance(operand, str):
                raise _invalid(self.text)
            get = text_fields[field]
            if op == "contains":
                needle = operand.lower()
                if field == "name":  # Drive matches name prefixes of words; substring is close enough
                    return lambda f, c: needle in f.name.lower()
                return lambda f, c: needle in get(f, c).lower()
            if op not in ("=", "!="):
                raise _invalid(self.text)
            cmp = _CMP[op]
            return lambda f, c: cmp(get(f, c), operand)
        if field in ("modifiedTime", "createdTime", "viewedByMeTime"):
            if not isinstance(operand, str) or op == "contains":
                raise _invalid(self.text)
            when = _time(operand)
            cmp = _CMP[op]
            attr = "created_time" if field == "createdTime" else "modified_time"
            return lambda f, c: cmp(_time(getattr(f, attr)), when)
        if field in ("trashed", "starred", "sharedWithMe", "hidden"):
            if not isinstance(operand, bool) or op not in ("=", "!="):
                raise _invalid(self.text)
            cmp = _CMP[op]
            if field == "trashed":
                return lambda f, c: cmp(f.trashed, operand)
            if field == "sharedWithMe":
                return lambda f, c: cmp(c.shared_with_me(f), operand)
            return lambda f, c: cmp(False, operand)
        if field == "visibility":
            if operand not in _VISIBILITY or op not in ("=", "!="):
                raise _invalid(self.text)
            cmp = _CMP[op]
            return lambda f, c: cmp(c.visibility(f), operand)
        raise _invalid(self.text)


def parse_query(text: str) -> Query:
    """Compile a Drive query; raises ApiError 400 ``invalid`` (location q) like Google."""
    if not text.strip():
        return Query(text, lambda f, c: True)
    return _Parser(text).parse()
