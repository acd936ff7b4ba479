"""Texts of many units stated once: near-duplicate ideas grouped, each with who raised it.

Units write their difficulties, recommendations and plans in their own words, often the same
idea in nearly the same sentence. A report states each idea once with how many units raised
it and a few of their names (docs/domain.md §7). Texts are cut into clauses (sentences,
``;``, bullets), each clause loses the writer's own name ("ở xã Thái Bình" → "ở địa phương"),
and clauses are grouped by fuzzy similarity (rapidfuzz, token-set ratio on normalised text).
Grouping is greedy in a fixed order, so the same input always gives the same groups.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from baocao.text import nfc

SIMILAR = 82  # token-set ratio (0-100) from which two clauses say the same thing
MIN_WORDS = 3  # shorter fragments ("Không", "Đã báo cáo") carry no idea of their own
_SPLIT = re.compile(r"(?:[.;!?]\s+|[.;!?]$|\n+|^\s*[-+•*–]\s*|(?<=\s)[-+•–]\s+)")
_NON_WORD = re.compile(r"[^\w\s]", re.UNICODE)
_SPACES = re.compile(r"\s+")
NOTHING = {"không", "không có", "chưa có", "không có khó khăn", "không có kiến nghị",
           "không có đề xuất", "không có ý kiến", "chưa", "nil", "none", "-", "x"}


@dataclass
class TextGroup:
    """One idea: its wording (the first unit's, own name removed) and who raised it."""

    text: str
    units: list[str] = field(default_factory=list)
    key: str = ""
    wordings: Counter = field(default_factory=Counter)

    @property
    def count(self) -> int:
        return len(self.units)


def _norm(text: str) -> str:
    text = nfc(text).lower()
    return _SPACES.sub(" ", _NON_WORD.sub(" ", text)).strip()


def own_names(name: str) -> list[str]:
    """Ways a unit names itself: 'UBND xã Thái Bình', 'xã Thái Bình' (longest first)."""
    out = [name]
    for prefix in ("UBND ", "Ủy ban nhân dân ", "Đảng ủy ", "Ban Thường vụ "):
        if name.startswith(prefix):
            out.append(name[len(prefix):])
    return sorted({n.strip() for n in out if n.strip()}, key=len, reverse=True)


def neutral(text: str, unit_name: str, local: bool) -> str:
    """``text`` with the writer's own name replaced ('địa phương' / 'đơn vị')."""
    word = "địa phương" if local else "đơn vị"
    for name in own_names(unit_name):
        text = re.sub(re.escape(name), word, text, flags=re.IGNORECASE)
    return text


def clauses(text: str) -> list[str]:
    """Sentences and ';'-separated parts of ``text`` that carry an idea."""
    out = []
    for part in _SPLIT.split(text or ""):
        part = part.strip(" \t,:-–")
        if not part or _norm(part) in NOTHING or len(_norm(part).split()) < MIN_WORDS:
            continue
        out.append(part[0].upper() + part[1:])
    return out


def group_texts(items: Iterable[tuple[str, str, bool]], similar: int = SIMILAR
                ) -> list[TextGroup]:
    """Group ``(unit name, text, unit is local)`` by idea; most-raised first.

    A unit counts once per group however often it repeats the idea; units without text
    (or with 'Không') appear in no group.
    """
    groups: list[TextGroup] = []
    keys: list[str] = []
    for unit, text, local in items:
        for clause in clauses(neutral(text, unit, local)):
            key = _norm(clause)
            hit = process.extractOne(key, keys, scorer=fuzz.token_set_ratio,
                                     score_cutoff=similar) if keys else None
            if hit is None:
                groups.append(TextGroup(clause, [unit], key, Counter([clause])))
                keys.append(key)
                continue
            group = groups[hit[2]]
            group.wordings[clause] += 1
            if unit not in group.units:
                group.units.append(unit)
    for g in groups:  # the wording most units used (first seen on a tie)
        g.text = max(g.wordings, key=lambda w: g.wordings[w])
    order = {id(g): n for n, g in enumerate(groups)}
    return sorted(groups, key=lambda g: (-g.count, order[id(g)]))


def names_list(names: list[str]) -> str:
    """'A', 'A và B', 'A, B và C'."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} và {names[-1]}"


def stated(group: TextGroup, noun: str = "cơ quan, đơn vị", shown: int = 3) -> str:
    """One idea as a sentence of the report: the wording, then who raised it, each unit
    named once: '(A và B nêu)', '(65 cơ quan, đơn vị nêu, trong đó có A, B, C)'."""
    text = group.text.rstrip(" .;,")
    names = list(dict.fromkeys(group.units))
    if len(names) <= shown:
        return f"{text} ({names_list(names)} nêu)."
    return f"{text} ({len(names)} {noun} nêu, trong đó có {', '.join(names[:shown])})."
