"""The reporting programme as data: units, forms, rules, targets, budget and periods.

A programme is a YAML file under ``include/programmes/``. Form definitions shared by all
provinces (dimensions, indicators, sheets, rules) live in ``common.yaml`` and are merged
under the province's own file; a province may add rules of its own. Everything is checked
on load by pydantic, and a broken file is refused with the file and the place named.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from baocao.periods import Period, parse_period
from baocao.text import nfc_deep

UnitKind = Literal["department", "district", "commune", "organisation"]
ValueKind = Literal["count", "money"]
Op = Literal["<=", "<", "==", ">=", ">"]
SHEET_CODES = ("workers", "funds", "communication", "enforcement", "tasks")
TOTAL = "TOTAL"  # reserved row member: the total row of a block with a row dimension
MONEY_UNIT = "triệu đồng"  # every amount of money on the forms is in million VND


class ProgrammeError(ValueError):
    """A programme file that cannot be used; the message names the file and the place."""


# units list id -> (the list, code -> units); the list is held so its id is not reused
_UNIT_INDEX: dict[int, tuple[list, dict[str, list]]] = {}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Document(_Model):
    number: str
    date: date
    issuer: str
    title: str = ""


class Dated(_Model):
    """A validity interval (either end open) for names, recipients and rules that change."""

    valid_from: date | None = None
    valid_to: date | None = None

    def active_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and \
            (self.valid_to is None or day <= self.valid_to)


class MemberName(Dated):
    name: str


class Member(_Model):
    code: str
    name: str
    kind: ValueKind | None = None  # overrides the indicator's kind for this column
    stock: bool = False  # a stock (outstanding loans...) rather than a flow
    unit: str = ""  # unit of measure of this column's counts (overrides the indicator's)
    names: list[MemberName] = Field(default_factory=list)  # effective-dated labels

    def name_on(self, day: date) -> str:
        """The label in force on ``day`` (e.g. a fund source renamed when districts ended)."""
        return next((n.name for n in self.names if n.active_on(day)), self.name)


class Dimension(_Model):
    code: str
    name: str
    members: list[Member]

    def member(self, code: str) -> Member:
        for m in self.members:
            if m.code == code:
                return m
        raise KeyError(code)

    @property
    def codes(self) -> list[str]:
        return [m.code for m in self.members]


class Indicator(_Model):
    """A block of cells on a form sheet: scalar, a list (rows) or a table (rows x cols)."""

    code: str
    name: str
    sheet: str
    kind: ValueKind = "count"
    rows: str | None = None  # dimension code
    cols: str | None = None  # dimension code
    total_row: bool = False  # a form-owned total row (a SUM formula) under the rows
    stock: bool = False
    unit: str = ""  # unit of measure of a count: "người", "hội nghị", "tin, bài", "vụ"...
    # Which reports make the province's figure (one source, nothing counted twice): the sum
    # of the local units' reports, the lead department's register, every unit's own
    # activity, or the units listed in ``primary_units``. Reports and annexes follow it.
    primary: Literal["local", "lead", "all", "units"] = "local"
    primary_units: list[str] = Field(default_factory=list)


class Rule(_Model):
    """A check on a submission, enforced by Great Expectations.

    scope ``rows``: evaluated on each row of ``indicator``'s table; refs are column members.
    scope ``columns``: on each column of the table; refs are row members (``*`` = all rows
    but the total row).
    scope ``submission``: once per submission; refs are ``IND``, ``IND.row`` or
    ``IND.row.col`` with ``*`` as a wildcard for one position.
    ``left`` and ``right`` are summed (an empty list is 0); ``when`` is ``[ref, op, number]``.
    """

    code: str
    severity: Literal["error", "warning"]
    message: str
    scope: Literal["rows", "columns", "submission"]
    indicator: str | None = None
    left: list[str]
    op: Op
    right: list[str] = Field(default_factory=list)
    when: tuple[str, Op, float] | None = None
    sheets: list[str] = Field(default_factory=list)  # filled on load: sheets it reads


class TaskGroup(_Model):
    code: str
    name: str


class Task(_Model):
    code: str = ""
    group: str | None = None
    text: str


class KindDefaults(_Model):
    sheets: list[str] = Field(default_factory=list)
    tasks: list[Task] = Field(default_factory=list)


class Contact(_Model):
    """Whom clerks call or write to about their reports; empty parts are not shown."""

    office: str = ""  # e.g. the department's division that consolidates the reports
    phone: str = ""
    email: str = ""


class Unit(_Model):
    code: str
    name: str
    kind: UnitKind
    valid_from: date
    valid_to: date | None = None
    successors: list[str] = Field(default_factory=list)
    sheets: list[str] | None = None
    tasks: list[Task] | None = None
    emails: list[str] = Field(default_factory=list)
    contact: Contact = Field(default_factory=Contact)  # shown to clerks (lead department)
    note: str = ""

    def active_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    @property
    def key(self) -> str:
        """Unique key across eras: code and validity start."""
        return f"{self.code}@{self.valid_from.isoformat()}"


class PeriodRule(_Model):
    """Month-day strings; cut-off start may be in the previous year (prefix ``-``)."""

    name: str
    deadline: str
    cutoff_start: str
    cutoff_end: str
    grace_days: int = Field(default=10, ge=0, le=90)  # late files still collected after it


class Target(_Model):
    code: str
    name: str
    refs: list[str]
    per_year: dict[int, float]
    comparison: Literal[">="] = ">="


class Growth(_Model):
    refs: list[str]
    min_pct: float
    max_pct: float


class BudgetPart(_Model):
    source: str
    amount: float


class Budget(_Model):
    total: float
    unit: str = "triệu đồng"
    years: str = ""
    parts: list[BudgetPart]


class Recipient(Dated):
    name: str


class YearTransition(_Model):
    """How an annual report counts units that ended during its year (docs/domain.md §3).

    ``add_first_half``: the former units' accepted first-half figures of ``year`` (flows, primary
    sources only) are added to what the current units report, who report from ``from_day``.
    ``whole_year``: the current units report the whole year for their territory; the former
    units' first-half figures are shown for reference and not added (nothing counted twice).
    """

    year: int
    kinds: list[UnitKind] = Field(default_factory=lambda: ["district"])
    rule: Literal["add_first_half", "whole_year"]
    from_day: date | None = None


class Issuer(_Model):
    parent: str = ""
    name: str
    symbol: str
    place: str


class Signatory(_Model):
    authority: str = ""
    position: str
    name: str


class Programme(_Model):
    code: str
    province: str
    channel: Literal["state", "party"] = "state"
    title: str
    documents: list[Document]
    issuer: Issuer
    signatory: Signatory
    recipients: list[str | Recipient]
    reporter: str = ""  # who reports in the opening sentence ("UBND tỉnh"); default by channel
    year_transitions: list[YearTransition] = Field(default_factory=list)
    member_names: dict[str, dict[str, str | list[MemberName]]] = Field(default_factory=dict)
    official_sources: dict[str, Literal["local", "lead", "all", "units"]] = Field(
        default_factory=dict)  # indicator -> its official source (overrides Indicator.primary)
    report_emails: list[str] = Field(default_factory=list)  # where finals are e-mailed
    lead: list[str]
    first_year: int
    last_year: int
    periods: dict[Literal["H", "Y"], PeriodRule]
    task_groups: list[TaskGroup] = Field(default_factory=list)
    kind_defaults: dict[UnitKind, KindDefaults] = Field(default_factory=dict)
    units: list[Unit]
    dimensions: list[Dimension]
    indicators: list[Indicator]
    rules: list[Rule]
    targets: list[Target] = Field(default_factory=list)
    growth: Growth | None = None
    budget: Budget | None = None
    form_version: str
    sources: list[str] = Field(default_factory=list)

    # ----- lookups -------------------------------------------------------------------
    def recipients_on(self, day: date) -> list[str]:
        """The 'Nơi nhận' list in force on ``day`` (abolished bodies left out)."""
        return [r if isinstance(r, str) else r.name for r in self.recipients
                if isinstance(r, str) or r.active_on(day)]

    @property
    def reporting_body(self) -> str:
        """Who reports in the opening sentence ('UBND tỉnh', 'Ban Thường vụ Tỉnh ủy')."""
        return self.reporter or ("Ban Thường vụ Tỉnh ủy" if self.channel == "party"
                                 else "UBND tỉnh")

    def transition(self, year: int) -> YearTransition | None:
        return next((t for t in self.year_transitions if t.year == year), None)

    def dimension(self, code: str) -> Dimension:
        for d in self.dimensions:
            if d.code == code:
                return d
        raise KeyError(code)

    def indicator(self, code: str) -> Indicator:
        for i in self.indicators:
            if i.code == code:
                return i
        raise KeyError(code)

    def sheet_indicators(self, sheet: str) -> list[Indicator]:
        return [i for i in self.indicators if i.sheet == sheet]

    def unit_sheets(self, unit: Unit) -> list[str]:
        if unit.sheets is not None:
            return unit.sheets
        return self.kind_defaults.get(unit.kind, KindDefaults()).sheets

    def unit_tasks(self, unit: Unit) -> list[Task]:
        tasks = unit.tasks if unit.tasks is not None else self.kind_defaults.get(
            unit.kind, KindDefaults()).tasks
        return [t if t.code else t.model_copy(update={"code": f"{unit.code}-{n}"})
                for n, t in enumerate(tasks, 1)]

    def units_by_code(self, code: str) -> list[Unit]:
        hit = _UNIT_INDEX.get(id(self.units))
        if hit is None or hit[0] is not self.units:  # built once per units list
            index: dict[str, list[Unit]] = {}
            for u in self.units:
                index.setdefault(u.code, []).append(u)
            if len(_UNIT_INDEX) > 64:
                _UNIT_INDEX.clear()
            hit = _UNIT_INDEX[id(self.units)] = (self.units, index)
        return list(hit[1].get(code, ()))

    def unit_name(self, code: str) -> str:
        """The unit's latest name; "Đơn vị mã <code>" for a code the programme does not know
        (a file in an unknown unit folder is still answered by name)."""
        found = self.units_by_code(code)
        return max(found, key=lambda u: u.valid_from).name if found else f"Đơn vị mã {code}"

    def unit(self, code: str, on: date | None = None) -> Unit:
        """The unit with ``code`` active on ``on`` (or the only/latest one)."""
        found = self.units_by_code(code)
        if on is not None:
            found = [u for u in found if u.active_on(on)]
        if not found:
            raise KeyError(code)
        return max(found, key=lambda u: u.valid_from)

    def period(self, code: str) -> Period:
        return parse_period(code, self)

    def expected_units(self, period: Period) -> list[Unit]:
        """Units active on the period's deadline that report at least one sheet."""
        return [u for u in self.units
                if u.active_on(period.deadline) and self.unit_sheets(u)]

    def lead_unit(self, on: date) -> Unit:
        for code in self.lead:
            for u in self.units_by_code(code):
                if u.active_on(on):
                    return u
        raise KeyError(f"no lead unit active on {on}")

    def find_lead(self, on: date) -> Unit | None:
        """The lead unit active on ``on``, or None (e.g. a programme that has ended)."""
        try:
            return self.lead_unit(on)
        except KeyError:
            return None

    def is_local(self, unit: Unit) -> bool:
        return unit.kind in ("district", "commune")

    def value_kind(self, ind: Indicator, col: str) -> ValueKind:
        if ind.cols:
            member = self.dimension(ind.cols).member(col)
            if member.kind:
                return member.kind
        return ind.kind

    def unit_of_measure(self, ind: Indicator, col: str = "") -> str:
        """The unit of measure of a cell of ``ind`` in column ``col``: 'triệu đồng' for
        money, else the column's or the indicator's own ('người', 'hội nghị', 'vụ'...)."""
        if ind.cols and col:
            member = self.dimension(ind.cols).member(col)
            if self.value_kind(ind, col) == "money":
                return MONEY_UNIT
            return member.unit or ind.unit
        return MONEY_UNIT if ind.kind == "money" else ind.unit

    def cells(self, ind: Indicator, with_total: bool = True) -> list[tuple[str, str]]:
        """(row member, col member) of every cell of an indicator; '' where no dimension."""
        rows = self.dimension(ind.rows).codes if ind.rows else [""]
        if ind.rows and ind.total_row and with_total:
            rows = [*rows, TOTAL]
        cols = self.dimension(ind.cols).codes if ind.cols else [""]
        return [(r, c) for r in rows for c in cols]

    def successors_on(self, unit: Unit, day: date) -> list[Unit]:
        """The units that carry ``unit``'s data on ``day`` (following chains of successors)."""
        if unit.active_on(day):
            return [unit]
        out: list[Unit] = []
        for code in unit.successors:
            for succ in self.units_by_code(code):
                if unit.valid_to and succ.valid_from > unit.valid_to:
                    out.extend(s for s in self.successors_on(succ, day) if s not in out)
        return out

    # ----- checks ----------------------------------------------------------------------
    @model_validator(mode="after")
    def _check(self) -> Programme:
        problems: list[str] = []
        dims = {d.code: d for d in self.dimensions}
        inds = {i.code: i for i in self.indicators}
        for i, ind in enumerate(self.indicators):
            where = f"indicators[{i}] ({ind.code})"
            if ind.sheet not in SHEET_CODES:
                problems.append(f"{where}: unknown sheet '{ind.sheet}'")
            for axis in (ind.rows, ind.cols):
                if axis and axis not in dims:
                    problems.append(f"{where}: unknown dimension '{axis}'")
            cols = dims[ind.cols].members if ind.cols in dims else []
            unitless = [m.code for m in cols if (m.kind or ind.kind) == "count"
                        and not (m.unit or ind.unit)]
            if unitless or (not cols and ind.kind == "count" and not ind.unit):
                problems.append(f"{where}: no unit of measure (unit: người, vụ...) for "
                                f"{', '.join(unitless) if unitless else 'its counts'}")
        if len(inds) != len(self.indicators):
            problems.append("indicators: duplicate indicator codes")
        codes = {u.code for u in self.units}
        by_code: dict[str, list[Unit]] = {}
        for i, u in enumerate(self.units):
            where = f"units[{i}] ({u.code})"
            by_code.setdefault(u.code, []).append(u)
            if u.valid_to and u.valid_to < u.valid_from:
                problems.append(f"{where}: valid_to {u.valid_to} is before valid_from")
            for s in u.successors:
                if s not in codes:
                    problems.append(f"{where}: successor '{s}' is not a unit of the programme")
            if u.successors and not u.valid_to:
                problems.append(f"{where}: has successors but no valid_to")
            for sheet in self.unit_sheets(u):
                if sheet not in SHEET_CODES:
                    problems.append(f"{where}: unknown sheet '{sheet}'")
            for t in u.tasks or []:
                if t.group and t.group not in {g.code for g in self.task_groups}:
                    problems.append(f"{where}: task group '{t.group}' is not declared")
        for code, group in by_code.items():
            group = sorted(group, key=lambda u: u.valid_from)
            for a, b in zip(group, group[1:], strict=False):
                if a.valid_to is None or a.valid_to >= b.valid_from:
                    problems.append(f"units: code '{code}' has overlapping validity "
                                    f"({a.valid_from}..{a.valid_to or '∞'} and "
                                    f"{b.valid_from}..{b.valid_to or '∞'})")
        for code in self.lead:
            if code not in codes:
                problems.append(f"lead: '{code}' is not a unit of the programme")
        rule_codes: set[str] = set()
        for i, rule in enumerate(self.rules):
            if rule.code in rule_codes:
                problems.append(f"rules[{i}] ({rule.code}): duplicate rule code")
            rule_codes.add(rule.code)
            problems.extend(f"rules[{i}] ({rule.code}): {p}"
                            for p in _rule_problems(rule, inds, dims))
        for i, t in enumerate(self.targets):
            for ref in t.refs:
                p = _ref_problem(ref, inds, dims)
                if p:
                    problems.append(f"targets[{i}] ({t.code}): {p}")
        if self.budget:
            parts = round(sum(p.amount for p in self.budget.parts), 3)
            if abs(parts - self.budget.total) > 0.0005:
                problems.append(f"budget: parts add up to {parts:g}, not the stated total "
                                f"{self.budget.total:g}")
            sources = dims.get("source")
            for i, p in enumerate(self.budget.parts):
                if sources is None or p.source not in sources.codes:
                    problems.append(f"budget.parts[{i}]: unknown fund source '{p.source}'")
        for key in self.periods:
            try:
                parse_period(f"{self.first_year}-{'H1' if key == 'H' else 'Y'}", self)
            except ValueError as exc:
                problems.append(f"periods.{key}: {exc}")
        if problems:
            raise ValueError("\n".join(problems))
        return self


_REF = re.compile(r"^[A-Z0-9_]+(\.[A-Za-z0-9_*]+){0,2}$")


def _ref_problem(ref: str, inds: dict[str, Indicator], dims: dict[str, Dimension]) -> str:
    if not _REF.match(ref):
        return f"malformed reference '{ref}'"
    parts = ref.split(".")
    ind = inds.get(parts[0])
    if ind is None:
        return f"unknown indicator '{parts[0]}' in '{ref}'"
    axes = [a for a in (ind.rows, ind.cols) if a]
    if len(parts) - 1 != len(axes):
        return f"'{ref}' needs {len(axes)} member(s) after the indicator"
    for member, axis in zip(parts[1:], axes, strict=True):
        allowed = set(dims[axis].codes) | {"*"}
        if axis == ind.rows and ind.total_row:
            allowed.add(TOTAL)
        if member not in allowed:
            return f"unknown member '{member}' of dimension '{axis}' in '{ref}'"
    return ""


def _rule_problems(rule: Rule, inds: dict[str, Indicator],
                   dims: dict[str, Dimension]) -> list[str]:
    refs = [*rule.left, *rule.right] + ([rule.when[0]] if rule.when else [])
    if rule.scope == "submission":
        return [p for p in (_ref_problem(r, inds, dims) for r in refs) if p]
    ind = inds.get(rule.indicator or "")
    if ind is None:
        return [f"unknown indicator '{rule.indicator}'"]
    axis = ind.cols if rule.scope == "rows" else ind.rows
    if not axis:
        return [f"indicator '{ind.code}' has no {'columns' if rule.scope == 'rows' else 'rows'}"]
    allowed = set(dims[axis].codes) | {"*"}
    if rule.scope == "columns" and ind.total_row:
        allowed.add(TOTAL)
    return [f"unknown member '{r}' of dimension '{axis}'" for r in refs if r not in allowed]




def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ProgrammeError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(data, dict):
        raise ProgrammeError(f"{path}: the top level must be a mapping")
    return nfc_deep(data)


def load_programme_file(path: Path | str) -> Programme:
    """Load and check one programme file (merged over ``common.yaml`` beside it)."""
    path = Path(path)
    data = _read_yaml(path)
    common_path = path.parent / data.pop("base", "common.yaml")
    if common_path.exists() and common_path != path:
        common = _read_yaml(common_path)
        extra_rules = data.pop("rules", [])
        for key, value in common.items():
            data.setdefault(key, value)
        data["rules"] = [*common.get("rules", []), *extra_rules]
    try:
        prog = Programme.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = _format_loc(err["loc"], data)
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"{path}: {loc}: {msg}" if loc else f"{path}: {msg}")
        raise ProgrammeError("\n".join(lines)) from None
    try:
        prog = _with_overrides(prog)
    except ProgrammeError as exc:
        raise ProgrammeError(f"{path}: {exc}") from None
    return _with_rule_sheets(prog)


def _with_overrides(prog: Programme) -> Programme:
    """Apply the province's own member labels and official sources to the shared forms.

    A plain string replaces a member's label (forms, messages and reports); a list of dated
    names is what reports of each era call it (``Member.name_on``).
    """
    problems = []
    dims = []
    for dim in prog.dimensions:
        over = prog.member_names.get(dim.code, {})
        members = []
        for m in dim.members:
            value = over.get(m.code)
            if isinstance(value, str):
                m = m.model_copy(update={"name": value, "names": []})
            elif value:
                m = m.model_copy(update={"names": value})
            members.append(m)
        unknown = set(over) - {m.code for m in dim.members}
        problems += [f"member_names.{dim.code}: unknown member '{c}'" for c in sorted(unknown)]
        dims.append(dim.model_copy(update={"members": members}))
    problems += [f"member_names: unknown dimension '{d}'" for d in prog.member_names
                 if d not in {x.code for x in prog.dimensions}]
    codes = {i.code for i in prog.indicators}
    problems += [f"official_sources: unknown indicator '{c}'" for c in prog.official_sources
                 if c not in codes]
    if problems:
        raise ProgrammeError("\n".join(problems))
    inds = [i.model_copy(update={"primary": prog.official_sources[i.code]})
            if i.code in prog.official_sources else i for i in prog.indicators]
    return prog.model_copy(update={"dimensions": dims, "indicators": inds})


def _format_loc(loc: tuple[Any, ...], data: dict[str, Any]) -> str:
    out, node = "", data
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            try:
                node = node[part]
                if isinstance(node, dict) and "code" in node:
                    out += f" ({node['code']})"
            except (IndexError, KeyError, TypeError):
                node = None
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out


def _with_rule_sheets(prog: Programme) -> Programme:
    rules = []
    for rule in prog.rules:
        if rule.scope == "submission":
            refs = [*rule.left, *rule.right] + ([rule.when[0]] if rule.when else [])
            sheets = sorted({prog.indicator(r.split(".")[0]).sheet for r in refs})
        else:
            sheets = [prog.indicator(rule.indicator or "").sheet]
        rules.append(rule.model_copy(update={"sheets": sheets}))
    return prog.model_copy(update={"rules": rules})


def programmes_dir() -> Path:
    from baocao.config import settings

    return settings().programmes_dir


@lru_cache(maxsize=32)
def _load_cached(path: str, mtime: float) -> Programme:
    return load_programme_file(path)


def load_programme(code: str, directory: Path | None = None) -> Programme:
    """Load the programme ``code`` (file ``<code>.yaml``) from the programmes folder."""
    directory = directory or programmes_dir()
    path = directory / f"{code}.yaml"
    if not path.exists():
        known = ", ".join(p.stem for p in list_programme_files(directory))
        raise ProgrammeError(f"no programme '{code}' in {directory} (known: {known})")
    return _load_cached(str(path), path.stat().st_mtime)


def list_programme_files(directory: Path | None = None) -> list[Path]:
    directory = directory or programmes_dir()
    return sorted(p for p in directory.glob("*.yaml") if not p.name.startswith(("common", "_")))
