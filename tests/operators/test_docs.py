"""docs/operators.md and the code agree on argument names: every call written there of a deq-operators class or
function (or an operator method) names parameters that exist, in the right positions."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import deq.operators as ops
from deq.core import operator as protocol

DOC = Path(__file__).resolve().parents[2] / "docs" / "operators.md"
CALL = re.compile(r"([A-Za-z_]\w*)\(((?:[^()]|\([^()]*\))*)\)")
IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def _callables() -> dict[str, object]:
    """Public classes/functions of deq.operators and the protocol, and the public methods of the operators."""
    found: dict[str, object] = {name: getattr(ops, name) for name in ops.__all__}
    found["vstack"] = protocol.vstack
    classes = [obj for obj in found.values() if inspect.isclass(obj)] + [protocol.LinearOperator, protocol.StackedOperator]
    for cls in classes:
        for name, member in vars(cls).items():
            if not name.startswith("_") and inspect.isfunction(member):
                found.setdefault(name, member)
    return found


def _split_args(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    return [p for p in [*parts, current.strip()] if p]


def _documented_calls() -> list[tuple[str, list[str]]]:
    if not DOC.is_file():
        pytest.skip(f"{DOC} is not in this checkout")
    known = _callables()
    return [(m.group(1), _split_args(m.group(2))) for m in CALL.finditer(DOC.read_text()) if m.group(1) in known]


def test_documented_calls_use_the_real_argument_names() -> None:
    known = _callables()
    calls = _documented_calls()
    assert len(calls) > 30  # the parser finds the documented constructors
    problems = []
    for name, args in calls:
        params = list(inspect.signature(known[name]).parameters.values())
        params = [p for p in params if p.name != "self"]
        positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        names = {p.name for p in params}
        for i, arg in enumerate(a for a in args if a not in ("...", "*")):
            keyword = re.match(r"([A-Za-z_]\w*)\s*=", arg)
            if keyword and keyword.group(1) not in names:
                problems.append(f"{name}({', '.join(args)}): no parameter {keyword.group(1)!r}")
            elif not keyword and IDENTIFIER.fullmatch(arg) and (i >= len(positional) or positional[i] != arg):
                expected = positional[i] if i < len(positional) else "no further positional parameter"
                problems.append(f"{name}({', '.join(args)}): argument {i + 1} is {expected!r}, the docs say {arg!r}")
    assert not problems, "\n".join(problems)
