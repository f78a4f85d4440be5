"""The arithmetic that `transform expressions` accepts: parsed with `ast`, checked, evaluated.

A config is data, not code: only numbers, columns, arithmetic operators and a few
numpy functions pass the check, and the checked tree is evaluated node by node, never
by eval/exec.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from mlconf.core.errors import MlconfError, did_you_mean

_BINARY_OPS: dict[type[ast.operator], Callable[..., Any]] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.true_divide,
    ast.FloorDiv: np.floor_divide,
    ast.Mod: np.mod,
    ast.Pow: np.power,
}
_UNARY_OPS: dict[type[ast.unaryop], Callable[..., Any]] = {
    ast.USub: np.negative,
    ast.UAdd: np.positive,
}
# name -> (numpy function, its arguments as shown to users)
_FUNCTIONS: dict[str, tuple[Callable[..., Any], tuple[str, ...]]] = {
    "abs": (np.abs, ("x",)),
    "log": (np.log, ("x",)),
    "log1p": (np.log1p, ("x",)),
    "exp": (np.exp, ("x",)),
    "sqrt": (np.sqrt, ("x",)),
    "clip": (np.clip, ("x", "lo", "hi")),
    "minimum": (np.minimum, ("a", "b")),
    "maximum": (np.maximum, ("a", "b")),
}
_COLUMN_FUNCTION = "col"
_EXPRESSION_FIX = (
    "use numbers, column names, + - * / // % ** and "
    + ", ".join(f"{name}({', '.join(args)})" for name, (_, args) in _FUNCTIONS.items())
    + '; for a column name that is not an identifier write col("my column") or `my column`'
)
_NODE_NAMES: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.Compare: "comparison",
    ast.BoolOp: "and/or",
    ast.Lambda: "lambda",
    ast.IfExp: "if/else",
    ast.NamedExpr: "assignment (:=)",
}


def expression_error(name: str, text: str, problem: str) -> MlconfError:
    return MlconfError(
        f"expression {name!r} = {text!r}: {problem}",
        where="transform expressions",
        fix=_EXPRESSION_FIX,
    )


def parse_expression(name: str, text: object) -> ast.Expression:
    """Parse one expression and check it uses only arithmetic on columns and numbers.

    Raises MlconfError naming the expression and the offending token; the tree is then
    evaluated by `evaluate`, never by eval/exec.
    """
    if not isinstance(text, str) or not text.strip():
        raise expression_error(name, str(text), "an expression must be non-empty text")
    # `name with spaces` is pandas.eval's spelling of col("name with spaces")
    source = re.sub(r"`([^`]*)`", _backticks_to_col, text.strip())
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        rest = (exc.text or source)[(exc.offset or 0) - 1 :].split() if exc.offset else []
        where = repr(rest[0]) if rest else "the end"
        raise expression_error(name, text, f"syntax error ({exc.msg}) at {where}") from None
    _check_node(tree.body, name, text, source)
    return tree


def _backticks_to_col(match: re.Match[str]) -> str:
    return f"{_COLUMN_FUNCTION}({match.group(1)!r})"


def _check_node(node: ast.AST, name: str, text: str, source: str) -> None:
    """Reject every node that is not a number, column, operator or allowed function call."""
    token = ast.get_source_segment(source, node) or type(node).__name__
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise expression_error(name, text, f"{token!r} is not allowed (only numbers)")
    elif isinstance(node, ast.Name):
        return
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY_OPS:
            raise expression_error(name, text, f"operator in {token!r} is not allowed")
        _check_node(node.left, name, text, source)
        _check_node(node.right, name, text, source)
    elif isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY_OPS:
            raise expression_error(name, text, f"operator in {token!r} is not allowed")
        _check_node(node.operand, name, text, source)
    elif isinstance(node, ast.Call):
        _check_call(node, name, text, source, token)
    else:
        what = _NODE_NAMES.get(type(node), type(node).__name__)
        raise expression_error(name, text, f"{token!r} is not allowed ({what})")


def _check_call(node: ast.Call, name: str, text: str, source: str, token: str) -> None:
    func = node.func.id if isinstance(node.func, ast.Name) else None
    if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
        raise expression_error(name, text, f"{token!r}: only plain positional arguments")
    if func == _COLUMN_FUNCTION:
        arg = node.args[0] if len(node.args) == 1 else None
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            raise expression_error(name, text, f'{token!r}: write col("column name")')
        return
    if func not in _FUNCTIONS:
        shown = func or ast.get_source_segment(source, node.func) or "call"
        raise expression_error(
            name,
            text,
            f"function {shown!r} is not allowed.{did_you_mean(shown, _FUNCTIONS)}",
        )
    arity = len(_FUNCTIONS[func][1])
    if len(node.args) != arity:
        raise expression_error(
            name, text, f"{token!r}: {func} takes {arity} argument(s), got {len(node.args)}"
        )
    for arg in node.args:
        _check_node(arg, name, text, source)


def _column_name(node: ast.AST) -> str | None:
    """The column a node refers to (a bare name or col("...")), else None."""
    if isinstance(node, ast.Name):
        return node.id
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == _COLUMN_FUNCTION
    ):
        arg = node.args[0]
        if not isinstance(arg, ast.Constant):
            raise RuntimeError("internal error: expected isinstance(arg, ast.Constant)")
        return str(arg.value)
    return None


def referenced_columns(tree: ast.Expression) -> list[str]:
    """Columns an expression reads, in order of first use."""
    found: dict[str, None] = {}
    for node in ast.walk(tree):
        column = _column_name(node)
        if column is not None and not (
            isinstance(node, ast.Name) and _is_function_position(tree, node)
        ):
            found.setdefault(column, None)
    return list(found)


def _is_function_position(tree: ast.Expression, name: ast.Name) -> bool:
    return any(isinstance(n, ast.Call) and n.func is name for n in ast.walk(tree))


def evaluate(node: ast.AST, values: Mapping[str, np.ndarray]) -> Any:
    """Evaluate a checked tree over float arrays (numpy semantics: x/0 is inf, 0/0 NaN)."""
    column = _column_name(node)
    if column is not None:
        return values[column]
    if isinstance(node, ast.Constant):
        if not isinstance(node.value, (int, float)):
            raise RuntimeError("internal error: expected isinstance(node.value, (int, float))")
        return np.float64(node.value)
    if isinstance(node, ast.BinOp):
        op = _BINARY_OPS[type(node.op)]
        return op(evaluate(node.left, values), evaluate(node.right, values))
    if isinstance(node, ast.UnaryOp):
        return _UNARY_OPS[type(node.op)](evaluate(node.operand, values))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        func = _FUNCTIONS[node.func.id][0]
        return func(*(evaluate(arg, values) for arg in node.args))
    raise AssertionError(f"unchecked node {type(node).__name__}")  # parse_expression guards
