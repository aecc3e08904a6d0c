"""The account combination pattern (`{company}.{cost_center}.{account}`) and its segment rules.

Accounts in mapping files are checked against these rules when the file is loaded, so a typo
(`4O100`) fails at startup with its line number instead of as an Oracle import error hours later.

The rules (`[chart.segments]` and `balance_sheet_accounts`) come from a configuration file, so
they are compiled with RE2 (the `google-re2` package), whose matching time is linear in the text:
a rule such as `^(\\d+)+$` cannot backtrack for seconds on a 30-character cell. RE2 has no
look-around and no back-references; such a rule, an invalid one, or one longer than
`MAX_RULE_LENGTH` is refused with the segment it was written for.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Protocol

import re2  # type: ignore[import-untyped]

from ml_connector.domain.accounts import AccountCombination

REQUIRED_SEGMENTS = ("company", "cost_center", "account")
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_DIGITS = re.compile(r"^\^\\d\{(\d+)\}\$$")


MAX_RULE_LENGTH = 500
_MAX_VERDICTS = 50_000
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # the error comes back as an exception we word ourselves


class Rule(Protocol):
    """A compiled segment rule: what `Chart` needs of it (RE2's compiled pattern has both)."""

    @property
    def pattern(self) -> str: ...

    def search(self, text: str) -> object | None: ...


def compile_rule(pattern: str, what: str) -> Rule:
    """Compile a configuration regex with RE2 (linear time); ValueError naming `what` if it is
    too long, invalid, or uses what only a backtracking engine offers."""
    if len(pattern) > MAX_RULE_LENGTH:
        raise ValueError(
            f"{what}: the rule is {len(pattern):,} characters long (at most {MAX_RULE_LENGTH})"
        )
    try:
        compiled: Rule = re2.compile(pattern, _RE2_OPTIONS)
    except (re2.error, UnicodeError, TypeError, ValueError) as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "backslashreplace")
        raise ValueError(
            f"{what}: {pattern!r} is not a regular expression this product accepts ({reason}; "
            "RE2 syntax: no look-around, no back-references)"
        ) from None
    return compiled


def describe_pattern(pattern: str) -> str:
    """A human reading of a segment rule: `^\\d{5}$` → `5 digits`."""
    match = _DIGITS.match(pattern)
    if match:
        return f"{match.group(1)} digits"
    return f"matching {pattern}"


def segment_label(name: str) -> str:
    """`cost_center` → `Cost center`, as error messages name segments."""
    return name.replace("_", " ").capitalize()


@dataclass(frozen=True)
class Chart:
    """Segment order, delimiter, per-segment regex and fixed values (company and extras)."""

    names: tuple[str, ...]
    delimiter: str
    rules: dict[str, Rule]
    fixed: dict[str, str]
    balance_sheet: Rule
    # (segment, value) → problem: a catalog repeats a few accounts on thousands of rows.
    _verdicts: dict[tuple[str, str], str | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def from_pattern(
        cls,
        pattern: str,
        rules: dict[str, str],
        fixed: dict[str, str],
        balance_sheet_accounts: str,
    ) -> Chart:
        names = tuple(_PLACEHOLDER.findall(pattern))
        literals = _PLACEHOLDER.split(pattern)[::2]
        problems: list[str] = []
        if len(set(names)) != len(names):
            problems.append(f"pattern {pattern!r} repeats a segment")
        missing = [n for n in REQUIRED_SEGMENTS if n not in names]
        if missing:
            problems.append(f"pattern {pattern!r} lacks segment(s) {', '.join(missing)}")
        inner = set(literals[1:-1])
        if literals[0] or literals[-1] or len(inner) != 1 or "" in inner:
            problems.append(f"pattern {pattern!r} must join segments with one delimiter, e.g. '.'")
        unknown = sorted(set(rules) - set(names))
        if unknown:
            problems.append(f"rules for segments not in the pattern: {', '.join(unknown)}")
        for name in names:
            if name not in ("cost_center", "account") and name not in fixed:
                problems.append(f'segment {name!r} needs a fixed value (e.g. company = "101")')
        if problems:
            raise ValueError("; ".join(problems))
        compiled = {
            name: compile_rule(rules.get(name, r"^.+$"), f"segments.{name}") for name in names
        }
        chart = cls(
            names=names,
            delimiter=inner.pop(),
            rules=compiled,
            fixed=dict(fixed),
            balance_sheet=compile_rule(balance_sheet_accounts, "balance_sheet_accounts"),
        )
        for name, value in fixed.items():
            problem = chart.problem(name, value)
            if problem:
                raise ValueError(problem)
        return chart

    def problem(self, segment: str, value: str) -> str | None:
        """Why `value` is not a valid value of `segment`, or None when it is."""
        key = (segment, value)
        try:
            return self._verdicts[key]
        except KeyError:
            pass
        verdict = self._problem(segment, value)
        if len(self._verdicts) < _MAX_VERDICTS:
            self._verdicts[key] = verdict
        return verdict

    def _problem(self, segment: str, value: str) -> str | None:
        rule = self.rules.get(segment)
        if rule is None:
            return f"unknown segment {segment!r}"
        try:
            found = rule.search(value)
        except UnicodeError:
            return f"{value!r} is not valid text"
        if not found:
            return (
                f"{value!r} is not a valid {segment_label(segment)} value "
                f"(expected {describe_pattern(rule.pattern)})"
            )
        return None

    def fingerprint(self) -> str:
        """A digest of everything a value is checked against: a catalog validated against one
        chart is reused only with a chart of the same fingerprint."""
        described = {
            "names": self.names,
            "delimiter": self.delimiter,
            "rules": {name: rule.pattern for name, rule in sorted(self.rules.items())},
            "fixed": sorted(self.fixed.items()),
            "balance_sheet": self.balance_sheet.pattern,
        }
        return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()

    def is_balance_sheet(self, account: str) -> bool:
        """Balance-sheet accounts take the balance-sheet cost center and are netted in journals."""
        return bool(self.balance_sheet.search(account))

    def combination(self, account: str, cost_center: str) -> AccountCombination:
        """Build a combination, re-checking each segment (a bug must not reach Oracle)."""
        values = {**self.fixed, "account": account, "cost_center": cost_center}
        for name in self.names:
            problem = self.problem(name, values[name])
            if problem:
                raise ValueError(problem)
        return AccountCombination(
            tuple((name, values[name]) for name in self.names), delimiter=self.delimiter
        )
