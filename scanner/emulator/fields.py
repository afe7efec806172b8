"""The `fields` partial-response parameter: parse a field mask and apply it to a JSON value.

Grammar (Google's): ``mask := item ("," item)*``; ``item := path ["(" mask ")"]``;
``path := name ("/" name)*``; ``name`` may be ``*``.
"""

from __future__ import annotations

from typing import Any

from .errors import ApiError

# A mask maps a key to its sub-mask; None means "the whole value".
Mask = dict[str, "Mask | None"]


class FieldMaskError(ValueError):
    pass


def _merge(into: Mask, key: str, sub: Mask | None) -> None:
    if key in into:
        old = into[key]
        if old is None or sub is None:
            into[key] = None
        else:
            for k, v in sub.items():
                _merge(old, k, v)
    else:
        into[key] = sub


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def parse(self) -> Mask:
        mask = self.mask()
        if self.pos != len(self.text):
            raise FieldMaskError(f"unexpected {self.text[self.pos]!r} at {self.pos}")
        return mask

    def mask(self) -> Mask:
        mask: Mask = {}
        while True:
            self.item(mask)
            self.skip_ws()
            if self.peek() == ",":
                self.pos += 1
                continue
            return mask

    def item(self, into: Mask) -> None:
        path = [self.name()]
        while self.peek() == "/":
            self.pos += 1
            path.append(self.name())
        sub: Mask | None = None
        self.skip_ws()
        if self.peek() == "(":
            self.pos += 1
            sub = self.mask()
            self.skip_ws()
            if self.peek() != ")":
                raise FieldMaskError("missing ')'")
            self.pos += 1
        for key in reversed(path[1:]):
            sub = {key: sub}
        _merge(into, path[0], sub)

    def name(self) -> str:
        self.skip_ws()
        start = self.pos
        while self.pos < len(self.text) and (self.text[self.pos].isalnum() or self.text[self.pos] in "_*.-@"):
            self.pos += 1
        if start == self.pos:
            raise FieldMaskError(f"expected a field name at {start}")
        return self.text[start:self.pos]

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1


_CACHE: dict[str, Mask] = {}


def parse_fields(text: str) -> Mask:
    """Parse a mask; raises ApiError(400) like Google on a syntax error."""
    cached = _CACHE.get(text)
    if cached is not None:
        return cached
    try:
        mask = _Parser(text).parse()
    except FieldMaskError as exc:
        raise ApiError(400, "invalidParameter", f"Invalid field selection {text}: {exc}",
                       location="fields") from exc
    if len(_CACHE) < 1024:
        _CACHE[text] = mask
    return mask


def sub_mask(mask: Mask | None, key: str) -> Mask | None:
    """The mask for one key of an object masked by `mask` (None = everything)."""
    if mask is None:
        return None
    if key in mask:
        return mask[key]
    return mask.get("*")


def wants(mask: Mask | None, key: str) -> bool:
    return mask is None or key in mask or "*" in mask


def apply_mask(value: Any, mask: Mask | None) -> Any:
    if mask is None:
        return value
    if isinstance(value, list):
        return [apply_mask(v, mask) for v in value]
    if not isinstance(value, dict):
        return value
    if "*" in mask:
        star = mask["*"]
        return {k: apply_mask(v, mask.get(k, star)) for k, v in value.items()}
    return {k: value[k] if sub is None else apply_mask(value[k], sub) for k, sub in mask.items() if k in value}


def validate(mask: Mask | None, schema: str, schemas: dict[str, Any], path: str = "") -> None:
    """Reject selections of fields the discovery schema does not define (Google answers 400)."""
    if mask is None:
        return
    props: dict[str, Any] = schemas.get(schema, {}).get("properties", {})
    if not props:
        return
    for key, sub in mask.items():
        if key == "*":
            continue
        prop = props.get(key)
        if prop is None:
            raise ApiError(400, "invalidParameter", f"Invalid field selection {path}{key}", location="fields")
        if sub is None:
            continue
        target = prop.get("items", prop) if prop.get("type") == "array" else prop
        if "$ref" in target:
            validate(sub, target["$ref"], schemas, f"{path}{key}/")
