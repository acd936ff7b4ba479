"""Content validation with Great Expectations, built from the programme's rules.

Each rule becomes one expectation on a frame with computed ``c<n>_l``/``c<n>_r`` (and
``c<n>_w`` for a condition) columns: the rows or columns of one table (scope ``rows`` /
``columns``), or one row per submission (scope ``submission``). Its meta carries the rule
code, severity and Vietnamese message. A GX run costs ~90 ms whatever the frame's size, so a
whole batch of submissions is validated in one run per rule group: rows of all files are
stacked, and the ``row_no`` of each failing row leads back to its file and cell.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

from baocao.parsing import ParsedSubmission, Problem
from baocao.programme import TOTAL, Programme, Rule
from baocao.vn_numbers import format_vn_number

log = logging.getLogger(__name__)
Values = dict[tuple[str, str, str], float]


@dataclass
class ValidationSummary:
    rules_run: int = 0
    rules_failed: int = 0
    failed_rules: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"rules_run": self.rules_run, "rules_passed": self.rules_run - self.rules_failed,
                "rules_failed": self.rules_failed, "failed_rules": self.failed_rules}


def _sides(rule: Rule) -> list[tuple[str, list[str]]]:
    """The referenced sides of a rule: left, right and (if any) the condition."""
    sides = [("l", rule.left), ("r", rule.right)]
    return sides + [("w", [rule.when[0]])] if rule.when else sides


def _frame_key(rule: Rule) -> str:
    return "submission" if rule.scope == "submission" else f"{rule.scope}.{rule.indicator}"


def _matches(ref: str, key: tuple[str, str, str]) -> bool:
    """Whether a reference (``*`` = any member but the total row) names ``key``."""
    parts = ref.split(".")
    if parts[0] != key[0]:
        return False
    return all(w == g or (w == "*" and g != TOTAL)
               for w, g in zip(parts[1:], key[1:], strict=False))


_SHOWN_OPS = {"<=": "≤", ">=": "≥", "==": "="}


def _describe(rule: Rule) -> str:
    """What the expectation checks, for the Data Docs (instead of ``c3_l``/``c3_r``)."""
    where = {"rows": f"each row of {rule.indicator}", "columns":
             f"each column of {rule.indicator}", "submission": "each submission"}[rule.scope]
    right = " + ".join(rule.right) or "0"
    if rule.scope == "columns" and rule.right == ["*"]:
        right = "sum of the rows"
    op = _SHOWN_OPS.get(rule.op, rule.op)  # GX puts it into the page unescaped; "< " is text
    text = f"{rule.code} ({rule.severity}), {where}: {' + '.join(rule.left)} {op} {right}"
    return text + (f" when {rule.when[0]} {_SHOWN_OPS.get(rule.when[1], rule.when[1])} "
                   f"{rule.when[2]:g}" if rule.when else "")


def _fmt(v: Any) -> str:
    if v is None or v != v:
        return ""
    return format_vn_number(float(v), 3).rstrip("0").rstrip(",")


@dataclass
class _Line:
    """One frame row: which submission, which table line (row/column member)."""

    sub_no: int
    label: str


class Validator:
    """Great Expectations suites for one programme; one instance (one context) per task run.

    The GX context is built on first use, so a run with nothing to validate never imports
    GX (~3 s). With ``data_docs_dir``, ``build_data_docs`` renders every validation of this
    instance (all chunks of a run) as GX Data Docs there; older pages are removed.
    """

    def __init__(self, prog: Programme, data_docs_dir: str | os.PathLike | None = None) -> None:
        self.prog = prog
        self._data_docs_dir = os.fspath(data_docs_dir) if data_docs_dir else None
        self._groups: dict[str, list[tuple[int, Rule]]] = {}
        for n, rule in enumerate(prog.rules):
            self._groups.setdefault(_frame_key(rule), []).append((n, rule))
        self._context: Any = None
        self._definitions: dict[str, Any] = {}
        self.last_results: list[Any] = []
        self.runs = 0  # GX validations since this instance was made

    @property
    def context(self) -> Any:
        """The ephemeral GX context with one suite and validation definition per group."""
        if self._context is None:
            self._context = self._build_context()
        return self._context

    def _build_context(self) -> Any:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
        import great_expectations as gx

        self._gx = gx
        context = gx.get_context(mode="ephemeral")
        # "Calculating Metrics" progress bars would go to stderr (the task log) on every run
        context.variables.progress_bars = {"globally": False, "metric_calculations": False}
        if self._data_docs_dir:
            context.add_data_docs_site("baocao", {
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                                  "base_directory": self._data_docs_dir},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"}})
        source = context.data_sources.add_pandas(f"{self.prog.code}-submissions")
        for key, rules in self._groups.items():
            batch = source.add_dataframe_asset(key).add_batch_definition_whole_dataframe(key)
            suite = context.suites.add(gx.ExpectationSuite(name=f"{self.prog.code}.{key}"))
            for n, rule in rules:
                suite.add_expectation(self._expectation(n, rule))
            self._definitions[key] = context.validation_definitions.add(
                gx.ValidationDefinition(name=f"{self.prog.code}.{key}", data=batch,
                                        suite=suite))
        return context

    def _definition(self, key: str) -> Any:
        """The validation definition of a rule group (builds the context on first use)."""
        _ = self.context
        return self._definitions[key]

    def _expectation(self, n: int, rule: Rule):
        gxe = self._gx.expectations
        meta = {"rule": rule.code, "severity": rule.severity, "message": rule.message, "n": n}
        left, right = f"c{n}_l", f"c{n}_r"
        kwargs: dict[str, Any] = {"meta": meta, "ignore_row_if": "either_value_is_missing",
                                  "description": _describe(rule)}
        if rule.when:
            kwargs.update(row_condition=f"c{n}_w {rule.when[1]} {rule.when[2]}",
                          condition_parser="pandas")
        if rule.op == "==":
            return gxe.ExpectColumnPairValuesToBeEqual(column_A=left, column_B=right, **kwargs)
        a, b = (right, left) if rule.op in ("<=", "<") else (left, right)
        return gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=a, column_B=b, or_equal=rule.op in ("<=", ">="), **kwargs)

    # ----- frames ----------------------------------------------------------------------
    def _applicable(self, rules: list[tuple[int, Rule]], sheets: set[str]):
        return [(n, r) for n, r in rules if set(r.sheets) <= sheets]

    def _lines(self, key: str, rules: list[tuple[int, Rule]], values: Values):
        """(label, {column: value}) for each frame row this submission contributes."""
        if key == "submission":
            by_ind: dict[str, list[tuple[str, str, str]]] = {}
            for k in values:
                by_ind.setdefault(k[0], []).append(k)
            return [("", {f"c{n}_{s}": self._sum_refs(refs, values, by_ind)
                          for n, r in rules for s, refs in _sides(r)})]
        rows_scope = key.startswith("rows")
        ind = self.prog.indicator(rules[0][1].indicator or "")
        cells = self.prog.cells(ind)
        rows = list(dict.fromkeys(r for r, _ in cells))
        cols = list(dict.fromkeys(c for _, c in cells))
        lines, others = (rows, cols) if rows_scope else (cols, rows)
        out = []
        for line in lines:
            record: dict[str, float | None] = {}
            for n, rule in rules:
                for s, refs in _sides(rule):
                    members = [o for o in others if o != TOTAL] if "*" in refs else refs
                    parts = [values.get((ind.code, line, m) if rows_scope
                                        else (ind.code, m, line)) for m in members]
                    record[f"c{n}_{s}"] = None if None in parts else round(sum(parts), 3)
            out.append((line, record))
        return out

    @staticmethod
    def _sum_refs(refs: list[str], values: Values,
                  by_ind: dict[str, list[tuple[str, str, str]]] | None = None) -> float | None:
        """Sum of submission-scope references; None if one matches no value."""
        total = 0.0
        for ref in refs:
            pool = values if by_ind is None else by_ind.get(ref.split(".", 1)[0], ())
            keys = [k for k in pool if _matches(ref, k)]
            if not keys:
                return None
            total += sum(values[k] for k in keys)
        return round(total, 3)

    def frame_lines(self, sub: ParsedSubmission, sheets: list[str]
                    ) -> dict[str, list[tuple[str, dict[str, float | None]]]]:
        """The frame rows a submission contributes to each rule group's validation (by
        group key): what ``validate_many`` stacks. Computed by the reader processes of the
        intake (``sub.derived``), so that the main process only runs GX."""
        values = {(v.indicator, v.row, v.col): v.value for v in sub.values}
        out = {}
        for key, group in self._groups.items():
            rules = self._applicable(group, set(sheets))
            if rules:
                out[key] = self._lines(key, rules, values)
        return out

    def _framed(self, sub: ParsedSubmission, sheets: list[str]):
        """The submission's frame rows: those its reader derived for these sheets, else
        computed here."""
        derived = sub.derived.get("frame_lines")
        if derived is not None and sub.derived.get("frame_sheets") == list(sheets):
            return derived
        return self.frame_lines(sub, sheets)

    # ----- run -------------------------------------------------------------------------
    def validate(self, sub: ParsedSubmission, sheets: list[str]) -> ValidationSummary:
        """Validate one submission (see ``validate_many``)."""
        return self.validate_many([(sub, sheets)])[0]

    def validate_many(self, items: list[tuple[ParsedSubmission, list[str]]]
                      ) -> list[ValidationSummary]:
        """Run every applicable rule on every submission, one GX run per rule group.

        Problems are appended to each submission; the summaries count rules per file.
        """
        import pandas as pd

        summaries = [ValidationSummary() for _ in items]
        failed: list[set[str]] = [set() for _ in items]
        framed = [self._framed(sub, sheets) for sub, sheets in items]
        self.last_results = []
        for key, group in self._groups.items():
            records, lines = [], []
            for i, (_sub, sheets) in enumerate(items):
                rules = self._applicable(group, set(sheets))
                summaries[i].rules_run += len(rules)
                if not rules:
                    continue
                for label, record in framed[i].get(key, ()):
                    records.append(record)
                    lines.append(_Line(i, label))
            if not records:
                continue
            columns = [f"c{n}_{s}" for n, r in group for s, _ in _sides(r)]
            frame = pd.DataFrame.from_records(records, columns=columns).astype("float64")
            frame.insert(0, "row_no", range(len(frame)))
            result = self._definition(key).run(
                batch_parameters={"dataframe": frame},
                result_format={"result_format": "COMPLETE",
                               "unexpected_index_column_names": ["row_no"],
                               "return_unexpected_index_query": False})
            self.last_results.append(result)
            self.runs += 1
            for res in result.results:
                n = int(res.expectation_config.meta["n"])
                rule = self.prog.rules[n]
                if res.exception_info and res.exception_info.get("raised_exception"):
                    raise RuntimeError(f"rule {rule.code} could not run: "
                                       f"{res.exception_info.get('exception_message')}")
                if res.success:
                    continue
                for item in res.result.get("unexpected_index_list") or []:
                    row_no = int(item["row_no"])
                    line = lines[row_no]
                    sub = items[line.sub_no][0]
                    problem = self._problem(rule, n, key, frame.iloc[row_no], line.label,
                                            sub)
                    summaries[line.sub_no].problems.append(problem)
                    failed[line.sub_no].add(rule.code)
        for i, (sub, _sheets) in enumerate(items):
            summaries[i].rules_failed = len(failed[i])
            summaries[i].failed_rules = sorted(failed[i])
            sub.problems.extend(summaries[i].problems)
        return summaries

    def _problem(self, rule: Rule, n: int, key: str, rec, label: str,
                 sub: ParsedSubmission) -> Problem:
        message = rule.message.format(left=_fmt(rec.get(f"c{n}_l")),
                                      right=_fmt(rec.get(f"c{n}_r")),
                                      when=_fmt(rec.get(f"c{n}_w")))
        if key == "submission":
            ref = rule.left[0] if rule.left else (rule.when[0] if rule.when else "")
            target = next((v for v in sub.values
                           if _matches(ref, (v.indicator, v.row, v.col))), None)
        else:
            ind = self.prog.indicator(rule.indicator or "")
            rows_scope = key.startswith("rows")
            ref = rule.left[0]
            want = (ind.code, label, ref) if rows_scope else (ind.code, ref, label)
            target = next((v for v in sub.values if (v.indicator, v.row, v.col) == want), None)
            axis = ind.rows if rows_scope else ind.cols
            if label == TOTAL:
                message = f"Tổng cộng: {message}"
            elif axis:
                message = f"{self.prog.dimension(axis).member(label).name}: {message}"
        return Problem(message=message, sheet=target.sheet if target else "",
                       cell=target.cell if target else "", value=_fmt(rec.get(f"c{n}_l")),
                       rule=rule.code, severity=rule.severity)

    def build_data_docs(self) -> str | None:
        """Render GX Data Docs of every validation this instance ran (all chunks of the run)
        into the configured folder; the index's path, or None if nothing was validated.

        Pages of earlier runs are removed by GX's index builder (``skip_and_clean_missing``):
        the folder always shows the latest run that validated something.
        """
        if not self._data_docs_dir or not self.runs:
            return None
        self.context.build_data_docs(site_names=["baocao"])
        return os.path.join(self._data_docs_dir, "index.html")
