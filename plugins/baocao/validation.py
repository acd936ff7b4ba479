"""Content validation with Great Expectations, built from the programme's rules.

Each rule becomes one expectation on a small frame (the rows or columns of one table, or
one row per submission) with computed ``left``/``right`` sums; its meta carries the rule
code, severity and Vietnamese message. One GX context serves a whole task run.
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


@dataclass
class ValidationSummary:
    rules_run: int = 0
    rules_failed: int = 0
    failed_rules: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"rules_run": self.rules_run, "rules_failed": self.rules_failed,
                "failed_rules": self.failed_rules}


def _sides(rule: Rule) -> list[tuple[str, list[str]]]:
    """The referenced sides of a rule: left, right and (if any) the condition."""
    sides = [("l", rule.left), ("r", rule.right)]
    return sides + [("w", [rule.when[0]])] if rule.when else sides


def _frame_key(rule: Rule) -> str:
    return "submission" if rule.scope == "submission" else f"{rule.scope}:{rule.indicator}"


class Validator:
    """Great Expectations suites for one programme; ``validate`` runs them on a submission."""

    def __init__(self, prog: Programme) -> None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
        import great_expectations as gx

        self.prog = prog
        self._gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = {"globally": False}
        source = self.context.data_sources.add_pandas(f"{prog.code}-submissions")
        self._rules: dict[str, list[tuple[int, Rule]]] = {}
        for n, rule in enumerate(prog.rules):
            self._rules.setdefault(_frame_key(rule), []).append((n, rule))
        self._definitions = {}
        for key, rules in self._rules.items():
            asset = source.add_dataframe_asset(key)
            batch = asset.add_batch_definition_whole_dataframe(f"{key}-batch")
            suite = self.context.suites.add(gx.ExpectationSuite(name=f"{prog.code}:{key}"))
            for n, rule in rules:
                suite.add_expectation(self._expectation(n, rule))
            self._definitions[key] = self.context.validation_definitions.add(
                gx.ValidationDefinition(name=f"{prog.code}:{key}", data=batch, suite=suite))

    def _expectation(self, n: int, rule: Rule):
        gxe = self._gx.expectations
        meta = {"rule": rule.code, "severity": rule.severity, "message": rule.message, "n": n}
        left, right = f"c{n}_l", f"c{n}_r"
        kwargs: dict[str, Any] = {"meta": meta}
        if rule.when:
            kwargs.update(row_condition=f"c{n}_w {rule.when[1]} {rule.when[2]}",
                          condition_parser="pandas")
        if rule.op == "==":
            return gxe.ExpectColumnPairValuesToBeEqual(
                column_A=left, column_B=right, ignore_row_if="either_value_is_missing", **kwargs)
        a, b = (right, left) if rule.op in ("<=", "<") else (left, right)
        return gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=a, column_B=b, or_equal=rule.op in ("<=", ">="),
            ignore_row_if="either_value_is_missing", **kwargs)

    # ----- frames ----------------------------------------------------------------------
    def _frames(self, sub: ParsedSubmission, sheets: set[str]):
        """One frame per rule group, with computed ``c<n>_l/_r/_w`` columns per rule."""
        import pandas as pd

        values = {(v.indicator, v.row, v.col): v.value for v in sub.values}
        frames: dict[str, tuple[Any, list[str]]] = {}
        for key, rules in self._rules.items():
            rules = [(n, r) for n, r in rules if set(r.sheets) <= sheets]
            if not rules:
                continue
            if key == "submission":
                labels = [""]
                data = {f"c{n}_{suffix}": [self._sum_refs(refs, values)]
                        for n, r in rules for suffix, refs in _sides(r)}
            else:
                labels, data = self._table_columns(rules, key.startswith("rows"), values)
            frame = pd.DataFrame(data)
            frame.insert(0, "row_no", range(len(frame)))
            frames[key] = (frame, labels)
        return frames

    def _table_columns(self, rules: list[tuple[int, Rule]], rows_scope: bool,
                       values: dict[tuple[str, str, str], float]):
        """Lines of a table (its rows, or its columns when ``rows_scope`` is False) and,
        per rule side, the sum of the referenced members on each line (None if missing)."""
        ind = self.prog.indicator(rules[0][1].indicator or "")
        cells = self.prog.cells(ind)
        rows = list(dict.fromkeys(r for r, _ in cells))
        cols = list(dict.fromkeys(c for _, c in cells))
        lines, others = (rows, cols) if rows_scope else (cols, rows)
        data: dict[str, list[float | None]] = {}
        for n, rule in rules:
            for suffix, refs in _sides(rule):
                members = [o for o in others if o != TOTAL] if "*" in refs else refs
                column: list[float | None] = []
                for line in lines:
                    keys = [(ind.code, line, m) if rows_scope else (ind.code, m, line)
                            for m in members]
                    parts = [values.get(k) for k in keys]
                    column.append(None if None in parts else round(sum(parts), 3))
                data[f"c{n}_{suffix}"] = column
        return lines, data

    def _sum_refs(self, refs: list[str], values: dict) -> float | None:
        """Sum of submission-scope references; None if one matches no value."""
        total = 0.0
        for ref in refs:
            keys = [k for k in values if self._matches(ref, k)]
            if not keys:
                return None
            total += sum(values[k] for k in keys)
        return round(total, 3)

    # ----- run -------------------------------------------------------------------------
    def validate(self, sub: ParsedSubmission, sheets: list[str]) -> ValidationSummary:
        """Run every rule that applies to the sheets the unit reports; add problems."""
        summary = ValidationSummary()
        values = {(v.indicator, v.row, v.col): v for v in sub.values}  # for cell addresses
        for key, (frame, labels) in self._frames(sub, set(sheets)).items():
            result = self._definitions[key].run(
                batch_parameters={"dataframe": frame},
                result_format={"result_format": "COMPLETE",
                               "unexpected_index_column_names": ["row_no"]})
            for res in result.results:
                meta = res.expectation_config.meta
                rule = self.prog.rules[meta["n"]]
                if f"c{meta['n']}_l" not in frame.columns:
                    continue
                summary.rules_run += 1
                if res.success:
                    continue
                if res.exception_info and res.exception_info.get("raised_exception"):
                    raise RuntimeError(f"rule {rule.code}: {res.exception_info}")
                summary.rules_failed += 1
                summary.failed_rules.append(rule.code)
                for item in res.result.get("unexpected_index_list") or []:
                    row_no = int(item["row_no"])
                    summary.problems.append(self._problem(rule, key, frame, labels, row_no,
                                                          values))
        sub.problems.extend(summary.problems)
        return summary

    def _problem(self, rule: Rule, key: str, frame, labels: list[str], row_no: int,
                 values: dict) -> Problem:
        n = self.prog.rules.index(rule)
        rec = frame.iloc[row_no]

        def fmt(col: str) -> str:
            v = rec.get(col)
            if v is None or v != v:
                return ""
            return format_vn_number(float(v), 3).rstrip("0").rstrip(",")

        message = rule.message.format(left=fmt(f"c{n}_l"), right=fmt(f"c{n}_r"),
                                      when=fmt(f"c{n}_w"))
        sheet = cell = ""
        line = labels[row_no]
        if key == "submission":
            ref = rule.left[0] if rule.left else (rule.when[0] if rule.when else "")
            target = next((v for k, v in values.items() if self._matches(ref, k)), None)
        else:
            ind = self.prog.indicator(rule.indicator or "")
            ref = rule.left[0]
            k = (ind.code, line, ref) if key.startswith("rows") else (ind.code, ref, line)
            target = values.get(k)
            axis = ind.rows if key.startswith("rows") else ind.cols
            if axis and line != TOTAL:
                message = f"{self.prog.dimension(axis).member(line).name}: {message}"
            elif line == TOTAL:
                message = f"Tổng cộng: {message}"
        if target is not None:
            sheet, cell = self._sheet_name(target.sheet), target.cell
        return Problem(message=message, sheet=sheet, cell=cell, value=fmt(f"c{n}_l"),
                       rule=rule.code, severity=rule.severity)

    @staticmethod
    def _matches(ref: str, key: tuple[str, str, str]) -> bool:
        """Whether a reference (``*`` = any member but the total row) names ``key``."""
        parts = ref.split(".")
        if parts[0] != key[0]:
            return False
        return all(w == g or (w == "*" and g != TOTAL)
                   for w, g in zip(parts[1:], key[1:], strict=False))

    @staticmethod
    def _sheet_name(sheet: str) -> str:
        from baocao.forms import SHEET_TITLES

        return SHEET_TITLES.get(sheet, (sheet,))[0]
