"""All domain rules, in a fixed order, and the function that runs them.

Each rule lives in one of the ``rules_*`` modules (people, load, dates,
programme) and checks one thing; importing this module registers them all."""
from __future__ import annotations

from xlflow.problems import Problem
from xlflow.validation import rules_dates, rules_load, rules_people, rules_programme
from xlflow.validation.context import RuleContext
from xlflow.validation.registry import RULES

# Importing these modules registers their rules (in this order of modules).
RULE_MODULES = (rules_dates, rules_load, rules_people, rules_programme)


def run_rules(ctx: RuleContext) -> list[Problem]:
    """Problems found by every domain rule, in rule order."""
    problems: list[Problem] = []
    for check in RULES:
        problems.extend(check(ctx))
    return problems


def rule_names() -> list[str]:
    return [r.__name__ for r in RULES]
