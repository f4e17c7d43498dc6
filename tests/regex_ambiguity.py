"""Whether a regular expression can make a backtracking engine take more than linear time.

Python's `re` backtracks: when two ways of matching the same character are open (a
`[^@]+` that may also take the `.` a following `\\.` wants), a failing match tries
every split, and a long cell costs quadratic time or worse. A pattern whose Glushkov
automaton is deterministic (one-unambiguous, Brüggemann-Klein & Wood 1998) never has
two such ways: at each character at most one position of the pattern can take it, so
every wrong turn dies on the next character and a match is linear in the input.

`ambiguities(pattern)` builds that automaton from the parsed pattern (literals,
classes, groups, alternation, repeats; anchors read as empty) and returns, for every
state with two positions that accept a common character, a sentence naming them. No
timing, so the answer is the same on any machine.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from re import _constants as c
from re import _parser as parser

Predicate = Callable[[str], bool]
_CATEGORIES: dict[object, Predicate] = {
    c.CATEGORY_DIGIT: str.isdigit,
    c.CATEGORY_NOT_DIGIT: lambda ch: not ch.isdigit(),
    c.CATEGORY_SPACE: str.isspace,
    c.CATEGORY_NOT_SPACE: lambda ch: not ch.isspace(),
    c.CATEGORY_WORD: lambda ch: ch.isalnum() or ch == "_",
    c.CATEGORY_NOT_WORD: lambda ch: not (ch.isalnum() or ch == "_"),
}
# Characters every class is tried on, besides those the pattern names.
_SAMPLES = "aZz09 \t\n_é€£$R\u00a0.,;@-+:/\\x\x00"


@dataclass
class _Automaton:
    accepts: list[tuple[str, Predicate]] = field(default_factory=list)  # per position
    # Per position, the positions that may take the next character, and by how many
    # ways: two ways to the same position are two paths a backtracking engine tries.
    follow: dict[int, Counter[int]] = field(default_factory=dict)
    alphabet: set[str] = field(default_factory=set)

    def position(self, label: str, accepts: Predicate) -> int:
        self.accepts.append((label, accepts))
        self.follow[len(self.accepts) - 1] = Counter()
        return len(self.accepts) - 1


@dataclass(frozen=True)
class _Part:
    nullable: bool
    first: frozenset[int]
    last: frozenset[int]


_EMPTY = _Part(True, frozenset(), frozenset())


def _class(items: list[tuple[object, object]], automaton: _Automaton) -> Predicate:
    negate = False
    tests: list[Predicate] = []
    for op, value in items:
        if op is c.NEGATE:
            negate = True
        elif op is c.LITERAL:
            automaton.alphabet.add(chr(value))
            tests.append(lambda ch, v=value: ord(ch) == v)
        elif op is c.RANGE:
            low, high = value
            automaton.alphabet |= {chr(low), chr(high), chr(max(low - 1, 0)), chr(high + 1)}
            tests.append(lambda ch, lo=low, hi=high: lo <= ord(ch) <= hi)
        elif op is c.CATEGORY:
            tests.append(_CATEGORIES[value])
        else:
            raise NotImplementedError(f"class item {op}")
    if negate:
        return lambda ch: not any(test(ch) for test in tests)
    return lambda ch: any(test(ch) for test in tests)


def _sequence(parts: list[_Part], automaton: _Automaton) -> _Part:
    nullable, first, last = True, set(), set()
    for part in parts:
        for p in last:
            automaton.follow[p].update(part.first)
        if nullable:
            first |= part.first
        last = (last | part.last) if part.nullable else set(part.last)
        nullable = nullable and part.nullable
    return _Part(nullable, frozenset(first), frozenset(last))


def _build(items: parser.SubPattern | list, automaton: _Automaton) -> _Part:
    parts = []
    for op, value in items:
        if op is c.LITERAL:
            automaton.alphabet.add(chr(value))
            p = automaton.position(repr(chr(value)), lambda ch, v=value: ord(ch) == v)
            parts.append(_Part(False, frozenset({p}), frozenset({p})))
        elif op is c.NOT_LITERAL:
            automaton.alphabet.add(chr(value))
            p = automaton.position(f"[^{chr(value)}]", lambda ch, v=value: ord(ch) != v)
            parts.append(_Part(False, frozenset({p}), frozenset({p})))
        elif op is c.ANY:
            p = automaton.position(".", lambda ch: ch != "\n")
            parts.append(_Part(False, frozenset({p}), frozenset({p})))
        elif op is c.IN:
            p = automaton.position(f"class {value!r}", _class(value, automaton))
            parts.append(_Part(False, frozenset({p}), frozenset({p})))
        elif op is c.AT:
            parts.append(_EMPTY)
        elif op is c.SUBPATTERN:
            parts.append(_build(value[-1], automaton))
        elif op is c.BRANCH:
            alternatives = [_build(alternative, automaton) for alternative in value[1]]
            parts.append(
                _Part(
                    any(a.nullable for a in alternatives),
                    frozenset().union(*(a.first for a in alternatives)),
                    frozenset().union(*(a.last for a in alternatives)),
                )
            )
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
            low, high, body = value
            copies = [_build(body, automaton) for _ in range(low)]
            if high is c.MAXREPEAT:
                loop = _build(body, automaton)
                for p in loop.last:
                    automaton.follow[p].update(loop.first)
                copies.append(_Part(True, loop.first, loop.last))
            else:
                # a{0,3} is (a(a(a)?)?)?: each optional copy only after the one before it.
                optional = _EMPTY
                for _ in range(high - low):
                    inner = _build(body, automaton)
                    optional = _sequence([inner, optional], automaton)
                    optional = _Part(True, optional.first, optional.last)
                copies.append(optional)
            parts.append(_sequence(copies, automaton))
        else:
            raise NotImplementedError(f"regex operator {op}")
    return _sequence(parts, automaton)


def ambiguities(pattern: str | re.Pattern[str]) -> list[str]:
    """Every choice the pattern leaves open between two positions on one character."""
    source = pattern.pattern if isinstance(pattern, re.Pattern) else pattern
    automaton = _Automaton()
    root = _build(parser.parse(source), automaton)
    alphabet = automaton.alphabet | set(_SAMPLES)
    states = [("the start", Counter(root.first))] + [
        (f"after {automaton.accepts[p][0]} (position {p})", targets)
        for p, targets in automaton.follow.items()
    ]
    found = [
        f"{state}: {automaton.accepts[target][0]} is reached {ways} ways"
        for state, targets in states
        for target, ways in targets.items()
        if ways > 1
    ]
    for state, targets in states:
        ordered = sorted(targets)
        for i, one in enumerate(ordered):
            for other in ordered[i + 1 :]:
                shared = [
                    ch
                    for ch in sorted(alphabet)
                    if automaton.accepts[one][1](ch) and automaton.accepts[other][1](ch)
                ]
                if shared:
                    found.append(
                        f"{state}: {automaton.accepts[one][0]} and {automaton.accepts[other][0]} "
                        f"both take {shared[0]!r}"
                    )
    return found
