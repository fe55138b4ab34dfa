"""A small, safe expression language for user-defined scoring formulas.

Example: ``(business_value + time_criticality) / max(duration, 0.5)`` or ``if(reach > 1000, reach * 2, reach)``.

Grammar (lowest precedence first)::

    formula    := comparison EOF
    comparison := additive [ ("<" | "<=" | ">" | ">=" | "==" | "!=") additive ]   # not chainable
    additive   := term { ("+" | "-") term }                                      # left-associative
    term       := unary { ("*" | "/") unary }                                    # left-associative
    unary      := ("-" | "+") unary | power
    power      := primary [ ("^" | "**") unary ]                                 # right-associative
    primary    := NUMBER | FIELD | FUNCTION "(" [ comparison { "," comparison } ] ")" | "(" comparison ")"

so ``-2^2 == -4``, ``2^3^2 == 512`` and ``2^-1 == 0.5``. Numbers are decimal (``3``, ``0.5``, ``.5``, ``1e6``).
Comparisons give 1 (true) or 0 (false). Functions:

=================  ======================================================================================
``min(a, b, ...)`` smallest of one or more arguments
``max(a, b, ...)`` largest of one or more arguments
``abs(x)``         absolute value
``sqrt(x)``        square root; x must be >= 0
``log(x)``         natural logarithm; ``log(x, base)`` logarithm in ``base``; x must be > 0
``round(x)``       round half away from zero (like a spreadsheet, not Python's banker's rounding);
                   ``round(x, n)`` to ``n`` decimals, ``n`` a whole-number literal between -15 and 15
``if(c, a, b)``    ``a`` where ``c`` is non-zero, else ``b``; only the chosen branch can fail
=================  ======================================================================================

Invariants
----------
* User text is never handed to ``eval``/``exec``/``compile``/``ast``: a hand-written tokenizer and recursive-descent
  parser build a small AST, and a tree-walking evaluator runs it over numpy arrays.
* Length (``MAX_LENGTH`` characters) and nesting (``MAX_DEPTH`` levels of AST) are bounded, so a hostile formula
  cannot exhaust the stack or run for long; evaluation is linear in rows x AST nodes.
* Every compile error is a :class:`FormulaSyntaxError` pointing at the offending token: ``str(error)`` is the
  formula line, a caret line under the token and the message, e.g.::

      cost_of_delay / duraton
                      ^^^^^^^ unknown field 'duraton' (did you mean 'duration'?)

* Evaluation errors (division by zero, log or sqrt out of domain, 0 raised to a negative power, a negative number
  raised to a fractional power, a field with no value, overflow to infinity) are detected per row. The *policy* is
  the caller's, chosen explicitly: ``errors="raise"`` (the default, and always for :meth:`Formula.evaluate`) raises a
  :class:`FormulaEvaluationError` for the first failing row, naming the item and pointing at the sub-expression that
  failed; ``errors="collect"`` returns NaN for failing rows plus a per-row reason, so a ranking can show every item
  and say why some have no score. Nothing is ever silently turned into 0 or dropped.
* Scalar evaluation is literally batch evaluation of one row, so both paths agree by construction.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from valueloop.engines.prioritisation import EngineInputError, ItemId

__all__ = [
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "BatchEvaluation",
    "Formula",
    "FormulaError",
    "FormulaEvaluationError",
    "FormulaSyntaxError",
    "compile_formula",
]

MAX_LENGTH = 2000
MAX_DEPTH = 64
FloatArray = npt.NDArray[np.float64]

# name -> (minimum arguments, maximum arguments or None for any number)
FUNCTIONS: Mapping[str, tuple[int, int | None]] = {
    "min": (1, None),
    "max": (1, None),
    "abs": (1, 1),
    "sqrt": (1, 1),
    "log": (1, 2),
    "round": (1, 2),
    "if": (3, 3),
}
_COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")


# --------------------------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------------------------


class FormulaError(EngineInputError):
    """An error located in the formula text: ``start``/``end`` are character offsets into ``source``."""

    def __init__(
        self,
        message: str,
        *,
        source: str,
        start: int,
        end: int,
        field: str | None = None,
        item_id: ItemId | None = None,
    ) -> None:
        super().__init__(message, field=field, item_id=item_id)
        self.source = source
        self.start = start
        self.end = max(end, start + 1)

    @property
    def position(self) -> int:
        return self.start

    @property
    def caret(self) -> str:
        """The offending line, a caret line under the bad token and the message (with the item, if known)."""
        line_start = self.source.rfind("\n", 0, self.start) + 1
        line_end = self.source.find("\n", self.start)
        if line_end == -1:
            line_end = len(self.source)
        # Tabs would misalign the caret, so echo them as single spaces.
        line = self.source[line_start:line_end].replace("\t", " ")
        column = self.start - line_start
        width = max(1, min(self.end, line_end) - self.start)
        suffix = "" if self.item_id is None else f" (item {self.item_id})"
        return f"{line}\n{' ' * column}{'^' * width} {self.message}{suffix}"

    def __str__(self) -> str:
        return self.caret


class FormulaSyntaxError(FormulaError):
    """The formula cannot be compiled: bad syntax, unknown field or function, wrong arity, too long or deep."""


class FormulaEvaluationError(FormulaError):
    """The formula failed for one row (``item_id``), e.g. a division by zero."""


# --------------------------------------------------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------------------------------------------------


class _Token(NamedTuple):
    kind: Literal["num", "name", "op", "eof"]
    text: str
    start: int
    end: int


_SINGLE_OPS = "+-*/^(),<>"


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    n = len(source)
    while i < n:
        ch = source[i]
        if ch in " \t\r\n":
            i += 1
            continue
        if ch.isascii() and (ch.isdigit() or (ch == "." and i + 1 < n and source[i + 1].isdigit())):
            j = i
            while j < n and source[j].isascii() and source[j].isdigit():
                j += 1
            if j < n and source[j] == ".":
                j += 1
                while j < n and source[j].isascii() and source[j].isdigit():
                    j += 1
            if j < n and source[j] in "eE":
                k = j + 1
                if k < n and source[k] in "+-":
                    k += 1
                if k < n and source[k].isascii() and source[k].isdigit():
                    while k < n and source[k].isascii() and source[k].isdigit():
                        k += 1
                    j = k
                else:
                    raise FormulaSyntaxError("invalid number: exponent needs digits", source=source, start=i, end=k)
            if j < n and (source[j].isalpha() or source[j] == "_" or source[j] == "."):
                end = j
                while end < n and (source[end].isalnum() or source[end] in "_."):
                    end += 1
                raise FormulaSyntaxError(
                    f"invalid number '{source[i:end]}' (write multiplication as 2 * x)", source=source, start=i, end=end
                )
            tokens.append(_Token("num", source[i:j], i, j))
            i = j
            continue
        if ch.isascii() and (ch.isalpha() or ch == "_"):
            j = i + 1
            while j < n and source[j].isascii() and (source[j].isalnum() or source[j] == "_"):
                j += 1
            tokens.append(_Token("name", source[i:j], i, j))
            i = j
            continue
        two = source[i : i + 2]
        if two in ("**", "<=", ">=", "==", "!="):
            tokens.append(_Token("op", two, i, i + 2))
            i += 2
            continue
        if ch in _SINGLE_OPS:
            tokens.append(_Token("op", ch, i, i + 1))
            i += 1
            continue
        if ch == "=":
            raise FormulaSyntaxError("use '==' to compare", source=source, start=i, end=i + 1)
        if ch == "!":
            raise FormulaSyntaxError("'!' must be followed by '=' (write a != b)", source=source, start=i, end=i + 1)
        raise FormulaSyntaxError(f"unexpected character {ch!r}", source=source, start=i, end=i + 1)
    tokens.append(_Token("eof", "", n, n))
    return tokens


# --------------------------------------------------------------------------------------------------------------------
# AST
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Number:
    value: float
    start: int
    end: int
    depth: int = 1


@dataclass(frozen=True, slots=True)
class FieldRef:
    name: str
    start: int
    end: int
    depth: int = 1
    site: int = 0  # run-time error site ("has no value"), filled in by _with_sites


@dataclass(frozen=True, slots=True)
class Negate:
    operand: Node
    start: int
    end: int
    depth: int


@dataclass(frozen=True, slots=True)
class Binary:
    """Arithmetic (``+ - * / ^``) or comparison; ``^`` covers ``**`` too."""

    op: str
    left: Node
    right: Node
    start: int
    end: int
    depth: int
    site: int = 0  # "/": division by zero; "^": 0 to a negative power (site + 1: fractional power of a negative)


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple[Node, ...]
    start: int
    end: int
    depth: int
    site: int = 0  # sqrt/log domain (log with a base: site + 1 is the base)


Node = Number | FieldRef | Negate | Binary | Call


# --------------------------------------------------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, source: str, fields: frozenset[str]) -> None:
        self.source = source
        self.fields = fields
        self.tokens = _tokenize(source)
        self.pos = 0
        self.nesting = 0
        self.used: dict[str, None] = {}  # insertion-ordered set

    # -- helpers ------------------------------------------------------------------------------------------------------

    def error(self, message: str, start: int, end: int) -> FormulaSyntaxError:
        return FormulaSyntaxError(message, source=self.source, start=start, end=end)

    @property
    def tok(self) -> _Token:
        return self.tokens[self.pos]

    def advance(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def is_op(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in ops

    def describe(self, token: _Token) -> str:
        return "end of formula" if token.kind == "eof" else f"'{token.text}'"

    def node_depth(self, depth: int, start: int, end: int) -> int:
        if depth > MAX_DEPTH:
            raise self.error(f"formula is nested too deeply (more than {MAX_DEPTH} levels)", start, end)
        return depth

    def enter(self, token: _Token) -> None:
        # Bounds Python recursion independently of AST depth (e.g. "((((((1))))))" adds no AST depth).
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise self.error(f"formula is nested too deeply (more than {MAX_DEPTH} levels)", token.start, token.end)

    # -- grammar ------------------------------------------------------------------------------------------------------

    def parse(self) -> Node:
        if self.tok.kind == "eof":
            raise self.error("formula is empty", 0, 1)
        node = self.comparison()
        if self.tok.kind != "eof":
            token = self.tok
            if token.kind == "op" and token.text == ")":
                raise self.error("unmatched ')'", token.start, token.end)
            raise self.error(
                f"unexpected {self.describe(token)} after a complete expression (missing operator?)",
                token.start,
                token.end,
            )
        return node

    def comparison(self) -> Node:
        left = self.additive()
        if self.is_op(*_COMPARISONS):
            op = self.advance()
            right = self.additive()
            if self.is_op(*_COMPARISONS):
                extra = self.tok
                raise self.error("comparisons cannot be chained; combine them with if()", extra.start, extra.end)
            depth = self.node_depth(1 + max(left.depth, right.depth), op.start, op.end)
            return Binary(op.text, left, right, left.start, right.end, depth)
        return left

    def additive(self) -> Node:
        node = self.term()
        while self.is_op("+", "-"):
            op = self.advance()
            right = self.term()
            depth = self.node_depth(1 + max(node.depth, right.depth), op.start, op.end)
            node = Binary(op.text, node, right, node.start, right.end, depth)
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.is_op("*", "/"):
            op = self.advance()
            right = self.unary()
            depth = self.node_depth(1 + max(node.depth, right.depth), op.start, op.end)
            node = Binary(op.text, node, right, node.start, right.end, depth)
        return node

    def unary(self) -> Node:
        if self.is_op("-", "+"):
            op = self.advance()
            self.enter(op)
            operand = self.unary()
            self.nesting -= 1
            if op.text == "+":
                return operand
            depth = self.node_depth(1 + operand.depth, op.start, op.end)
            return Negate(operand, op.start, operand.end, depth)
        return self.power()

    def power(self) -> Node:
        base = self.primary()
        if self.is_op("^", "**"):
            op = self.advance()
            self.enter(op)
            exponent = self.unary()
            self.nesting -= 1
            depth = self.node_depth(1 + max(base.depth, exponent.depth), op.start, op.end)
            return Binary("^", base, exponent, base.start, exponent.end, depth)
        return base

    def primary(self) -> Node:
        token = self.tok
        if token.kind == "num":
            self.advance()
            value = float(token.text)  # float() of a validated numeric literal, never of arbitrary text
            if not math.isfinite(value):
                raise self.error("number is too large", token.start, token.end)
            return Number(value, token.start, token.end)
        if token.kind == "name":
            self.advance()
            if self.is_op("("):
                return self.call(token)
            return self.field(token)
        if token.kind == "op" and token.text == "(":
            self.advance()
            self.enter(token)
            inner = self.comparison()
            self.nesting -= 1
            if not self.is_op(")"):
                raise self.error(
                    f"expected ')' to close the '(' opened here, found {self.describe(self.tok)}",
                    token.start,
                    token.end,
                )
            self.advance()
            return inner
        if token.kind == "eof":
            raise self.error("formula ends too early: expected a number, field or '('", token.start, token.end)
        raise self.error(f"unexpected {self.describe(token)}: expected a number, field or '('", token.start, token.end)

    def field(self, token: _Token) -> FieldRef:
        name = token.text
        if name in self.fields:
            self.used[name] = None
            return FieldRef(name, token.start, token.end)
        if name in FUNCTIONS:
            hint = "if(condition, then, else)" if name == "if" else f"{name}(...)"
            raise self.error(f"'{name}' is a function; call it like {hint}", token.start, token.end)
        message = f"unknown field '{name}'"
        close = difflib.get_close_matches(name, sorted(self.fields), n=1, cutoff=0.6)
        if close:
            message += f" (did you mean '{close[0]}'?)"
        raise self.error(message, token.start, token.end)

    def call(self, name_token: _Token) -> Call:
        name = name_token.text
        if name not in FUNCTIONS:
            message = f"unknown function '{name}'"
            close = difflib.get_close_matches(name, sorted(FUNCTIONS), n=1, cutoff=0.6)
            if close:
                message += f" (did you mean '{close[0]}'?)"
            elif name in self.fields:
                message += f" ('{name}' is a field; write multiplication as {name} * (...))"
            raise self.error(message, name_token.start, name_token.end)
        open_paren = self.advance()
        self.enter(open_paren)
        args: list[Node] = []
        if not self.is_op(")"):
            while True:
                args.append(self.comparison())
                if self.is_op(","):
                    self.advance()
                    continue
                break
        if not self.is_op(")"):
            raise self.error(
                f"expected ',' or ')' in the call to {name}(), found {self.describe(self.tok)}",
                self.tok.start,
                self.tok.end,
            )
        close_paren = self.advance()
        self.nesting -= 1
        low, high = FUNCTIONS[name]
        if len(args) < low or (high is not None and len(args) > high):
            expected = f"{low}" if low == high else (f"at least {low}" if high is None else f"{low} or {high}")
            raise self.error(
                f"{name}() takes {expected} argument{'' if (high or low) == 1 else 's'}, got {len(args)}",
                name_token.start,
                close_paren.end,
            )
        if name == "round" and len(args) == 2:
            _round_digits(args[1], self)
        depth = self.node_depth(1 + max((a.depth for a in args), default=0), name_token.start, close_paren.end)
        return Call(name, tuple(args), name_token.start, close_paren.end, depth)


def _round_digits(node: Node, parser: _Parser) -> int:
    """round()'s digits must be a literal whole number (optionally negative) so every row rounds alike."""
    value: float | None = None
    if isinstance(node, Number):
        value = node.value
    elif isinstance(node, Negate) and isinstance(node.operand, Number):
        value = -node.operand.value
    if value is None or value != int(value) or not -15 <= value <= 15:
        raise parser.error("round() digits must be a whole number between -15 and 15", node.start, node.end)
    return int(value)


# --------------------------------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------------------------------

_Err = npt.NDArray[np.int32] | None


def _merge(*errors: _Err) -> _Err:
    """Per row, keep the first (leftmost) error code that is set."""
    result: _Err = None
    for err in errors:
        if err is None:
            continue
        result = err if result is None else np.where(result != 0, result, err)
    return result


def _flag(err: _Err, bad: npt.NDArray[np.bool_], code: int) -> _Err:
    """Set ``code`` on rows that are ``bad`` and have no earlier error (an earlier error explains the row)."""
    if not bad.any():
        return err
    mark = np.where(bad, np.int32(code), np.int32(0))
    return mark if err is None else np.where(err != 0, err, mark)


@dataclass(frozen=True, slots=True)
class _Site:
    """A place in the formula that can fail at run time, and why."""

    start: int
    end: int
    message: str


class _Evaluator:
    def __init__(self, columns: Mapping[str, FloatArray], n: int) -> None:
        self.columns = columns
        self.n = n

    def run(self, node: Node) -> tuple[FloatArray, _Err]:
        match node:
            case Number(value=value):
                return np.full(self.n, value), None
            case FieldRef(name=name, site=site):
                values = self.columns[name]
                return values, _flag(None, ~np.isfinite(values), site)
            case Negate(operand=operand):
                values, err = self.run(operand)
                return -values, err
            case Binary(op=op, left=left, right=right):
                return self.binary(node.site, op, left, right)
            case Call():
                return self.call(node)
        raise AssertionError(f"unknown node {node!r}")  # pragma: no cover

    def binary(self, site: int, op: str, left: Node, right: Node) -> tuple[FloatArray, _Err]:
        a, a_err = self.run(left)
        b, b_err = self.run(right)
        err = _merge(a_err, b_err)
        if op == "+":
            return a + b, err
        if op == "-":
            return a - b, err
        if op == "*":
            return a * b, err
        if op == "/":
            err = _flag(err, b == 0, site)
            return a / b, err
        if op == "^":
            zero_negative, fractional = site, site + 1
            err = _flag(err, (a == 0) & (b < 0), zero_negative)
            err = _flag(err, (a < 0) & (b != np.round(b)), fractional)
            return np.power(a, b), err
        comparisons = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
                       "==": np.equal, "!=": np.not_equal}
        return comparisons[op](a, b).astype(np.float64), err

    def call(self, node: Call) -> tuple[FloatArray, _Err]:
        name = node.name
        if name == "if":
            cond, cond_err = self.run(node.args[0])
            then, then_err = self.run(node.args[1])
            other, other_err = self.run(node.args[2])
            chosen = cond != 0
            values = np.where(chosen, then, other)
            # Only the branch actually taken may fail a row; the condition's own errors always count.
            branch_err: _Err = None
            if then_err is not None or other_err is not None:
                zeros = np.zeros(self.n, dtype=np.int32)
                branch_err = np.where(
                    chosen, zeros if then_err is None else then_err, zeros if other_err is None else other_err
                ).astype(np.int32)
            return values, _merge(cond_err, branch_err)
        evaluated = [self.run(arg) for arg in node.args]
        values_list = [v for v, _ in evaluated]
        err = _merge(*(e for _, e in evaluated))
        x = values_list[0]
        code = node.site
        if name == "min":
            return np.minimum.reduce(values_list) if len(values_list) > 1 else x, err
        if name == "max":
            return np.maximum.reduce(values_list) if len(values_list) > 1 else x, err
        if name == "abs":
            return np.abs(x), err
        if name == "sqrt":
            return np.sqrt(x), _flag(err, x < 0, code)
        if name == "log":
            err = _flag(err, x <= 0, code)
            if len(values_list) == 1:
                return np.log(x), err
            base = values_list[1]
            err = _flag(err, (base <= 0) | (base == 1), code + 1)
            return np.log(x) / np.log(base), err
        # round: half away from zero, digits validated as a literal at compile time.
        digits = int(values_list[1][0]) if len(values_list) == 2 else 0
        scale = 10.0**digits
        return np.sign(x) * np.floor(np.abs(x) * scale + 0.5) / scale, err


@dataclass(frozen=True, slots=True)
class BatchEvaluation:
    """Result of :meth:`Formula.evaluate_batch` with ``errors="collect"``.

    ``values`` holds NaN exactly where ``ok`` is False; :meth:`error` and :meth:`errors` explain those rows.
    """

    formula: Formula
    values: FloatArray
    ok: npt.NDArray[np.bool_]
    codes: npt.NDArray[np.int32]
    ids: np.ndarray | None

    def error(self, row: int) -> FormulaEvaluationError | None:
        code = int(self.codes[row])
        if code == 0:
            return None
        return self.formula._error(code, self.ids, row)

    def errors(self) -> Iterator[tuple[int, FormulaEvaluationError]]:
        for row in np.flatnonzero(self.codes):
            err = self.error(int(row))
            assert err is not None
            yield int(row), err


@dataclass(frozen=True, slots=True, eq=False)
class Formula:
    """A compiled formula. Build with :func:`compile_formula`."""

    source: str
    ast: Node
    fields_used: tuple[str, ...]
    _sites: tuple[_Site, ...]

    def _error(self, code: int, ids: np.ndarray | None, row: int) -> FormulaEvaluationError:
        site = self._sites[code - 1]
        if ids is None:
            item_id: ItemId = row
        else:
            raw = ids[row]
            item_id = raw.item() if isinstance(raw, np.generic) else raw
        return FormulaEvaluationError(site.message, source=self.source, start=site.start, end=site.end,
                                      item_id=item_id)

    def evaluate_batch(
        self,
        columns: Mapping[str, npt.ArrayLike],
        ids: npt.ArrayLike | None = None,
        *,
        errors: Literal["raise", "collect"] = "raise",
    ) -> FloatArray | BatchEvaluation:
        """Evaluate over columns of equal length (numpy arrays or sequences, keyed by field name).

        NaN or infinite inputs mean "no value" and fail their row. With ``errors="raise"`` returns the float array
        or raises :class:`FormulaEvaluationError` for the first failing row; with ``errors="collect"`` returns a
        :class:`BatchEvaluation`.
        """
        if errors not in ("raise", "collect"):
            raise EngineInputError("errors must be 'raise' or 'collect'", field="errors")
        arrays: dict[str, FloatArray] = {}
        n: int | None = None
        for name in self.fields_used:
            if name not in columns:
                raise EngineInputError(f"column '{name}' is required by the formula", field=name)
            try:
                array = np.asarray(columns[name], dtype=np.float64)
            except (TypeError, ValueError):
                raise EngineInputError(f"column '{name}' must contain only numbers", field=name) from None
            if array.ndim != 1:
                raise EngineInputError(f"column '{name}' must be one-dimensional", field=name)
            if n is None:
                n = array.shape[0]
            elif array.shape[0] != n:
                raise EngineInputError("all columns must have the same number of rows", field=name)
            arrays[name] = array
        if n is None:
            # A formula with no fields still needs to know how many rows to produce.
            lengths = {np.asarray(v).shape[0] for v in columns.values()}
            if ids is not None:
                lengths.add(np.asarray(ids).shape[0])
            if len(lengths) > 1:
                raise EngineInputError("all columns must have the same number of rows")
            n = lengths.pop() if lengths else 1
        id_array = None if ids is None else np.asarray(ids, dtype=object)
        if id_array is not None and id_array.shape != (n,):
            raise EngineInputError(f"ids must have one entry per row ({n})", field="id")
        evaluator = _Evaluator(arrays, n)
        with np.errstate(all="ignore"):
            values, err = evaluator.run(self.ast)
        values = np.array(values, dtype=np.float64)  # own the memory; a bare FieldRef would alias the input
        codes = np.zeros(n, dtype=np.int32) if err is None else err.astype(np.int32)
        # Overflow (1e308 * 10) is the only way to reach a non-finite value without a flagged site.
        codes = np.where((codes == 0) & ~np.isfinite(values), np.int32(len(self._sites)), codes)
        ok = codes == 0
        if errors == "raise":
            if not ok.all():
                raise self._error(int(codes[np.flatnonzero(~ok)[0]]), id_array, int(np.flatnonzero(~ok)[0]))
            return values
        values[~ok] = np.nan
        return BatchEvaluation(self, values, ok, codes, id_array)

    def evaluate(self, row: Mapping[str, object], *, item_id: ItemId | None = None) -> float:
        """Evaluate for one item. Missing or non-numeric fields and evaluation failures raise, naming the item."""
        columns: dict[str, list[float]] = {}
        for name in self.fields_used:
            value = row.get(name)
            if value is None:
                columns[name] = [math.nan]  # reported by the field's site as "has no value", with a caret
                continue
            if isinstance(value, bool) or not isinstance(value, numbers.Real | Decimal):
                raise EngineInputError(f"{name} must be a number", field=name, item_id=item_id)
            columns[name] = [float(value)]
        try:
            result = self.evaluate_batch(columns, None if item_id is None else [item_id], errors="raise")
        except FormulaEvaluationError as exc:
            if item_id is None:
                # Batch-of-one would name "item 0"; a caller without an id gets an error without one.
                raise FormulaEvaluationError(exc.message, source=exc.source, start=exc.start, end=exc.end) from None
            raise
        assert isinstance(result, np.ndarray)
        return float(result[0])


def _with_sites(node: Node, sites: list[_Site]) -> Node:
    """Return the tree with a site number on every node that can fail at run time, so a row's error code points
    back at the text. Codes are 1-based indexes into ``sites``; 0 means "no error". Stored on the nodes (not keyed
    by object identity) so a compiled formula survives copying and pickling."""

    def add(start: int, end: int, message: str) -> int:
        sites.append(_Site(start, end, message))
        return len(sites)

    match node:
        case FieldRef(name=name):
            return replace(node, site=add(node.start, node.end, f"field '{name}' has no value"))
        case Negate(operand=operand):
            return replace(node, operand=_with_sites(operand, sites))
        case Binary(op=op, left=left, right=right):
            left, right = _with_sites(left, sites), _with_sites(right, sites)
            if op == "/":
                return replace(node, left=left, right=right, site=add(right.start, right.end, "division by zero"))
            if op == "^":
                site = add(node.start, node.end, "0 raised to a negative power (division by zero)")
                add(node.start, node.end, "negative number raised to a fractional power")
                return replace(node, left=left, right=right, site=site)
            return replace(node, left=left, right=right)
        case Call(name=name, args=args):
            args = tuple(_with_sites(arg, sites) for arg in args)
            if name == "sqrt":
                return replace(node, args=args, site=add(args[0].start, args[0].end, "sqrt() of a negative number"))
            if name == "log":
                site = add(args[0].start, args[0].end, "log() of a number <= 0")
                if len(args) == 2:
                    add(args[1].start, args[1].end, "log() base must be > 0 and not 1")
                return replace(node, args=args, site=site)
            return replace(node, args=args)
    return node


def compile_formula(source: str, fields: Iterable[str]) -> Formula:
    """Parse and validate ``source`` against the allowed field names; raise :class:`FormulaSyntaxError` if bad."""
    if not isinstance(source, str):
        raise EngineInputError("formula must be text", field="formula")
    if len(source) > MAX_LENGTH:
        raise FormulaSyntaxError(
            f"formula is too long ({len(source)} characters; the limit is {MAX_LENGTH})",
            source=source[:80],
            start=0,
            end=min(len(source), 80),
            field="formula",
        )
    parser = _Parser(source, frozenset(fields))
    node = parser.parse()
    sites: list[_Site] = []
    node = _with_sites(node, sites)
    # Last site: overflow anywhere, reported against the whole formula.
    sites.append(_Site(node.start, node.end, "result is too large (not a finite number)"))
    return Formula(source, node, tuple(parser.used), tuple(sites))
