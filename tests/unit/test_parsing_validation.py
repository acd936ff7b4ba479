"""Forms, parsing of what people really type, and Great Expectations rules."""

from __future__ import annotations

import unicodedata
import zipfile
from io import BytesIO

import pytest
from openpyxl import load_workbook

from baocao.demo import demo_values, fill_form
from baocao.forms import META_SHEET, SHEET_TITLES, build_form, sheet_layout
from baocao.parsing import parse_submission
from baocao.programme import TOTAL, load_programme_file
from baocao.validation import Validator

PERIOD = "2026-H1"


@pytest.fixture(scope="module")
def validator(programme):
    return Validator(programme)


@pytest.fixture(scope="module")
def commune(programme):
    return next(u for u in programme.expected_units(programme.period(PERIOD))
                if u.kind == "commune")


def cell_of(prog, unit, indicator, row="", col=""):
    ind = prog.indicator(indicator)
    return next(s.address for s in sheet_layout(prog, ind.sheet, unit).cells
                if (s.indicator, s.row, s.col) == (indicator, row, col))


def check(prog, validator, unit, data):
    parsed = parse_submission(data, prog, unit.code)
    if parsed.readable:
        validator.validate(parsed, prog.unit_sheets(unit))
    return parsed


def test_blank_form_has_role_sheets_meta_protection_and_validation(programme):
    period = programme.period(PERIOD)
    police = programme.unit("CAT", period.deadline)
    wb = load_workbook(BytesIO(build_form(programme, police, period)))
    assert wb.sheetnames == ["Hướng dẫn", SHEET_TITLES["enforcement"][0],
                             SHEET_TITLES["tasks"][0], META_SHEET]
    assert wb[META_SHEET].sheet_state == "veryHidden"
    ws = wb[SHEET_TITLES["enforcement"][0]]
    assert ws.protection.sheet
    addr = cell_of(programme, police, "E_FINES")
    assert ws[addr].protection.locked is False
    kinds = {dv.type for dv in ws.data_validations.dataValidation}
    assert kinds == {"whole", "decimal"}
    tasks = wb[SHEET_TITLES["tasks"][0]]
    assert any(dv.type == "list" for dv in tasks.data_validations.dataValidation)
    texts = [c.value for row in tasks.iter_rows() for c in row if isinstance(c.value, str)]
    assert all(unicodedata.is_normalized("NFC", t) for t in texts)
    assert any(t.code == "CAT-1" for t in programme.unit_tasks(police))


def test_clean_form_parses_with_cell_addresses(programme, validator, commune):
    period = programme.period(PERIOD)
    values = demo_values(programme, commune, period)
    parsed = check(programme, validator, commune, fill_form(programme, commune, period))
    assert parsed.problems == []
    got = {(v.indicator, v.row, v.col): v for v in parsed.values}
    for key, expected in values.items():
        assert got[key].value == pytest.approx(expected)
    total = got[("W_DEP", TOTAL, "total")]
    assert total.computed and total.value == sum(values[("W_DEP", m, "total")]
                                                 for m in programme.dimension("market").codes)
    assert got[("W_DEP", "JP", "women")].cell == cell_of(programme, commune, "W_DEP", "JP",
                                                         "women")
    assert got[("W_DEP", "JP", "women")].sheet == SHEET_TITLES["workers"][0]


def test_vietnamese_text_numbers_nfd_and_blanks(programme, validator, commune):
    period = programme.period(PERIOD)
    values = demo_values(programme, commune, period)
    values[("W_COUNSELLED", "", "")] = 1234
    values[("F_FUNDS", "NEF", "plan")] = 1234.5
    a_counselled = cell_of(programme, commune, "W_COUNSELLED")
    a_plan = cell_of(programme, commune, "F_FUNDS", "NEF", "plan")
    a_overstay = cell_of(programme, commune, "W_OVERSTAY")
    data = fill_form(programme, commune, period, values, overrides={
        ("workers", a_counselled): "1.234", ("funds", a_plan): " 1.234,5 ",
        ("workers", a_overstay): None})
    parsed = check(programme, validator, commune, data)
    assert parsed.problems == []
    got = {(v.indicator, v.row, v.col): v.value for v in parsed.values}
    assert got[("W_COUNSELLED", "", "")] == 1234
    assert got[("F_FUNDS", "NEF", "plan")] == 1234.5
    assert got[("W_OVERSTAY", "", "")] == 0  # the form says blank means 0


def test_nfd_task_status_is_understood(programme, validator, commune):
    period = programme.period(PERIOD)
    lay = sheet_layout(programme, "tasks", commune)
    nfd = unicodedata.normalize("NFD", "Đang thực hiện")
    data = fill_form(programme, commune, period, overrides={
        ("tasks", lay.tasks[0].status_cell): nfd,
        ("tasks", lay.tasks[0].description_cell): unicodedata.normalize("NFD", "Đã họp dân")})
    parsed = check(programme, validator, commune, data)
    assert not parsed.errors
    assert parsed.tasks[0].status == "in_progress"
    assert unicodedata.is_normalized("NFC", parsed.tasks[0].description)


def test_every_error_is_reported_not_only_the_first(programme, validator, commune):
    period = programme.period(PERIOD)
    p = programme
    overrides = {
        ("workers", cell_of(p, commune, "W_DEP", "JP", "women")): 10_000,       # women > total
        ("workers", cell_of(p, commune, "W_DEP", "KR", "ethnic")): 10_000,      # ethnic > total
        ("workers", cell_of(p, commune, "W_DEP", "TW", "poor")): 10_000,        # poor+near > tot
        ("workers", cell_of(p, commune, "W_RETURNED_EMPLOYED")): 10_000,        # > returned
        ("funds", cell_of(p, commune, "F_FUNDS", "NEF", "disbursed")): 99_999,  # > cumulative
        ("funds", cell_of(p, commune, "F_FUNDS", "NEF", "overdue")): 99_999,    # > outstanding
        ("enforcement", cell_of(p, commune, "E_UNFIT")): 10_000,                # > checks
        ("workers", cell_of(p, commune, "W_CHANNEL", "border")): 77_777,        # channel sum
        ("workers", cell_of(p, commune, "W_DEP", TOTAL, "total")): 5,           # typed total
        ("enforcement", cell_of(p, commune, "E_VIOLATIONS")): 0,                # fines, no viol.
    }
    values = demo_values(p, commune, period)
    values[("E_FINES", "", "")] = 12.5
    parsed = check(p, validator, commune, fill_form(p, commune, period, values, overrides))
    rules = {x.rule for x in parsed.errors}
    assert rules >= {"W-GROUP-LE-TOTAL", "W-ETHNIC-LE-TOTAL", "W-POOR-LE-TOTAL",
                     "W-RETURNED-EMPLOYED", "F-DISBURSED-LE-CUMULATIVE",
                     "F-OVERDUE-LE-OUTSTANDING", "E-UNFIT-LE-CHECKS", "W-CHANNEL-SUM",
                     "W-TOTAL-ROW", "E-FINES-NEED-VIOLATIONS"}
    women = next(x for x in parsed.errors if x.rule == "W-GROUP-LE-TOTAL")
    assert women.cell == cell_of(p, commune, "W_DEP", "JP", "women")
    assert women.message.startswith("Nhật Bản: Số lao động nữ (10.000) lớn hơn tổng số")


def test_structure_errors_name_cell_and_value(programme, validator, commune):
    p = programme
    period = p.period(PERIOD)
    bad = {("workers", cell_of(p, commune, "W_COUNSELLED")): "khoảng 50",
           ("workers", cell_of(p, commune, "W_TRAINED")): 12.5,
           ("workers", cell_of(p, commune, "W_RETURNED")): -4,
           ("funds", cell_of(p, commune, "F_FUNDS", "NEF", "plan")): 1.23456,
           ("funds", cell_of(p, commune, "F_FUNDS", "NEF", "disbursed")): "nhiều",
           ("communication", cell_of(p, commune, "C_CONFERENCES")): "ba"}
    parsed = check(p, validator, commune, fill_form(p, commune, period, overrides=bad))
    found = {(x.cell, x.value): x for x in parsed.errors}
    # values are shown as a Vietnamese reader types them; each names its row; the example
    # fits the row: a head count "12", money "1.234,5", conferences in "hội nghị"
    text = found[(cell_of(p, commune, "W_COUNSELLED"), "khoảng 50")]
    assert text.message == "Không phải là số. Nhập số người, ví dụ 12"
    assert (text.label, text.expected) == ("Số người được tư vấn", "số người, ví dụ 12")
    text = found[(cell_of(p, commune, "W_TRAINED"), "12,5")]
    assert "số nguyên" in text.message and "ví dụ 12" in text.message
    assert text.label == "Số người được đào tạo nghề, ngoại ngữ trước khi đi"
    assert any("âm" in x.message for (c, _v), x in found.items() if c == cell_of(p, commune,
                                                                            "W_RETURNED"))
    money = found[(cell_of(p, commune, "F_FUNDS", "NEF", "plan"), "1,23456")]
    assert "3 chữ số thập phân" in money.message and "1.234,5" in money.message
    assert money.label == "Nguồn vốn hỗ trợ, cho vay: Quỹ quốc gia về việc làm, Kế hoạch " \
        "(triệu đồng)"
    text = found[(cell_of(p, commune, "F_FUNDS", "NEF", "disbursed"), "nhiều")]
    assert text.message == "Không phải là số. Nhập số tiền (triệu đồng), ví dụ 1.234,5"
    text = found[(cell_of(p, commune, "C_CONFERENCES"), "ba")]
    assert (text.message, text.label) == ("Không phải là số. Nhập số hội nghị, ví dụ 12",
                                          "Số hội nghị tuyên truyền")
    assert all(unicodedata.is_normalized("NFC", x.message) for x in parsed.errors)


@pytest.mark.parametrize("data, fragment", [
    (b"%PDF-1.4 not a workbook", "không phải là bảng tính Excel"),
    (b"PK\x03\x04" + b"\x00" * 100, "không phải là bảng tính Excel"),
])
def test_not_a_workbook(programme, commune, data, fragment):
    parsed = parse_submission(data, programme, commune.code)
    assert parsed.errors and fragment in parsed.errors[0].message


def test_corrupt_zip_and_foreign_workbook(programme, commune):
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "xin chào")
    parsed = parse_submission(buf.getvalue(), programme, commune.code)
    assert "không phải là bảng tính Excel" in parsed.errors[0].message
    from openpyxl import Workbook

    wb = Workbook()
    wb.active["A1"] = "Báo cáo tự làm"
    out = BytesIO()
    wb.save(out)
    parsed = parse_submission(out.getvalue(), programme, commune.code)
    assert "không phải biểu mẫu do hệ thống phát hành" in parsed.errors[0].message


def test_wrong_folder_wrong_period_and_missing_sheet(programme, commune):
    period = programme.period(PERIOD)
    data = fill_form(programme, commune, period)
    parsed = parse_submission(data, programme, "SNV")
    assert "được gửi vào thư mục của đơn vị SNV" in parsed.errors[0].message
    wb = load_workbook(BytesIO(data))
    wb[META_SHEET]["B4"] = "2031-H2"
    del wb[SHEET_TITLES["funds"][0]]
    out = BytesIO()
    wb.save(out)
    parsed = parse_submission(out.getvalue(), programme, commune.code)
    assert any("Kỳ báo cáo \"2031-H2\" không hợp lệ" in e.message for e in parsed.errors)
    wb[META_SHEET]["B4"] = PERIOD
    wb.save(out := BytesIO())
    parsed = parse_submission(out.getvalue(), programme, commune.code)
    assert [e.message for e in parsed.errors] == [
        f"Thiếu trang tính \"{SHEET_TITLES['funds'][0]}\" của biểu mẫu (trang tính bị "
        "xóa hoặc đổi tên)"]


def test_district_cannot_report_after_reorganisation(programme):
    period = programme.period("2025-H1")
    district = next(u for u in programme.expected_units(period) if u.kind == "district")
    data = fill_form(programme, district, period)
    wb = load_workbook(BytesIO(data))
    wb[META_SHEET]["B4"] = PERIOD
    wb.save(out := BytesIO())
    parsed = parse_submission(out.getvalue(), programme, district.code)
    assert "không thuộc danh sách đơn vị báo cáo" in parsed.errors[0].message


def test_rule_added_to_programme_file_is_enforced_without_code_change(tmp_path, commune):
    import shutil

    import yaml
    from support import PROGRAMMES

    shutil.copy(PROGRAMMES / "common.yaml", tmp_path / "common.yaml")
    data = yaml.safe_load((PROGRAMMES / "lang-son.yaml").read_text(encoding="utf-8"))
    data.setdefault("rules", []).append({
        "code": "LS-TRAINED-LE-COUNSELLED", "severity": "warning", "scope": "submission",
        "left": ["W_TRAINED"], "op": "<=", "right": ["W_COUNSELLED"],
        "message": "Số người được đào tạo ({left}) nhiều hơn số người được tư vấn ({right})"})
    (tmp_path / "lang-son.yaml").write_text(yaml.safe_dump(data, allow_unicode=True),
                                            encoding="utf-8")
    prog = load_programme_file(tmp_path / "lang-son.yaml")
    period = prog.period(PERIOD)
    unit = prog.unit(commune.code, period.deadline)
    values = demo_values(prog, unit, period)
    values[("W_TRAINED", "", "")] = values[("W_COUNSELLED", "", "")] + 5
    parsed = check(prog, Validator(prog), unit, fill_form(prog, unit, period, values))
    assert not parsed.errors
    warn = [x for x in parsed.problems if x.rule == "LS-TRAINED-LE-COUNSELLED"]
    assert len(warn) == 1 and warn[0].severity == "warning"
    assert warn[0].cell == cell_of(prog, unit, "W_TRAINED")
