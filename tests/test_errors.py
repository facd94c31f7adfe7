"""Every problem code names one error class, and every code a pure decision can refuse with has
its class loaded once the application is: ``app.errors.error_for`` finds it by code."""

from __future__ import annotations

import ast
import pathlib

import app.cli  # noqa: F401  (every command and, through them, every domain)
import app.main  # noqa: F401  (every router, service and error module)
from app.errors import _ERRORS_BY_CODE, AppError, error_for
from app.rules.refusals import Refusal

APP = pathlib.Path(__file__).resolve().parent.parent / "app"


def _error_classes(cls: type[AppError]):
    for sub in cls.__subclasses__():
        yield sub
        yield from _error_classes(sub)


def _refusal_codes() -> set[str]:
    """The code of every ``Refusal("CODE", …)`` written anywhere in the application."""
    codes = set()
    for path in APP.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "Refusal"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                codes.add(node.args[0].value)
    return codes


def test_codes_are_unique():
    classes = list(_error_classes(AppError))
    codes = [cls.code for cls in classes]
    assert len(codes) == len(set(codes)), sorted(c for c in codes if codes.count(c) > 1)
    assert len(_ERRORS_BY_CODE) == len(classes)


def test_every_refusal_code_has_its_error():
    codes = _refusal_codes()
    assert len(codes) > 30  # the scan found the decisions' refusals
    missing = sorted(code for code in codes if code not in _ERRORS_BY_CODE)
    assert missing == []


def test_a_refusal_becomes_its_error_with_its_message_and_extras():
    error = error_for(Refusal("IDEMPOTENCY_KEY_REUSED", "换个键", (("key", "k1"),)))
    assert type(error).__name__ == "IdempotencyKeyReused"
    assert error.problem()["detail"] == "换个键" and error.problem()["key"] == "k1"
    assert error.problem()["status"] == 422
