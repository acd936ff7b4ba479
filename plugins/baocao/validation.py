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
        import pandas as pd

        values = {(v.indicator, v.row, v.col): v for v in sub.values}
        frames: dict[str, tuple[Any, list[str]]] = {}
        for key, rules in self._rules.items():
            rules = [(n, r) for n, r in rules if set(r.sheets) <= sheets]
            if not rules:
                continue
            if key == "submission":
                labels = [""]
                data: dict[str, list[float | None]] = {}
                for n, r in rules:
                    data[f"c{n}_l"] = [self._sum_refs(r.left, values)]
                    data[f"c{n}_r"] = [self._sum_refs(r.right, values)]
                    if r.when:
                        data[f"c{n}_w"] = [self._sum_refs([r.when[0]], values)]
            else:
                ind = self.prog.indicator(rules[0][1].indicator or "")
                rows = [row for row, _ in self.prog.cells(ind)]
                rows = list(dict.fromkeys(rows))
                cols = list(dict.fromkeys(c for _, c in self.prog.cells(ind)))
                lines, others = (rows, cols) if key.startswith("rows") else (cols, rows)
                labels = lines
                data = {}

                def get(line: str, other: str, rows_scope: bool = key.startswith("rows")):
                    k = (ind.code, line, other) if rows_scope else (ind.code, other, line)
                    return values[k].value if k in values else None

                for n, r in rules:
                    for suffix, refs in (("l", r.left), ("r", r.right),
                                         ("w", [r.when[0]] if r.when else None)):
                        if refs is None:
                            continue
                        col: list[float | None] = []
                        for line in lines:
                            members = [o for o in others if o != TOTAL] if "*" in refs else refs
                            parts = [get(line, m) for m in members]
                            col.append(None if any(p is None for p in parts)
                                       else round(sum(parts), 3))  # type: ignore[arg-type]
                        data[f"c{n}_{suffix}"] = col
            frame = pd.DataFrame(data)
            frame.insert(0, "row_no", range(len(frame)))
            frames[key] = (frame, labels)
        return frames

    def _sum_refs(self, refs: list[str], values: dict) -> float | None:
        total = 0.0
        for ref in refs:
            parts = ref.split(".")
            ind = parts[0]
            keys = [k for k in values if k[0] == ind and all(
                want == "*" and got != TOTAL or want == got
                for want, got in zip(parts[1:], k[1:1 + len(parts) - 1], strict=False))]
            if not keys:
                return None
            total += sum(values[k].value for k in keys)
        return round(total, 3)

    # ----- run -------------------------------------------------------------------------
    def validate(self, sub: ParsedSubmission, sheets: list[str]) -> ValidationSummary:
        """Run every rule that applies to the sheets the unit reports; add problems."""
        summary = ValidationSummary()
        values = {(v.indicator, v.row, v.col): v for v in sub.values}
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
            return "" if v is None or v != v else format_vn_number(float(v), 3).rstrip("0").rstrip(",")

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
        parts = ref.split(".")
        if parts[0] != key[0]:
            return False
        return all(w == "*" or w == g for w, g in zip(parts[1:], key[1:], strict=False))

    @staticmethod
    def _sheet_name(sheet: str) -> str:
        from baocao.forms import SHEET_TITLES

        return SHEET_TITLES.get(sheet, (sheet,))[0]
