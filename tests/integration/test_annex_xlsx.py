"""The report's annex workbook: units as rows grouped by kind, one meaning per total row,
numbers stored as numbers with Vietnamese formats, and every page legible on A4.

The warehouse holds the demo's figures for every expected unit but two communes; expected
totals are computed from ``demo_values`` by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime
from io import BytesIO

import pytest
from _print import need_libreoffice, page_sheet, pdf_of, printed_sizes
from openpyxl import load_workbook
from support import seed_submission as seed

from baocao.demo import demo_values
from baocao.preview import page_words
from baocao.programme import TOTAL, load_programme
from baocao.reports.context import build_report_data
from baocao.reports.xlsx_report import COUNT_FMT, MONEY_FMT, PCT_FMT, render_xlsx
from baocao.warehouse.db import get_engine, migrate
from baocao.warehouse.merge import sync_programme

PERIOD = "2026-H1"
GENERATED = datetime(2026, 6, 21, 0, 0, tzinfo=UTC)  # 07:00 on 21/6/2026 in Vietnam
SHEETS = ["Biểu 01 - Chỉ tiêu", "Biểu 02 - Nguồn vốn", "So sánh cùng kỳ",
          "PL1 - Lao động theo đơn vị", "PL1b - Lao động chi tiết",
          "PL2 - Nguồn vốn theo đơn vị", "PL2b - Nguồn vốn chi tiết",
          "PL3 - Tuyên truyền theo đơn vị", "PL4 - Thanh tra theo đơn vị",
          "PL5 - Nhiệm vụ theo đơn vị", "Tình hình gửi báo cáo", "Số liệu cần lưu ý"]


def _with_totals(prog, values):
    """Demo values plus the form-computed 'Tổng cộng' rows, as the intake records them."""
    out = dict(values)
    for ind in prog.indicators:
        if ind.total_row:
            for (i, row, col), v in values.items():
                if i == ind.code and row != TOTAL:
                    out[(i, TOTAL, col)] = round(out.get((i, TOTAL, col), 0.0) + v, 3)
    return out


@pytest.fixture(scope="module")
def annex(tmp_path_factory):
    """The warehouse with every expected unit's demo figures but two communes'."""
    folder = tmp_path_factory.mktemp("annex")
    url = f"sqlite:///{folder / 'wh.sqlite'}"
    migrate(url)
    engine = get_engine(url)
    prog = load_programme("lang-son")
    sync_programme(engine, prog)
    period = prog.period(PERIOD)
    units = prog.expected_units(period)
    missing = [u for u in units if u.kind == "commune"][-2:]
    figures = {}
    for unit in units:
        if unit in missing:
            continue
        figures[unit.code] = _with_totals(prog, demo_values(prog, unit, period))
        seed(engine, prog, PERIOD, unit.code, figures[unit.code])
    yield engine, prog, figures, missing, folder
    engine.dispose()


def _rows(ws):
    return [list(r) for r in ws.iter_rows(values_only=True)]


def _xlsx(engine, prog, draft=False):
    data = build_report_data(engine, prog, prog.period(PERIOD), generated_at=GENERATED)
    return render_xlsx(data, draft=draft)


def test_sheet_names_cannot_be_confused(annex):
    engine, prog, *_ = annex
    wb = load_workbook(BytesIO(_xlsx(engine, prog)))
    assert wb.sheetnames == SHEETS


def test_units_as_rows_grouped_by_kind_and_one_meaning_per_total(annex):
    engine, prog, figures, missing, _ = annex
    wb = load_workbook(BytesIO(_xlsx(engine, prog)))
    ws = wb["PL1 - Lao động theo đơn vị"]
    rows = _rows(ws)
    header = rows[5]  # two header rows: the indicator over its columns, then each column
    assert rows[4][2] == "Số lao động đi làm việc ở nước ngoài theo thị trường — tổng cộng"
    col = 2 + header[2:].index("Tổng số")
    names = [r[1] for r in rows[6:]]
    communes = [u for u in prog.expected_units(prog.period(PERIOD))
                if u.kind == "commune" and u not in missing]
    lead = prog.find_lead(prog.period(PERIOD).deadline)
    # departments first, then the communes, every reporting unit on its own row
    assert names[0] == "SỞ, BAN, NGÀNH TỈNH (không cộng vào tổng)"
    assert names[1] == f"{lead.name} — số liệu theo dõi của cơ quan thường trực"
    assert names[2] == "XÃ, PHƯỜNG"
    assert names[3:3 + len(communes)] == [u.name for u in communes]
    # the grand total is the sum of the communes' reports, labelled so; the lead
    # department's register figure is on its own row and never added in
    total_row = next(r for r in rows if r[1] and r[1].startswith("TỔNG CỘNG"))
    assert total_row[1] == "TỔNG CỘNG BÁO CÁO CỦA CÁC XÃ, PHƯỜNG (II)"
    local_sum = sum(figures[u.code][("W_DEP", "CN", "total")] + sum(
        figures[u.code][("W_DEP", m, "total")] for m in ("JP", "KR", "TW", "MY", "ME", "EU",
                                                         "OTHER")) for u in communes)
    assert total_row[col] == local_sum
    lead_row = next(r for r in rows if r[1] and r[1].startswith(lead.name))
    assert lead_row[col] == figures[lead.code][("W_DEP", TOTAL, "total")] != local_sum
    assert sum(1 for r in rows if r[1] and "TỔNG CỘNG" in r[1]) == 1
    notes = " ".join(r[0] for r in rows if isinstance(r[0], str))
    assert "Số liệu chính thức của tỉnh: tổng báo cáo của các xã, phường" in notes
    assert ("Chưa có báo cáo được tiếp nhận: " + ", ".join(u.name for u in missing)) in notes


def test_every_units_activity_counts_where_the_programme_says_so(annex):
    """Biểu 3 counts every unit's own conferences (primary: all): departments and
    organisations are added in, with a subtotal per group."""
    engine, prog, figures, _missing, _ = annex
    ws = load_workbook(BytesIO(_xlsx(engine, prog)))["PL3 - Tuyên truyền theo đơn vị"]
    rows = _rows(ws)
    col = 2 + rows[4][2:].index("Số hội nghị tuyên truyền (hội nghị)")
    total = next(r for r in rows if r[1] and r[1].startswith("TỔNG CỘNG"))
    assert total[1] == "TỔNG CỘNG CÁC CƠ QUAN, ĐƠN VỊ (I + II + III)"
    assert total[col] == sum(v[("C_CONFERENCES", "", "")] for v in figures.values()
                             if ("C_CONFERENCES", "", "") in v)
    subtotals = [r for r in rows if r[1] and r[1].startswith("Cộng ")]
    assert [r[1].split(" (")[0] for r in subtotals] == ["Cộng I", "Cộng II", "Cộng III"]
    assert sum(r[col] for r in subtotals) == total[col]


@pytest.mark.parametrize("primary, official", [("lead", "SNV"), ("units", "NHCSXH")])
def test_the_official_figure_is_labelled_and_never_added(annex, primary, official):
    engine, prog, figures, *_ = annex
    ind = prog.indicator("W_DEP" if primary == "lead" else "F_FUNDS")
    changed = prog.model_copy(update={"indicators": [
        i.model_copy(update={"primary": primary}) if i.code == ind.code else i
        for i in prog.indicators]})
    sheet = "PL1 - Lao động theo đơn vị" if primary == "lead" else "PL2 - Nguồn vốn theo đơn vị"
    rows = _rows(load_workbook(BytesIO(_xlsx(engine, changed)))[sheet])
    unit = next(u for u in prog.units_by_code(official))
    row = next(r for r in rows if r[1] and r[1].startswith(unit.name))
    assert row[1] == f"{unit.name} — SỐ LIỆU CHÍNH THỨC CỦA TỈNH"
    total = next(r for r in rows if r[1] and r[1].startswith("TỔNG CỘNG"))
    assert total[1].startswith("TỔNG CỘNG BÁO CÁO CỦA CÁC XÃ, PHƯỜNG")
    first = prog.dimension(ind.cols).members[0]  # Tổng số / Kế hoạch
    col = 2 + rows[5][2:].index(first.name)
    deadline = prog.period(PERIOD).deadline
    local_sum = sum(v[(ind.code, TOTAL, first.code)] for code, v in figures.items()
                    if prog.is_local(prog.unit(code, deadline)))
    assert total[col] == pytest.approx(local_sum)
    assert row[col] == pytest.approx(figures[official][(ind.code, TOTAL, first.code)])
    notes = " ".join(r[0] for r in rows if isinstance(r[0], str))
    assert f"Số liệu chính thức của tỉnh: số liệu của {unit.name}" in notes


def test_numbers_percentages_and_dates_are_stored_as_such(annex):
    engine, prog, *_ = annex
    wb = load_workbook(BytesIO(_xlsx(engine, prog)))
    for name in ("PL1 - Lao động theo đơn vị", "PL2 - Nguồn vốn theo đơn vị",
                 "PL3 - Tuyên truyền theo đơn vị", "PL4 - Thanh tra theo đơn vị",
                 "PL1b - Lao động chi tiết", "PL2b - Nguồn vốn chi tiết"):
        ws = wb[name]
        first = 7 if not name.endswith("chi tiết") else 5
        body = [r for r in ws.iter_rows(min_row=first) if isinstance(r[0].value, int)]
        assert body, name
        for row in body:
            for cell in row[2:]:
                if cell.value is None:
                    continue
                assert isinstance(cell.value, int | float), (name, cell.coordinate)
                assert cell.number_format in (COUNT_FMT, MONEY_FMT), (name, cell.coordinate)
        # one number format per column: money always with 3 decimals
        for col in range(3, ws.max_column + 1):
            formats = {ws.cell(r[0].row, col).number_format for r in body}
            assert len(formats) == 1, (name, col, formats)
    money = wb["PL2 - Nguồn vốn theo đơn vị"]
    assert money.cell(8, 3).number_format == "[$-42A]#,##0.000"
    b01 = wb["Biểu 01 - Chỉ tiêu"]
    assert isinstance(b01["D5"].value, int | float) and b01["D5"].number_format == PCT_FMT
    status = wb["Tình hình gửi báo cáo"]
    received = [status.cell(r, 5) for r in range(5, status.max_row + 1)
                if status.cell(r, 3).value and status.cell(r, 5).value]
    assert received and all(isinstance(c.value, datetime) for c in received)
    assert all(c.number_format == "dd/mm/yyyy hh:mm" for c in received)
    ratios = [r for r in status.iter_rows(values_only=True) if r[1] == "Tỷ lệ đầy đủ"]
    assert ratios and 0 < ratios[0][3] <= 1
    assert wb["Số liệu cần lưu ý"]["B5"].value in ("không có",) or \
        wb["Số liệu cần lưu ý"]["A5"].value == 1


def test_empty_lists_say_so(tmp_path):
    url = f"sqlite:///{tmp_path / 'wh.sqlite'}"
    migrate(url)
    engine = get_engine(url)
    prog = load_programme("lang-son")
    sync_programme(engine, prog)
    commune = next(u for u in prog.expected_units(prog.period(PERIOD)) if u.kind == "commune")
    seed(engine, prog, PERIOD, commune.code, {("W_DEP", "CN", "total"): 3})
    wb = load_workbook(BytesIO(_xlsx(engine, prog)))
    assert wb["Số liệu cần lưu ý"]["B5"].value == "không có"
    assert wb["So sánh cùng kỳ"]["A5"].value == "không có"
    engine.dispose()


def test_every_annex_page_prints_at_8_pt_or_more(annex):
    """LibreOffice prints each sheet on A4: no page has text under 8 pt (headers and footers
    included), every sheet has pages, and a draft says so on every page."""
    need_libreoffice()
    engine, prog, _figures, _missing, folder = annex
    pdf = pdf_of(_xlsx(engine, prog, draft=True), folder, "annex")
    sizes = printed_sizes(pdf, folder)
    pages = page_words(pdf)
    sheets = [page_sheet(p, SHEETS) for p in pages]
    assert set(sheets) == set(SHEETS)
    small = [(n, s, round(size, 2)) for n, (s, size) in enumerate(zip(sheets, sizes,
                                                                       strict=True), 1)
             if size < 8.0]
    assert small == [], small
    assert all("BẢN DỰ THẢO" in " ".join(w[4] for w in p["words"] if w[1] < 45)
               for p in pages)
    # a wide by-unit table keeps its unit names on every page
    for page, sheet in zip(pages, sheets, strict=True):
        if sheet.startswith("PL"):
            text = " ".join(w[4] for w in page["words"])
            assert "UBND" in text or "Sở" in text or "TỔNG CỘNG" in text, sheet


@pytest.mark.parametrize(("part", "whole", "value", "fmt"), [
    (2499, 2500, 0.9996, "[$-42A]0.00%"),  # unmet: never shown as 100,0%
    (2500, 2500, 1.0, PCT_FMT),
    (77, 80, 0.9625, PCT_FMT),  # shows 96,3% as the .docx does (half up)
])
def test_achievement_rates_show_what_the_report_shows(part, whole, value, fmt):
    from openpyxl import Workbook

    from baocao.reports.xlsx_report import _pct

    ws = Workbook().active
    cell = _pct(ws, 1, 1, part, whole, rate=True)
    assert cell.value == value and cell.number_format == fmt
