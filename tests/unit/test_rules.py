"""Every content rule of the shipped programmes (docs/domain.md §5), one passing and one
failing submission each, through the real form, parser and Great Expectations suites; the
rule checks at programme load; GX Data Docs built by the intake.

The rule list is read from the programme files: a rule added there without a case here
fails ``test_rule``.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from support import drop

from baocao.config import settings
from baocao.demo import fill_form
from baocao.forms import SHEET_TITLES, sheet_layout
from baocao.parsing import parse_submission
from baocao.programme import (
    TOTAL,
    ProgrammeError,
    list_programme_files,
    load_programme,
    load_programme_file,
)
from baocao.validation import Validator

PERIOD = "2026-H1"
Key = tuple[str, str, str]


def _rule_owners() -> dict[str, str]:
    """Every rule code of every shipped programme -> the programme to test it with
    (Lạng Sơn, the reference, for the common rules)."""
    owners: dict[str, str] = {}
    for path in sorted(list_programme_files(settings().programmes_dir),
                       key=lambda p: (p.stem != "lang-son", p.stem)):
        for rule in load_programme_file(path).rules:
            owners.setdefault(rule.code, path.stem)
    return owners


RULE_OWNERS = _rule_owners()


@dataclass
class Case:
    """Cells (over the baseline) that meet the rule at its boundary, cells that break it
    by the smallest step, and what the receipt must then say."""

    passing: dict[Key, object]
    failing: dict[Key, object]
    cell: Key  # the cell the problem points at
    value: str  # the value shown for it
    message: str
    unit_kind: str = "commune"


def w(row: str, col: str) -> Key:
    return ("W_DEP", row, col)


def f(row: str, col: str) -> Key:
    return ("F_FUNDS", row, col)


def one(indicator: str) -> Key:
    return (indicator, "", "")


CASES: dict[str, Case] = {
    "W-GROUP-LE-TOTAL": Case(
        {w("JP", "women"): 20}, {w("JP", "women"): 21}, w("JP", "women"), "21",
        "Nhật Bản: Số lao động nữ (21) lớn hơn tổng số (20) của thị trường này"),
    "W-ETHNIC-LE-TOTAL": Case(
        {w("KR", "ethnic"): 20}, {w("KR", "ethnic"): 21}, w("KR", "ethnic"), "21",
        "Hàn Quốc: Số người dân tộc thiểu số (21) lớn hơn tổng số (20) của thị trường này"),
    "W-DEMOB-LE-TOTAL": Case(
        {w("TW", "demob"): 20}, {w("TW", "demob"): 21}, w("TW", "demob"), "21",
        "Đài Loan (Trung Quốc): Số bộ đội, công an xuất ngũ (21) lớn hơn tổng số (20) của "
        "thị trường này"),
    "W-POOR-LE-TOTAL": Case(  # each group may equal the total; poor + near-poor may not pass it
        {w("CN", "poor"): 15, w("CN", "near_poor"): 5, w("MY", "poor"): 20,
         w("MY", "near_poor"): 0},
        {w("CN", "poor"): 16, w("CN", "near_poor"): 5}, w("CN", "poor"), "21",
        "Trung Quốc (Sùng Tả, Quảng Tây): Hộ nghèo cộng hộ cận nghèo (21) lớn hơn tổng số "
        "(20): một hộ chỉ thuộc một trong hai diện"),
    "W-TOTAL-ROW": Case(  # the total typed over the form's formula
        {w(TOTAL, "women"): 64}, {w(TOTAL, "women"): 65}, w(TOTAL, "women"), "65",
        "Lao động nữ: Dòng tổng cộng (65) không bằng tổng các thị trường (64)"),
    "W-CHANNEL-SUM": Case(
        {("W_CHANNEL", "enterprise", ""): 120, ("W_CHANNEL", "border", ""): 0},
        {("W_CHANNEL", "border", ""): 21}, ("W_CHANNEL", "enterprise", ""), "161",
        "Tổng số lao động theo hình thức đi (161) không bằng tổng số lao động đi làm việc ở "
        "nước ngoài (160)"),
    "W-RETURNED-EMPLOYED": Case(
        {one("W_RETURNED_EMPLOYED"): 30}, {one("W_RETURNED_EMPLOYED"): 31},
        one("W_RETURNED_EMPLOYED"), "31",
        "Số lao động về nước có việc làm (31) lớn hơn số lao động về nước (30)"),
    "F-DISBURSED-LE-CUMULATIVE": Case(
        {f("NEF", "disbursed"): 500}, {f("NEF", "disbursed"): "500,001"},
        f("NEF", "disbursed"), "500,001",
        "Quỹ quốc gia về việc làm: Giải ngân trong kỳ (500,001) lớn hơn lũy kế giải ngân (500)"),
    "F-BENEFICIARIES": Case(  # nothing disbursed: no beneficiaries needed
        {f("LOCAL_BUDGET", "disbursed"): 0, f("LOCAL_BUDGET", "beneficiaries"): 0},
        {f("LOCAL_BUDGET", "disbursed"): 0.001, f("LOCAL_BUDGET", "beneficiaries"): 0},
        f("LOCAL_BUDGET", "beneficiaries"), "0",
        "Ngân sách tỉnh, huyện ủy thác qua NHCSXH: Có giải ngân (0,001) nhưng số người được "
        "hỗ trợ/vay bằng 0"),
    "F-OVERDUE-LE-OUTSTANDING": Case(
        {f("CENTRAL_LOAN", "overdue"): 400}, {f("CENTRAL_LOAN", "overdue"): "400,5"},
        f("CENTRAL_LOAN", "overdue"), "400,5",
        "Vốn vay Trung ương qua NHCSXH: Nợ quá hạn (400,5) lớn hơn dư nợ (400)"),
    "F-CUMULATIVE-ABOVE-PLAN": Case(  # a source without a plan is not compared
        {f("NTP_POVERTY", "cumulative"): 1000, f("OTHER", "plan"): 0},
        {f("NTP_POVERTY", "cumulative"): 1000.001}, f("NTP_POVERTY", "cumulative"),
        "1.000,001",
        "CTMTQG giảm nghèo bền vững: Lũy kế giải ngân (1.000,001) vượt kế hoạch (1.000)"),
    "F-TOTAL-ROW": Case(
        {f(TOTAL, "plan"): "6.000"}, {f(TOTAL, "plan"): 6000.5}, f(TOTAL, "plan"), "6.000,5",
        "Kế hoạch (triệu đồng): Dòng tổng cộng (6.000,5) không bằng tổng các nguồn vốn "
        "(6.000)"),
    "E-FINES-NEED-VIOLATIONS": Case(
        {one("E_VIOLATIONS"): 1}, {one("E_VIOLATIONS"): 0}, one("E_VIOLATIONS"), "0",
        "Có số tiền xử phạt (12,5 triệu đồng) nhưng số vi phạm bằng 0"),
    "E-UNFIT-LE-CHECKS": Case(
        {one("E_UNFIT"): 40}, {one("E_UNFIT"): 41}, one("E_UNFIT"), "41",
        "Số người không đủ sức khỏe (41) lớn hơn số người được khám (40)"),
}


def baseline(prog, unit) -> dict[Key, float]:
    """Round figures meeting every rule with room to spare: 8 markets x 20 workers."""
    out: dict[Key, float] = {}
    for m in prog.dimension("market").codes:
        out.update({w(m, "total"): 20, w(m, "women"): 8, w(m, "ethnic"): 6,
                    w(m, "demob"): 2, w(m, "poor"): 5, w(m, "near_poor"): 5})
    out.update({("W_CHANNEL", c, ""): v for c, v in zip(
        prog.dimension("channel").codes, (100, 20, 10, 10, 20), strict=True)})
    out.update({one("W_COUNSELLED"): 300, one("W_TRAINED"): 150, one("W_RETURNED"): 30,
                one("W_RETURNED_EMPLOYED"): 12, one("W_OVERSTAY"): 1})
    for s in prog.dimension("source").codes:
        out.update({f(s, "plan"): 1000, f(s, "disbursed"): 200, f(s, "cumulative"): 500,
                    f(s, "beneficiaries"): 10, f(s, "outstanding"): 400, f(s, "overdue"): 20})
    for sheet in ("communication", "enforcement"):
        for ind in prog.sheet_indicators(sheet):
            out[one(ind.code)] = 5
    out.update({one("E_VIOLATIONS"): 3, one("E_FINES"): 12.5, one("E_HEALTH_CHECKS"): 40,
                one("E_UNFIT"): 2})
    sheets = set(prog.unit_sheets(unit))
    return {k: v for k, v in out.items() if prog.indicator(k[0]).sheet in sheets}


def address(prog, unit, key: Key) -> tuple[str, str]:
    ind = prog.indicator(key[0])
    return ind.sheet, next(s.address for s in sheet_layout(prog, ind.sheet, unit).cells
                           if (s.indicator, s.row, s.col) == key)


_validators: dict[str, Validator] = {}


def submit(prog, unit, cells: dict[Key, object]):
    """The baseline form with ``cells`` typed over it, parsed and validated."""
    period = prog.period(PERIOD)
    overrides = {address(prog, unit, k): v for k, v in cells.items()}
    data = fill_form(prog, unit, period, baseline(prog, unit), overrides)
    parsed = parse_submission(data, prog, unit.code)
    assert parsed.readable, parsed.problems
    if prog.code not in _validators:
        _validators[prog.code] = Validator(prog)
    validator = _validators[prog.code]
    summary = validator.validate(parsed, prog.unit_sheets(unit))
    return parsed, summary


def unit_for(prog, kind: str):
    return next(u for u in prog.expected_units(prog.period(PERIOD)) if u.kind == kind)


def test_every_rule_has_a_case_and_no_case_is_stale():
    assert set(RULE_OWNERS) == set(CASES)


@pytest.mark.parametrize("programme_code", sorted({*RULE_OWNERS.values(), "lang-son"}))
def test_baseline_passes_every_rule(programme_code):
    prog = load_programme(programme_code)
    unit = unit_for(prog, "commune")
    parsed, summary = submit(prog, unit, {})
    assert parsed.problems == []
    assert summary.rules_run == len(prog.rules) and summary.rules_failed == 0


@pytest.mark.parametrize("code", sorted(RULE_OWNERS))
def test_rule(code):
    case = CASES.get(code)
    if case is None:
        pytest.fail(f"rule {code} of programme {RULE_OWNERS[code]} has no test case")
    prog = load_programme(RULE_OWNERS[code])
    rule = next(r for r in prog.rules if r.code == code)
    unit = unit_for(prog, case.unit_kind)
    assert set(rule.sheets) <= set(prog.unit_sheets(unit))

    parsed, summary = submit(prog, unit, case.passing)
    assert parsed.problems == [], f"{code}: the boundary case must pass"
    assert summary.rules_failed == 0

    parsed, summary = submit(prog, unit, case.failing)
    assert [p.rule for p in parsed.problems] == [code]
    assert summary.failed_rules == [code] and summary.rules_failed == 1
    problem = parsed.problems[0]
    assert problem.severity == rule.severity
    assert bool(parsed.errors) == (rule.severity == "error")  # errors reject, warnings don't
    sheet_code, cell = address(prog, unit, case.cell)
    assert (problem.sheet, problem.cell) == (SHEET_TITLES[sheet_code][0], cell)
    assert problem.value == case.value
    assert problem.message == case.message
    assert unicodedata.is_normalized("NFC", problem.message)


# ----- rules are checked when the programme is loaded --------------------------------
# (unknown indicator in a submission rule and unknown column member: test_programme.py)

def _with_rule(tmp_path, rule: dict):
    import shutil

    import yaml

    here = settings().programmes_dir
    shutil.copy(here / "common.yaml", tmp_path / "common.yaml")
    data = yaml.safe_load((here / "lang-son.yaml").read_text(encoding="utf-8"))
    data.setdefault("rules", []).append({"code": "X-9", "severity": "error",
                                         "message": "m", "op": "<=", **rule})
    path = tmp_path / "lang-son.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("rule, expected", [
    ({"scope": "rows", "indicator": "W_NOPE", "left": ["women"], "right": ["total"]},
     "(X-9): unknown indicator 'W_NOPE'"),
    ({"scope": "rows", "indicator": "W_COUNSELLED", "left": ["a"], "right": ["b"]},
     "(X-9): indicator 'W_COUNSELLED' has no columns"),
    ({"scope": "columns", "indicator": "W_DEP", "left": ["MARS"], "right": ["*"]},
     "(X-9): unknown member 'MARS' of dimension 'market'"),
    ({"scope": "submission", "left": ["W_DEP.MARS.total"], "right": ["W_RETURNED"]},
     "(X-9): unknown member 'MARS' of dimension 'market' in 'W_DEP.MARS.total'"),
    ({"scope": "submission", "left": ["W_DEP.JP"], "right": ["W_RETURNED"]},
     "(X-9): 'W_DEP.JP' needs 2 member(s) after the indicator"),
    ({"scope": "submission", "left": ["E_VIOLATIONS"], "op": ">", "right": [],
      "when": ["E_PENALTIES", ">", 0]},
     "(X-9): unknown indicator 'E_PENALTIES' in 'E_PENALTIES'"),
    ({"code": "W-GROUP-LE-TOTAL", "scope": "submission", "left": ["W_RETURNED"]},
     "(W-GROUP-LE-TOTAL): duplicate rule code"),
])
def test_bad_rule_fails_at_load(tmp_path, rule, expected):
    path = _with_rule(tmp_path, rule)
    with pytest.raises(ProgrammeError) as err:
        load_programme_file(path)
    assert str(path) in str(err.value) and expected in str(err.value)


# ----- GX Data Docs and logs of an intake run ----------------------------------------

def test_intake_builds_data_docs_once_per_run(tmp_path, monkeypatch, caplog, capfd,
                                              programme, baocao_env):
    from baocao import pipeline

    docs = tmp_path / "docs"
    baocao_env(warehouse_url=f"sqlite:///{tmp_path / 'wh.sqlite'}",
               bucket_url=f"file://{tmp_path / 'bucket'}", data_docs_dir=docs)
    calls: list[int] = []  # validations done when the docs were built
    build = Validator.build_data_docs

    def counting(self):
        calls.append(self.runs)
        return build(self)

    monkeypatch.setattr(Validator, "build_data_docs", counting)
    pipeline.prepare_warehouse(programme.code)
    period = programme.period(PERIOD)
    communes = [u for u in programme.expected_units(period) if u.kind == "commune"][:2]
    bad = {address(programme, communes[1], one("E_UNFIT")): 10_000}
    when = datetime(2026, 6, 18, 2, tzinfo=UTC)
    for unit, overrides in ((communes[0], None), (communes[1], bad)):
        drop(tmp_path / "bucket" / programme.code, unit.code, "bc.xlsx",
             fill_form(programme, unit, period, overrides=overrides), when)
    capfd.readouterr()
    # Airflow's logging setup replaces the root handlers on its first import: listen
    # on the package's own logger
    baocao_log = logging.getLogger("baocao")
    baocao_log.addHandler(caplog.handler)
    monkeypatch.setattr(baocao_log, "level", logging.INFO)
    try:
        summary = pipeline.intake_inbox(programme.code, "docs-run")
    finally:
        baocao_log.removeHandler(caplog.handler)
    assert summary["counts"] == {"accepted": 1, "rejected": 1}
    assert "Calculating Metrics" not in capfd.readouterr().err  # GX progress bars off
    # once for the run (two files), after the run's validations
    groups = {f"{programme.code}.{k}" for k in Validator(programme)._groups}
    assert len(calls) == 1 and calls[0] == len(groups)
    index = docs / programme.code / "index.html"  # one folder per programme
    assert summary["data_docs"] == str(index) and index.is_file()
    html = index.read_text(encoding="utf-8")
    assert groups <= set(re.findall(r"lang-son\.[\w.]+", html))
    pages = {p.name: p.read_text(encoding="utf-8")
             for p in (docs / programme.code / "validations").rglob("*.html")}
    assert len(pages) == len(groups)
    checks = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(
        r"<(script|style).*?</\1>", "", pages[f"{programme.code}-submissions-submission.html"],
        flags=re.S)))
    assert "E-UNFIT-LE-CHECKS (error), each submission: E_UNFIT ≤ E_HEALTH_CHECKS" in checks
    assert "Unsuccessful Expectations 1 " in checks  # the rejected file's one failure
    per_file = {r.getMessage().split(":")[0]: r.getMessage() for r in caplog.records
                if " rules run, " in r.getMessage()}
    n_rules = len(programme.rules)
    assert per_file[f"inbox/{communes[0].code}/bc.xlsx"].endswith(
        f": {n_rules} rules run, 0 failed [], 0 errors, 0 warnings")
    assert f"{n_rules} rules run, 1 failed ['E-UNFIT-LE-CHECKS'], 1 errors" in \
        per_file[f"inbox/{communes[1].code}/bc.xlsx"]
    # a run with nothing to validate leaves the docs of the last one alone
    stamp = index.stat().st_mtime_ns
    assert pipeline.intake_inbox(programme.code, "empty-run")["data_docs"] == ""
    assert len(calls) == 2 and calls[1] == 0
    assert index.stat().st_mtime_ns == stamp
