"""Recursive-descent parser for the SOQL subset the emulator serves.

Grammar (keywords case-insensitive)::

    query      := SELECT (COUNT '(' ')' | field (',' field)*) FROM name
                  [WHERE condition] [ORDER BY order (',' order)*] [LIMIT int] [OFFSET int]
    condition  := factor ((AND factor)* | (OR factor)*)
    factor     := '(' condition ')' | NOT factor | field op value
                | field LIKE value | field [NOT] IN '(' value (',' value)* ')'
    order      := field [ASC|DESC] [NULLS (FIRST|LAST)]

``condition`` deliberately refuses AND and OR at the same level: Salesforce makes the client
parenthesise, and reports the second operator as the unexpected token. Every error names the
first token the grammar cannot take, at its row and column, like Salesforce's parser.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from emulator.org.api_limits import SOQL_MAX_STATEMENT_CHARS, SOQL_MAX_WHERE_STRING_CHARS
from emulator.soql import dates
from emulator.soql.errors import (
    MAX_OFFSET,
    SoqlError,
    nested_too_deep,
    offset_too_large,
    string_too_long,
    too_long,
    unexpected,
)
from emulator.soql.lexer import (
    DATE,
    DATETIME,
    EOF,
    IDENT,
    NUMBER,
    OP,
    PUNCT,
    STRING,
    Token,
    tokenize,
)
from emulator.soql.nodes import (
    And,
    BoolLit,
    Comparison,
    Condition,
    DateLit,
    DateTimeLit,
    FieldRef,
    InList,
    Not,
    NullLit,
    NumberLit,
    Or,
    OrderItem,
    Query,
    RangeLit,
    StringLit,
    Value,
)

# Salesforce's reserved words: never a field or object name.
RESERVED = frozenset(
    {
        "AND", "ASC", "DESC", "EXCLUDES", "FIRST", "FROM", "GROUP", "HAVING", "IN", "INCLUDES",
        "LAST", "LIKE", "LIMIT", "NOT", "NULL", "NULLS", "OR", "SELECT", "WHERE", "WITH",
    }
)  # fmt: skip
# Parentheses and NOTs one inside another, at most: deep enough for any real query, shallow
# enough that neither the parser nor the evaluator can run out of stack.
MAX_NESTING = 100


def parse(source: str) -> Query:
    """Parse ``source`` into a :class:`Query`; raises :class:`SoqlError` (MALFORMED_QUERY)."""
    if len(source) > SOQL_MAX_STATEMENT_CHARS:
        raise too_long(SOQL_MAX_STATEMENT_CHARS)
    return _Parser(source).query()


class _Parser:
    """Cursor over the token list; one method per grammar rule."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.index = 0
        self.depth = 0

    # -- token helpers -------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.peek()
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def fail(self, token: Token | None = None) -> SoqlError:
        token = token or self.peek()
        return unexpected(self.source, token.offset, token.text)

    def at_keyword(self, *words: str, ahead: int = 0) -> bool:
        token = self.peek(ahead)
        return token.kind == IDENT and token.upper in words

    def at_punct(self, char: str) -> bool:
        token = self.peek()
        return token.kind == PUNCT and token.text == char

    def expect_keyword(self, word: str) -> Token:
        if not self.at_keyword(word):
            raise self.fail()
        return self.advance()

    def expect_punct(self, char: str) -> Token:
        if not self.at_punct(char):
            raise self.fail()
        return self.advance()

    # -- rules ---------------------------------------------------------------------------

    def query(self) -> Query:
        self.expect_keyword("SELECT")
        count = self.at_keyword("COUNT") and self.peek(1).text == "("
        fields = self.count() if count else self.field_list()
        self.expect_keyword("FROM")
        sobject = self.name()
        where = self.where()
        order_by = self.order_by()
        limit = self.integer_clause("LIMIT")
        offset = self.integer_clause("OFFSET")
        if self.peek().kind != EOF:
            raise self.fail()
        if offset is not None and offset > MAX_OFFSET:
            raise offset_too_large()
        return Query(
            self.source, fields, count, sobject.text, sobject.offset, where, order_by, limit, offset
        )

    def count(self) -> tuple[FieldRef, ...]:
        self.advance()
        self.expect_punct("(")
        self.expect_punct(")")
        return ()

    def field_list(self) -> tuple[FieldRef, ...]:
        fields = [self.field()]
        while self.at_punct(","):
            self.advance()
            fields.append(self.field())
        return tuple(fields)

    def name(self) -> Token:
        """A plain object name: one identifier, not reserved."""
        token = self.peek()
        if token.kind != IDENT or token.upper in RESERVED or not token.text.isidentifier():
            raise self.fail()
        return self.advance()

    def field(self) -> FieldRef:
        token = self.peek()
        parts = token.text.split(".")
        if token.kind != IDENT or ":" in token.text or any(p.upper() in RESERVED for p in parts):
            raise self.fail()
        self.advance()
        return FieldRef(tuple(parts), token.offset)

    def where(self) -> Condition | None:
        if not self.at_keyword("WHERE"):
            return None
        self.advance()
        return self.condition()

    def condition(self) -> Condition:
        operands = [self.factor()]
        joiner = ""
        while self.at_keyword("AND", "OR"):
            token = self.advance()
            if joiner and token.upper != joiner:
                raise self.fail(token)
            joiner = token.upper
            operands.append(self.factor())
        if not joiner:
            return operands[0]
        return And(tuple(operands)) if joiner == "AND" else Or(tuple(operands))

    def factor(self) -> Condition:
        if not (self.at_punct("(") or self.at_keyword("NOT")):
            return self.field_expression()
        if self.depth >= MAX_NESTING:
            raise nested_too_deep(self.source, self.peek().offset, MAX_NESTING)
        self.depth += 1
        inner: Condition
        if self.advance().text == "(":
            inner = self.condition()
            self.expect_punct(")")
        else:
            inner = Not(self.factor())
        self.depth -= 1
        return inner

    def field_expression(self) -> Condition:
        field = self.field()
        token = self.peek()
        if token.kind == OP:
            self.advance()
            return Comparison(field, "!=" if token.text == "<>" else token.text, self.value())
        if self.at_keyword("LIKE"):
            self.advance()
            return Comparison(field, "LIKE", self.value())
        negated = self.at_keyword("NOT")
        if negated:
            self.advance()
        self.expect_keyword("IN")
        return InList(field, self.value_list(), negated)

    def value_list(self) -> tuple[Value, ...]:
        self.expect_punct("(")
        values = [self.value()]
        while self.at_punct(","):
            self.advance()
            values.append(self.value())
        self.expect_punct(")")
        return tuple(values)

    def value(self) -> Value:
        token = self.advance()
        try:
            literal = _literal(token)
        except ValueError:
            literal = None
        if literal is None:
            raise self.fail(token)
        if isinstance(literal, StringLit) and len(literal.value) > SOQL_MAX_WHERE_STRING_CHARS:
            raise string_too_long(self.source, token.offset, SOQL_MAX_WHERE_STRING_CHARS)
        return literal

    def order_by(self) -> tuple[OrderItem, ...]:
        if not (self.at_keyword("ORDER") and self.at_keyword("BY", ahead=1)):
            return ()
        self.advance()
        self.advance()
        items = [self.order_item()]
        while self.at_punct(","):
            self.advance()
            items.append(self.order_item())
        return tuple(items)

    def order_item(self) -> OrderItem:
        field = self.field()
        descending = self.at_keyword("DESC")
        if self.at_keyword("ASC", "DESC"):
            self.advance()
        nulls_first = True  # SOQL guide, ORDER BY: "By default, null values are sorted first."
        if self.at_keyword("NULLS"):
            self.advance()
            if not self.at_keyword("FIRST", "LAST"):
                raise self.fail()
            nulls_first = self.advance().upper == "FIRST"
        return OrderItem(field, descending, nulls_first)

    def integer_clause(self, keyword: str) -> int | None:
        if not self.at_keyword(keyword):
            return None
        self.advance()
        token = self.advance()
        if token.kind != NUMBER or not token.text.isdigit():
            raise self.fail(token)
        return int(token.text)


def _literal(token: Token) -> Value | None:
    """The literal ``token`` spells, or None; ValueError for impossible dates."""
    if token.kind == STRING:
        return StringLit(token.value, token.like, token.offset)
    if token.kind == NUMBER:
        return NumberLit(Decimal(token.text), token.offset)
    if token.kind == DATE:
        return DateLit(dt.date.fromisoformat(token.text), token.offset)
    if token.kind == DATETIME:
        return DateTimeLit(dt.datetime.fromisoformat(token.text), token.offset)
    if token.kind != IDENT:
        return None
    word, _, n = token.upper.partition(":")
    if n:
        return RangeLit(word, int(n), token.offset) if word in dates.WITH_N else None
    if word in ("TRUE", "FALSE"):
        return BoolLit(word == "TRUE", token.offset)
    if word == "NULL":
        return NullLit(token.offset)
    return RangeLit(word, None, token.offset) if word in dates.FIXED else None
