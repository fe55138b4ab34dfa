"""Tests for valueloop.engines.formula: grammar, caret errors, evaluation errors, limits and vectorised evaluation."""

from __future__ import annotations

import math
import random
import time

import numpy as np
import pytest

from valueloop.engines.formula import (
    MAX_DEPTH,
    MAX_LENGTH,
    BatchEvaluation,
    FormulaEvaluationError,
    FormulaSyntaxError,
    compile_formula,
)
from valueloop.engines.prioritisation import EngineInputError

FIELDS = ["cost_of_delay", "duration", "reach", "impact", "confidence", "effort", "a", "b", "c"]


def value(source: str, **row: float) -> float:
    return compile_formula(source, FIELDS).evaluate(row)


# --- grammar and arithmetic ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 - 4 - 3", 3),  # left-associative
        ("64 / 4 / 2", 8),
        ("2 ^ 3 ^ 2", 512),  # right-associative
        ("2 ** 3", 8),
        ("-2 ^ 2", -4),  # power binds tighter than unary minus
        ("(-2) ^ 2", 4),
        ("2 ^ -1", 0.5),
        ("--3", 3),
        ("+3", 3),
        ("-(1 + 2) * 2", -6),
        (".5 + 1.", 1.5),
        ("1e3 + 2.5E-1", 1000.25),
        ("1 < 2", 1),
        ("2 <= 1", 0),
        ("3 == 3", 1),
        ("3 != 3", 0),
        ("1 + 1 > 1", 1),  # comparison binds loosest
        ("min(3, 1, 2)", 1),
        ("max(3, 1, 2)", 3),
        ("max(7)", 7),
        ("abs(-2.5)", 2.5),
        ("sqrt(16)", 4),
        ("log(1)", 0),
        ("log(8, 2)", 3),
        ("round(2.5)", 3),  # half away from zero, not banker's rounding
        ("round(-2.5)", -3),
        ("round(3.14159, 2)", 3.14),
        ("round(1250, -2)", 1300),
        ("if(1 > 2, 10, 20)", 20),
        ("if(2, 10, 20)", 10),
        ("if(0, 1 / 0, 5)", 5),  # the branch not taken cannot fail
    ],
)
def test_evaluates(source, expected):
    assert value(source) == pytest.approx(expected)


def test_fields_and_fields_used():
    f = compile_formula("cost_of_delay / max(duration, 0.5) + cost_of_delay * 0", FIELDS)
    assert f.fields_used == ("cost_of_delay", "duration")
    assert f.evaluate({"cost_of_delay": 4000, "duration": 2}) == 2000
    assert f.evaluate({"cost_of_delay": 4000, "duration": 0.1}) == 8000


def test_rice_as_a_formula():
    f = compile_formula("reach * impact * confidence / 100 / effort", FIELDS)
    assert f.evaluate({"reach": 450, "impact": 3, "confidence": 100, "effort": 2}) == pytest.approx(675)


# --- compile errors point at the token -------------------------------------------------------------------------------


def test_unknown_field_caret_matches_the_documented_format():
    with pytest.raises(FormulaSyntaxError) as info:
        compile_formula("cost_of_delay / duraton", ["cost_of_delay", "duration"])
    assert str(info.value) == (
        "cost_of_delay / duraton\n"
        "                ^^^^^^^ unknown field 'duraton' (did you mean 'duration'?)"
    )
    assert info.value.position == 16
    assert info.value.message == "unknown field 'duraton' (did you mean 'duration'?)"
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("source", "start", "message"),
    [
        ("", 0, "formula is empty"),
        ("1 +", 3, "formula ends too early"),
        ("(1 + 2", 0, "expected ')' to close the '('"),
        ("1 + 2)", 5, "unmatched ')'"),
        ("2x", 0, "invalid number '2x'"),
        ("1e+", 0, "exponent needs digits"),
        ("a b", 2, "unexpected 'b' after a complete expression"),
        ("mn(a, b)", 0, "unknown function 'mn' (did you mean 'min'?)"),
        ("a(1)", 0, "'a' is a field"),
        ("min", 0, "'min' is a function"),
        ("if", 0, "call it like if(condition, then, else)"),
        ("a < b < c", 6, "comparisons cannot be chained"),
        ("a = b", 2, "use '==' to compare"),
        ("a ! b", 2, "'!' must be followed by '='"),
        ("a $ b", 2, "unexpected character '$'"),
        ("a.b", 1, "unexpected character '.'"),
        ("if(a, b)", 0, "if() takes 3 arguments, got 2"),
        ("abs(a, b)", 0, "abs() takes 1 argument, got 2"),
        ("min()", 0, "min() takes at least 1 argument, got 0"),
        ("log(a, b, c)", 0, "log() takes 1 or 2 arguments, got 3"),
        ("round(a, b)", 9, "round() digits must be a whole number"),
        ("round(a, 0.5)", 9, "round() digits must be a whole number"),
        ("min(a b)", 6, "expected ',' or ')' in the call to min()"),
        ("a * (b +)", 8, "unexpected ')'"),
        ("totally_unknown", 0, "unknown field 'totally_unknown'"),
        ("9" * 400, 0, "number is too large"),
    ],
)
def test_syntax_errors(source, start, message):
    with pytest.raises(FormulaSyntaxError) as info:
        compile_formula(source, FIELDS)
    assert info.value.start == start
    assert message in info.value.message
    caret_line = str(info.value).splitlines()[1]
    assert caret_line.index("^") == start


def test_caret_on_multiline_formula_points_into_the_right_line():
    with pytest.raises(FormulaSyntaxError) as info:
        compile_formula("a +\n  bogus * 2", FIELDS)
    assert str(info.value).splitlines() == ["  bogus * 2", "  ^^^^^ unknown field 'bogus'"]


def test_no_python_evaluation_of_user_text():
    # Things eval() would run are not even tokens or names this language knows.
    for source in ("__import__('os')", "a.__class__", "[1][0]", "lambda: 1", "a if b else c", "'text'"):
        with pytest.raises(FormulaSyntaxError):
            compile_formula(source, FIELDS)


def test_length_and_depth_limits():
    with pytest.raises(FormulaSyntaxError, match="too long"):
        compile_formula("1+" * MAX_LENGTH + "1", FIELDS)
    deep = "(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1)
    with pytest.raises(FormulaSyntaxError, match="nested too deeply"):
        compile_formula(deep, FIELDS)
    assert compile_formula("(" * 20 + "1" + ")" * 20, FIELDS).evaluate({}) == 1
    with pytest.raises(FormulaSyntaxError, match="nested too deeply"):
        compile_formula("-" * 500 + "1", FIELDS)
    with pytest.raises(FormulaSyntaxError, match="nested too deeply"):
        compile_formula("+".join(["a"] * 200), FIELDS)  # a left-deep chain is deep too
    assert compile_formula("+".join(["a"] * 50), FIELDS).evaluate({"a": 2}) == 100


# --- evaluation errors -----------------------------------------------------------------------------------------------


def test_division_by_zero_names_the_item_and_points_at_the_divisor():
    f = compile_formula("cost_of_delay / duration", FIELDS)
    with pytest.raises(FormulaEvaluationError) as info:
        f.evaluate({"cost_of_delay": 100, "duration": 0}, item_id=42)
    assert str(info.value) == "cost_of_delay / duration\n                ^^^^^^^^ division by zero (item 42)"
    assert info.value.item_id == 42
    with pytest.raises(FormulaEvaluationError) as info:
        f.evaluate({"cost_of_delay": 100, "duration": 0})
    assert info.value.item_id is None
    assert str(info.value).endswith("division by zero")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("sqrt(a - 5)", "sqrt() of a negative number"),
        ("log(a - 1)", "log() of a number <= 0"),
        ("log(a, 1)", "log() base must be > 0 and not 1"),
        ("0 ^ (a - 2)", "0 raised to a negative power"),
        ("(a - 3) ^ 0.5", "negative number raised to a fractional power"),
        ("10 ^ (a * 400)", "result is too large"),
        ("b + 1", "field 'b' has no value"),
    ],
)
def test_domain_errors(source, message):
    with pytest.raises(FormulaEvaluationError) as info:
        compile_formula(source, FIELDS).evaluate({"a": 1, "b": None}, item_id="x")
    assert message in info.value.message
    assert info.value.item_id == "x"


def test_negative_base_with_whole_exponent_is_fine():
    assert value("(a - 3) ^ 3", a=1) == -8


def test_batch_collect_mode_keeps_every_row_and_explains_failures():
    f = compile_formula("cost_of_delay / duration", FIELDS)
    result = f.evaluate_batch(
        {"cost_of_delay": [100, 200, 300, 400], "duration": [2, 0, 3, float("nan")]},
        ids=["w", "x", "y", "z"],
        errors="collect",
    )
    assert isinstance(result, BatchEvaluation)
    assert result.values[0] == 50 and result.values[2] == 100
    assert math.isnan(result.values[1]) and math.isnan(result.values[3])
    assert list(result.ok) == [True, False, True, False]
    reasons = {row: (err.item_id, err.message) for row, err in result.errors()}
    assert reasons == {1: ("x", "division by zero"), 3: ("z", "field 'duration' has no value")}
    assert result.error(0) is None
    with pytest.raises(FormulaEvaluationError) as info:
        f.evaluate_batch({"cost_of_delay": [100, 200], "duration": [1, 0]}, ids=[7, 8])
    assert info.value.item_id == 8


def test_if_masks_errors_per_row():
    f = compile_formula("if(b > 0, a / b, 0)", FIELDS)
    out = f.evaluate_batch({"a": [1, 2, 3], "b": [1, 0, -1]})
    assert list(out) == [1, 0, 0]
    # Errors in the condition always count.
    g = compile_formula("if(a / b > 1, 1, 2)", FIELDS)
    result = g.evaluate_batch({"a": [4, 4], "b": [2, 0]}, errors="collect")
    assert list(result.ok) == [True, False]


def test_first_error_in_reading_order_wins():
    f = compile_formula("a / b + sqrt(c)", FIELDS)
    with pytest.raises(FormulaEvaluationError, match="division by zero"):
        f.evaluate({"a": 1, "b": 0, "c": -1})


def test_input_validation():
    f = compile_formula("a + b", FIELDS)
    with pytest.raises(EngineInputError, match="column 'b' is required"):
        f.evaluate_batch({"a": [1]})
    with pytest.raises(EngineInputError, match="same number of rows"):
        f.evaluate_batch({"a": [1, 2], "b": [1]})
    with pytest.raises(EngineInputError) as info:
        f.evaluate({"a": "3", "b": 1}, item_id=5)
    assert (info.value.field, info.value.item_id) == ("a", 5)
    with pytest.raises(EngineInputError):
        f.evaluate_batch({"a": [1], "b": [1]}, errors="ignore")  # type: ignore[arg-type]
    assert list(compile_formula("2 * 3", FIELDS).evaluate_batch({}, ids=[1, 2, 3])) == [6, 6, 6]


def test_input_arrays_are_not_modified_or_aliased():
    a = np.array([1.0, 2.0])
    out = compile_formula("a", FIELDS).evaluate_batch({"a": a})
    out[0] = 99
    assert a[0] == 1.0


# --- batch agrees with scalar, and is fast ---------------------------------------------------------------------------


def test_batch_equals_scalar_on_random_rows():
    rng = random.Random(4)
    f = compile_formula(
        "if(a > b, round(a * c / max(b, 1), 1), min(abs(a - c), sqrt(abs(b)) + log(abs(c) + 1, 10))) - 2 ^ -a",
        FIELDS,
    )
    rows = [{"a": rng.uniform(-5, 5), "b": rng.uniform(-5, 5), "c": rng.uniform(-50, 50)} for _ in range(300)]
    batch = f.evaluate_batch({k: [r[k] for r in rows] for k in "abc"})
    for k, row in enumerate(rows):
        assert batch[k] == f.evaluate(row)


def test_100k_rows_evaluate_quickly():
    rng = np.random.default_rng(0)
    n = 100_000
    f = compile_formula("(reach * impact * confidence / 100) / max(effort, 0.5) + if(cost_of_delay > 1000, 1, 0)",
                        FIELDS)
    columns = {
        "reach": rng.uniform(0, 5000, n),
        "impact": rng.choice([3, 2, 1, 0.5, 0.25], n),
        "confidence": rng.choice([100, 80, 50], n),
        "effort": rng.uniform(0, 10, n),
        "cost_of_delay": rng.uniform(0, 5000, n),
    }
    start = time.perf_counter()
    out = f.evaluate_batch(columns)
    elapsed = time.perf_counter() - start
    assert out.shape == (n,)
    assert elapsed < 0.5, f"took {elapsed:.3f}s"


def test_compiled_formula_survives_pickling():
    import pickle

    f = pickle.loads(pickle.dumps(compile_formula("a / b + sqrt(c)", FIELDS)))  # noqa: S301 - our own bytes
    result = f.evaluate_batch({"a": [1, 1, 1], "b": [1, 0, 1], "c": [1, 1, -1]}, ids=[1, 2, 3], errors="collect")
    assert [(row, err.message) for row, err in result.errors()] == [
        (1, "division by zero"), (2, "sqrt() of a negative number")]
