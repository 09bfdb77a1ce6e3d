"""The run query language of ``--where`` and ``--order-by``.

>>> parse_where("metrics.sharpe > 1 and params.window >= 20")
And(items=(Compare(field=Field(namespace='metrics', key='sharpe'), op='>', value=1), \
Compare(field=Field(namespace='params', key='window'), op='>=', value=20)))
>>> parse_order_by("-metrics.sharpe, started_at")
(OrderKey(field=Field(namespace='metrics', key='sharpe'), descending=True), \
OrderKey(field=Field(namespace='attr', key='started_at'), descending=False))

Grammar::

    expr    := term (("and" | "or") term)*        "and" binds tighter than "or"
    term    := "not" term | "(" expr ")" | compare
    compare := field op value | field ["not"] "in" "(" value ("," value)* ")"
             | field "is" ["not"] "null"
    field   := ("metrics" | "params" | "tags") "." key | attribute
    op      := "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">=" | "like"
    value   := number | 'text' | "text" | true | false

A key may contain letters, digits and ``_ - / : .``; any other key goes in backquotes:
``metrics.`val loss```. Tags are text (``tags.stage = 'candidate'``); ``review`` is the latest
review of a run: ``'approved'``, ``'rejected'`` or ``'none'``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

from pedigree.errors import InvalidQuery

__all__ = [
    "ATTRIBUTES",
    "And",
    "Compare",
    "Field",
    "Not",
    "Or",
    "OrderKey",
    "parse_order_by",
    "parse_where",
]

# Attributes of a run that queries can use, by their name in `show --json`.
ATTRIBUTES = frozenset(
    {
        "id",
        "experiment",
        "name",
        "kind",
        "status",
        "user",
        "host",
        "exit_code",
        "seed",
        "started_at",
        "ended_at",
        "duration",
        "parent",
        "commit",
        "branch",
        "dirty",
        "review",
    }
)

Value = Union[str, int, float, bool, None, tuple["Value", ...]]  # noqa: UP007 (recursive alias)


@dataclass(frozen=True)
class Field:
    namespace: str  # metrics | params | tags | attr
    key: str

    def __str__(self) -> str:
        return self.key if self.namespace == "attr" else f"{self.namespace}.{self.key}"


@dataclass(frozen=True)
class Compare:
    field: Field
    op: str  # = != < <= > >= like in notin is isnot
    value: Value


@dataclass(frozen=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    item: Expr


Expr = Compare | And | Or | Not


@dataclass(frozen=True)
class OrderKey:
    field: Field
    descending: bool


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.]))
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<op><=|>=|==|!=|<>|=|<|>)
  | (?P<punct>[(),])
  | (?P<field>(?:metrics|params|tags)\.(?:`[^`]+`|[\w\-/:.]+))
  | (?P<word>[A-Za-z_][\w]*)
    """,
    re.VERBOSE,
)
_KEYWORDS = frozenset({"and", "or", "not", "in", "is", "null", "like", "true", "false"})


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            hint = _namespace_hint(text, pos, tokens)
            raise InvalidQuery(
                f"cannot read {text[pos : pos + 20]!r} at character {pos + 1}" + hint
            )
        kind = m.lastgroup or ""
        if kind != "ws":
            tok = m.group()
            if kind == "word" and tok.lower() in _KEYWORDS:
                kind, tok = "kw", tok.lower()
            tokens.append(_Tok(kind, tok, pos))
        pos = m.end()
    return tokens


_NAMESPACES = ("metrics", "params", "tags")


def _namespace_hint(text: str, pos: int, tokens: list[_Tok]) -> str:
    """``metric.sharpe``: the word before the dot was meant as a namespace (issue 18)."""
    if text[pos] != "." or not tokens or tokens[-1].kind not in ("word", "kw"):
        return ""
    word = tokens[-1].text
    if tokens[-1].pos + len(word) != pos:
        return ""
    import difflib

    close = difflib.get_close_matches(word.lower(), _NAMESPACES, n=1, cutoff=0.6)
    if not close:
        return ""
    key = re.match(r"\.([\w\-/:.]+)", text[pos:])
    return f": did you mean {close[0]}.{key.group(1) if key else '<name>'}?"


def _unquote(s: str) -> str:
    body = s[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


def _field(tok: _Tok) -> Field:
    if tok.kind == "field":
        ns, _, key = tok.text.partition(".")
        if key.startswith("`"):
            key = key[1:-1]
        return Field(ns, key)
    if tok.kind == "word" and tok.text in ATTRIBUTES:
        return Field("attr", tok.text)
    known = ", ".join(sorted(ATTRIBUTES))
    import difflib

    close = difflib.get_close_matches(tok.text, sorted(ATTRIBUTES), n=1, cutoff=0.75)
    hint = f"did you mean {close[0]}? " if close else ""
    raise InvalidQuery(
        f"unknown field {tok.text!r}: {hint}use metrics.<name>, params.<name>, tags.<name> "
        f"or one of {known}"
    )


# Limits that keep a hostile or generated expression a usage error, not a crash: Python's
# recursion limit (each level of nesting costs a few frames here and more in SQL compilation)
# and the databases' own (SQLite's expression depth is 1,000).
MAX_DEPTH = 50
MAX_COMPARISONS = 500


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0
        self.depth = 0
        self.comparisons = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise InvalidQuery(f"the query {self.text!r} ends too early")
        self.i += 1
        return tok

    def expect(self, kind: str, text: str | None = None) -> _Tok:
        tok = self.take()
        if tok.kind != kind or (text is not None and tok.text != text):
            want = text or kind
            raise InvalidQuery(f"expected {want!r} at character {tok.pos + 1}, found {tok.text!r}")
        return tok

    def at(self, kind: str, text: str | None = None) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == kind and (text is None or tok.text == text)

    def expr(self) -> Expr:
        items = [self.conj()]
        while self.at("kw", "or"):
            self.take()
            items.append(self.conj())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def conj(self) -> Expr:
        items = [self.term()]
        while self.at("kw", "and"):
            self.take()
            items.append(self.term())
        return items[0] if len(items) == 1 else And(tuple(items))

    def term(self) -> Expr:
        if self.at("kw", "not") or self.at("punct", "("):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise InvalidQuery(
                    f"the --where expression nests deeper than {MAX_DEPTH} levels "
                    f"(at character {self.toks[self.i].pos + 1})"
                )
            try:
                if self.take().text == "not":
                    return Not(self.term())
                inner = self.expr()
                self.expect("punct", ")")
                return inner
            finally:
                self.depth -= 1
        self.comparisons += 1
        if self.comparisons > MAX_COMPARISONS:
            raise InvalidQuery(
                f"the --where expression has more than {MAX_COMPARISONS} comparisons; "
                "use `in (...)` for a list of values"
            )
        return self.compare()

    def value(self) -> Value:
        tok = self.take()
        if tok.kind == "number":
            text = tok.text
            return float(text) if any(c in text for c in ".eE") else int(text)
        if tok.kind == "string":
            return _unquote(tok.text)
        if tok.kind == "kw" and tok.text in ("true", "false"):
            return tok.text == "true"
        raise InvalidQuery(f"expected a value at character {tok.pos + 1}, found {tok.text!r}")

    def compare(self) -> Compare:
        field = _field(self.take())
        tok = self.take()
        if tok.kind == "op":
            op = {"==": "=", "<>": "!="}.get(tok.text, tok.text)
            return Compare(field, op, self.value())
        if tok.kind == "kw" and tok.text == "like":
            value = self.value()
            if not isinstance(value, str):
                raise InvalidQuery("like needs a quoted pattern, such as 'ma-%'")
            return Compare(field, "like", value)
        if tok.kind == "kw" and tok.text in ("in", "not"):
            negate = tok.text == "not"
            if negate:
                self.expect("kw", "in")
            self.expect("punct", "(")
            values = [self.value()]
            while self.at("punct", ","):
                self.take()
                values.append(self.value())
            self.expect("punct", ")")
            return Compare(field, "notin" if negate else "in", tuple(values))
        if tok.kind == "kw" and tok.text == "is":
            negate = self.at("kw", "not")
            if negate:
                self.take()
            self.expect("kw", "null")
            return Compare(field, "isnot" if negate else "is", None)
        raise InvalidQuery(
            f"expected an operator after {field} at character {tok.pos + 1}, found {tok.text!r}"
        )


def parse_where(text: str) -> Expr:
    """Parse a ``--where`` expression; raises ``InvalidQuery`` with the position of the problem."""
    if not text.strip():
        raise InvalidQuery("the --where expression is empty")
    p = _Parser(text)
    expr = p.expr()
    rest = p.peek()
    if rest is not None:
        raise InvalidQuery(f"unexpected {rest.text!r} at character {rest.pos + 1}")
    return expr


def parse_order_by(text: str) -> tuple[OrderKey, ...]:
    """Parse ``--order-by``: comma-separated fields, ``-`` in front for descending order."""
    keys = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            raise InvalidQuery(f"empty field in --order-by {text!r}")
        descending = part.startswith("-")
        name = part.lstrip("+-").strip()
        toks = _tokenize(name)
        if len(toks) != 1:
            raise InvalidQuery(f"cannot order by {name!r}")
        keys.append(OrderKey(_field(toks[0]), descending))
    return tuple(keys)
