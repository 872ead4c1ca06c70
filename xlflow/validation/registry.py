"""The list of domain rules. A rule is a function ``(RuleContext) -> Iterable[Problem]``
that checks one thing; :func:`rule` adds it to :data:`RULES` in definition order."""
from __future__ import annotations

from typing import Callable, Iterable

from xlflow.problems import Problem
from xlflow.validation.context import RuleContext

Rule = Callable[[RuleContext], Iterable[Problem]]

RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    """Register ``fn`` as a domain rule (once, even if its module is re-imported)."""
    if fn.__qualname__ not in {r.__qualname__ for r in RULES if r.__module__ == fn.__module__}:
        RULES.append(fn)
    return fn
