"""What a policy refuses: a document with problems, an unknown region or category."""

from __future__ import annotations

from collections.abc import Iterable


class PolicyError(ValueError):
    """A policy document is invalid; ``problems`` lists every reason found."""

    problems: list[str]

    def __init__(self, problems: str | Iterable[str], *, message: str | None = None) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        if message is None:
            if len(self.problems) == 1:
                message = f"invalid policy: {self.problems[0]}"
            else:
                listed = "\n".join(f"- {problem}" for problem in self.problems)
                message = f"invalid policy ({len(self.problems)} problems):\n{listed}"
        super().__init__(message)


class UnknownRegion(PolicyError):
    """The policy has no rules for this region."""

    def __init__(self, region: str, known: Iterable[str]) -> None:
        self.region = region
        self.known = tuple(sorted(known))
        problem = f"unknown region {region!r}; this policy knows: {', '.join(self.known) or 'none'}"
        super().__init__(problem, message=problem)


class UnknownCategory(PolicyError):
    """The policy has no rules for this category."""

    def __init__(self, category: str, known: Iterable[str]) -> None:
        self.category = category
        self.known = tuple(sorted(known))
        problem = (
            f"unknown category {category!r}; this policy knows: {', '.join(self.known) or 'none'}"
        )
        super().__init__(problem, message=problem)
