"""What the rendered reports say: an empty period, programmes without targets, the series note.

Reports are built with ``build_report_data`` and rendered to .docx and .xlsx, then opened with
python-docx and openpyxl; expected figures are computed by hand from the seeded values.
"""

from __future__ import annotations

from datetime import UTC, datetime
from io import BytesIO

import pytest
from docx import Document
from openpyxl import load_workbook
from support import seed_submission as seed

from baocao.programme import list_programme_files, load_programme
from baocao.reports.context import build_report_data, target_table
from baocao.reports.docx_report import render_docx
from baocao.reports.xlsx_report import render_xlsx
from baocao.warehouse.db import get_engine, migrate
from baocao.warehouse.merge import sync_programme

GENERATED = datetime(2026, 6, 21, 0, 0, tzinfo=UTC)  # 07:00 on 21/6/2026 in Vietnam


def docx_text(data: bytes) -> str:
    """Every paragraph and table cell of a .docx, one per line."""
    doc = Document(BytesIO(data))
    lines = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            lines.append(" | ".join(c.text for c in row.cells))
    return "\n".join(lines)


def docx_table(data: bytes, header: str) -> list[list[str]]:
    """The rows of the first table whose first row starts with ``header``."""
    doc = Document(BytesIO(data))
    for table in doc.tables:
        rows = [[c.text for c in r.cells] for r in table.rows]
        if rows and rows[0][0] == header and len(rows[0]) > 1:
            return rows
    raise AssertionError(f"no table headed {header!r}")


def sheet_rows(ws) -> list[list]:
    return [list(r) for r in ws.iter_rows(values_only=True)]


@pytest.fixture
def engine(tmp_path):
    url = f"sqlite:///{tmp_path / 'wh.sqlite'}"
    migrate(url)
    yield get_engine(url)
    get_engine(url).dispose()


def report(engine, code: str, period: str):
    prog = load_programme(code)
    sync_programme(engine, prog)
    data = build_report_data(engine, prog, prog.period(period), generated_at=GENERATED)
    return prog, data, render_docx(data), render_xlsx(data)


def test_empty_period_says_so_and_lists_every_missing_unit(engine):
    prog, data, docx_bytes, xlsx_bytes = report(engine, "lang-son", "2026-H1")
    expected = prog.expected_units(prog.period("2026-H1"))
    assert len(expected) == 80
    text = docx_text(docx_bytes)
    assert ("Đến thời điểm 07:00 ngày 21/06/2026 chưa có đơn vị nào gửi báo cáo 6 tháng đầu "
            "năm 2026; cả 80 đơn vị phải báo cáo đều chưa báo cáo") in text
    # the body does not list 80 names: the status appendix (Phụ lục I) has every unit
    assert "Đơn vị chưa báo cáo: " not in text
    status = docx_table(docx_bytes, "STT")
    assert [r[1] for r in status[1:]] == [u.name for u in expected]
    assert {r[2] for r in status[1:]} == {"Chưa nộp"}
    # no table of zeros pretending to be results, no assessment of nothing
    assert "Thị trường | " not in text and "III. ĐÁNH GIÁ CHUNG" not in text
    assert "PHỤ LỤC I\nTÌNH HÌNH GỬI BÁO CÁO CỦA CÁC CƠ QUAN, ĐƠN VỊ" in text
    assert "PHỤ LỤC II" not in text
    wb = load_workbook(BytesIO(xlsx_bytes))
    assert wb.sheetnames[0] == "Tình hình gửi báo cáo"
    ws = wb["Tình hình gửi báo cáo"]
    assert ws["A3"].value.startswith("Đến thời điểm 07:00 ngày 21/06/2026 chưa có đơn vị nào "
                                     "gửi báo cáo")
    listed = [r[2] for r in sheet_rows(ws)[4:4 + len(expected)]]
    assert listed == [u.code for u in expected]
    assert all(r[3] == "Chưa nộp" for r in sheet_rows(ws)[4:4 + len(expected)])
    assert wb["Biểu 01 - Chỉ tiêu"]["A3"].value == ws["A3"].value


def test_empty_report_is_the_same_on_every_render(engine):
    from baocao.reports.context import context

    prog = load_programme("lang-son")
    sync_programme(engine, prog)
    first, second = (context(build_report_data(engine, prog, prog.period("2026-H1")))
                     for _ in range(2))
    assert first == second  # no clock in the content: the outbox digest stays the same
    assert first["empty_text"].startswith("Đến thời điểm lập báo cáo chưa có đơn vị nào gửi "
                                          "báo cáo 6 tháng đầu năm 2026")


def test_period_with_only_rejected_files_says_none_was_valid(engine):
    prog = load_programme("lang-son")
    sync_programme(engine, prog)
    seed(engine, prog, "2026-H1", "SNV", {}, status="rejected")
    data = build_report_data(engine, prog, prog.period("2026-H1"), generated_at=GENERATED)
    text = docx_text(render_docx(data))
    assert ("chưa có đơn vị nào gửi báo cáo 6 tháng đầu năm 2026 hợp lệ (đã nhận 1 tệp nhưng "
            "đều bị từ chối hoặc trả lại để chỉnh sửa)") in text


@pytest.mark.parametrize("code", [p.stem for p in list_programme_files()])
@pytest.mark.parametrize("period", ["2026-H1", "2025-Y"])
def test_every_programme_renders(engine, code, period):
    prog = load_programme(code)
    sync_programme(engine, prog)
    reporter = next((u for u in prog.expected_units(prog.period(period))
                     if "workers" in prog.unit_sheets(u) and prog.is_local(u)), None)
    if reporter is not None:
        seed(engine, prog, period, reporter.code, {("W_DEP", "TOTAL", "total"): 5})
    prog, data, docx_bytes, xlsx_bytes = report(engine, code, period)
    text = docx_text(docx_bytes)
    assert "BÁO CÁO" in text
    wb = load_workbook(BytesIO(xlsx_bytes))
    assert {"Biểu 01 - Chỉ tiêu", "Biểu 02 - Nguồn vốn", "So sánh cùng kỳ"} <= set(wb.sheetnames)
    if reporter is None:  # thai-nguyen-2023 has no unit left after its merger
        assert data.empty and not data.statuses
        assert "chương trình không có đơn vị nào phải báo cáo kỳ này" in text
        return
    assert "Tổng số lao động đi làm việc ở nước ngoài theo hợp đồng | " in text \
        or prog.targets
    if not prog.targets:
        targets = docx_table(docx_bytes, "Chỉ tiêu")
        assert targets[1][1] == "chưa có chỉ tiêu"
        assert sheet_rows(wb["Biểu 01 - Chỉ tiêu"])[4][1] == "chưa có chỉ tiêu"
        assert sheet_rows(wb["Biểu 01 - Chỉ tiêu"])[4][5] == "chưa có chỉ tiêu"
    if not prog.budget:
        assert {r[1] for r in sheet_rows(wb["Biểu 02 - Nguồn vốn"])[4:11]} == {"chưa có kế hoạch"}


@pytest.mark.parametrize("code", ["ha-tinh", "lam-dong"])
def test_programme_without_targets_or_funds_source(engine, code):
    prog = load_programme(code)
    sync_programme(engine, prog)
    period = prog.period("2026-H1")
    commune = next(u for u in prog.expected_units(period) if u.kind == "commune")
    seed(engine, prog, "2026-H1", commune.code,
         {("W_DEP", "TOTAL", "total"): 42, ("F_FUNDS", "NEF", "disbursed"): 7.5})
    data = build_report_data(engine, prog, period, generated_at=GENERATED)
    docx_bytes, xlsx_bytes = render_docx(data), render_xlsx(data)
    rows = docx_table(docx_bytes, "Chỉ tiêu")
    assert rows[1] == ["Tổng số lao động đi làm việc ở nước ngoài theo hợp đồng",
                       "chưa có chỉ tiêu", "42", "-", "-", "-", "-"]
    text = docx_text(docx_bytes)
    assert ("Chi nhánh Ngân hàng Chính sách xã hội tỉnh không có trong danh sách đơn vị phải "
            "báo cáo 6 tháng đầu năm 2026") in text
    with pytest.raises(AssertionError):  # no table of dashes when the source did not report
        docx_table(docx_bytes, "Nguồn vốn")
    wb = load_workbook(BytesIO(xlsx_bytes))
    nef = next(r for r in sheet_rows(wb["Biểu 02 - Nguồn vốn"])
               if r[0] == "Quỹ quốc gia về việc làm")
    assert nef[1:] == ["chưa có kế hoạch", "-", "-", "-", "-", "-", "-"]
    # the unit's own figure stays visible in the by-unit annexes: its total, and by source
    by_unit = sheet_rows(wb["PL2 - Nguồn vốn theo đơn vị"])
    col = by_unit[5].index("Giải ngân trong kỳ (triệu đồng)")
    assert next(r for r in by_unit if r[1] == commune.name)[col] == 7.5
    detail = sheet_rows(wb["PL2b - Nguồn vốn chi tiết"])
    col = detail[3].index("Giải ngân trong kỳ (triệu đồng)")
    start = next(i for i, r in enumerate(detail) if r[1] == commune.name)
    assert detail[start + 1][1:col + 1] == ["– Quỹ quốc gia về việc làm"] + [0] * (col - 2) \
        + [7.5]


@pytest.fixture
def lang_son_across_2025(engine):
    """Lạng Sơn: districts and old press bodies before 1/7/2025, communes after."""
    prog = load_programme("lang-son")
    sync_programme(engine, prog)
    w = ("W_DEP", "TOTAL", "total")
    cn = ("W_DEP", "CN", "total")
    seeds = {
        ("2024-Y", "H-180"): {w: 300, cn: 150},
        ("2025-H1", "H-180"): {w: 100, cn: 80},
        ("2025-H1", "H-178"): {w: 50},
        ("2025-H1", "H-183"): {w: 70},
        ("2025-H1", "H-184"): {w: 30},
        ("2025-H1", "H-189"): {w: 20},
        ("2025-Y", "X-06040"): {w: 400, cn: 200},
        ("2026-H1", "X-06040"): {w: 60, cn: 50},
        ("2026-H1", "X-06001"): {w: 55, cn: 40},
        ("2026-H1", "X-06316"): {w: 40},
        ("2026-H1", "X-05986"): {w: 25},
        ("2026-H1", "X-06613"): {w: 12},
    }
    for (period, unit), values in seeds.items():
        seed(engine, prog, period, unit, values)
    return prog


def test_series_note_and_comparisons_across_2025(engine, lang_son_across_2025):
    prog = lang_son_across_2025
    data = build_report_data(engine, prog, prog.period("2026-H1"), generated_at=GENERATED)
    docx_bytes, xlsx_bytes = render_docx(data), render_xlsx(data)
    text = docx_text(docx_bytes)
    note = ("Ghi chú: Số liệu các kỳ trước ngày 01/7/2025 của UBND huyện Tràng Định được cộng "
            "dồn vào nhóm 7 đơn vị kế thừa (xã Thất Khê, xã Đoàn Kết")
    assert note in text
    assert ("Số liệu các kỳ trước ngày 01/7/2025 của UBND thành phố Lạng Sơn, UBND huyện Cao "
            "Lộc, UBND huyện Văn Quan được cộng dồn vào nhóm 14 đơn vị kế thừa") in text
    assert "so sánh theo cả nhóm" in text
    # Sùng Tả: half of 5.000 (indicative), 90 achieved; 80 a year earlier (+12,5%);
    # cumulative over the years with figures: 150 (2024) + 280 (2025: the communes' 200 and,
    # by lang-son's year rule, the districts' first half 80) + 90 = 520 against
    # 2 × 5.000 + 2.500; 2023 has no figures, so the label starts in 2024
    rows = docx_table(docx_bytes, "Chỉ tiêu")
    cn = next(r for r in rows if r[0].startswith("Lao động đi làm việc tại thành phố Sùng Tả"))
    assert cn[1:] == ["2.500*", "90", "3,6%", "Chưa đạt", "80", "12,5%"]
    full = next(rows for t in Document(BytesIO(docx_bytes)).tables
                for rows in [[[c.text for c in row.cells] for row in t.rows]]
                if len(rows[0]) == 10 and rows[0][0] == "Chỉ tiêu")
    assert full[0][7] == "Lũy kế 2024 – 6 tháng đầu năm 2026"
    year = next(r for r in full if r[0].startswith("Lao động đi làm việc tại thành phố Sùng"))
    assert year[1:] == ["2.500*", "90", "3,6%", "Chưa đạt", "5.000", "1,8%", "520", "12.500*",
                        "4,2%"]
    # growth of the total: 270 -> 192 is a fall of 28,9%
    # a year earlier only 5 of the 11 districts reported: the sentence says so
    assert ("6 tháng đầu năm 2026 đạt 192 lao động, giảm 28,9% so với cùng kỳ năm trước "
            "(270 lao động; 5/11 địa phương có số liệu), chưa đạt mục tiêu tăng trưởng") in text
    areas = docx_table(docx_bytes, "Đơn vị, địa bàn")
    assert ["Các xã, phường trên địa bàn huyện Tràng Định (cũ)", "100", "115", "15,0%"] in areas
    wb = load_workbook(BytesIO(xlsx_bytes))
    ws = wb["So sánh cùng kỳ"]
    body = sheet_rows(ws)
    city = next(r for r in body if r[0] and "thành phố Lạng Sơn" in r[0])
    assert city[1:3] == [150, 65]
    total = next(r for r in body if r[0] == "Tổng cộng")
    assert total[1:3] == [270, 192]
    assert any(r[0] and r[0].startswith("Số liệu các kỳ trước ngày 01/7/2025 của UBND huyện "
                                        "Tràng Định") for r in body)
    b01 = sheet_rows(wb["Biểu 01 - Chỉ tiêu"])
    cn_row = next(r for r in b01 if r[0] and r[0].startswith("Lao động đi làm việc tại thành"))
    # numbers and percentages are numbers (0,036 shows 3,6%)
    assert cn_row[1:] == [2500, 90, 0.036, "Chưa đạt", 5000, 0.018, 520, 12500, 0.0416, 80,
                          0.125]
    assert any(r[0] and "cộng dồn vào" in r[0] for r in b01)


def test_no_note_when_the_unit_set_did_not_change(engine):
    prog = load_programme("lang-son")
    sync_programme(engine, prog)
    for period, value in (("2025-Y", 10), ("2026-Y", 12)):
        seed(engine, prog, period, "X-06040", {("W_DEP", "TOTAL", "total"): value})
    data = build_report_data(engine, prog, prog.period("2026-Y"), generated_at=GENERATED)
    text = docx_text(render_docx(data))
    assert "cộng dồn vào" not in text
    assert ("Năm 2026 đạt 12 lao động, tăng 20,0% so với cùng kỳ năm trước (10 lao động; 1/65 "
            "địa phương có số liệu)") in text


def test_target_row_without_a_target_for_the_year(engine, lang_son_across_2025):
    prog = lang_son_across_2025
    cn, other = prog.targets
    partial = prog.model_copy(update={"targets": [
        cn, other.model_copy(update={"per_year": {2023: 400, 2024: 400}})]})
    data = build_report_data(engine, partial, partial.period("2026-H1"),
                             generated_at=GENERATED)
    docx_bytes, xlsx_bytes = render_docx(data), render_xlsx(data)
    rows = docx_table(docx_bytes, "Chỉ tiêu")
    row = next(r for r in rows if r[0].startswith("Lao động đi làm việc tại các quốc gia"))
    assert row[1:5] == ["chưa có chỉ tiêu", "0", "-", "-"]
    b01 = sheet_rows(load_workbook(BytesIO(xlsx_bytes))["Biểu 01 - Chỉ tiêu"])
    row = next(r for r in b01 if r[0] and r[0].startswith("Lao động đi làm việc tại các quốc"))
    assert (row[1], row[5], row[8]) == ("chưa có chỉ tiêu",) * 3
    assert 0 not in (row[1], row[5], row[8]) and None not in (row[1], row[5], row[8])


@pytest.mark.parametrize(("achieved", "met", "pct"), [(2499, "Chưa đạt", "99,96%"),
                                                      (2500, "Đạt", "100,0%"),
                                                      (2501, "Đạt", "100,0%")])
def test_achievement_at_the_boundary_is_judged_on_exact_values(engine, achieved, met, pct):
    """Half of 5.000 is the half-year mark: 2.499 is not met and never reads '100,0%'."""
    prog = load_programme("lang-son")
    sync_programme(engine, prog)
    seed(engine, prog, "2026-H1", "X-06040", {("W_DEP", "CN", "total"): achieved,
                                              ("W_DEP", "TOTAL", "total"): achieved})
    data = build_report_data(engine, prog, prog.period("2026-H1"), generated_at=GENERATED)
    docx_bytes = render_docx(data)
    rows = docx_table(docx_bytes, "Chỉ tiêu")
    cn = next(r for r in rows if r[0].startswith("Lao động đi làm việc tại thành phố Sùng Tả"))
    assert cn[1:5] == ["2.500*", f"{achieved // 1000}.{achieved % 1000:03d}", pct, met]
    text = docx_text(docx_bytes)
    assert not any("Chưa đạt" in r and "100,0%" in r for r in rows)
    if met == "Chưa đạt":
        assert ("bằng 99,96% mục tiêu 6 tháng (1/2 mục tiêu năm), chưa đạt mục tiêu (còn thiếu "
                "1 người)") in text
    else:
        assert f"bằng {pct} mục tiêu 6 tháng (1/2 mục tiêu năm), đạt mục tiêu." in text


def test_percentages_round_half_up():
    from baocao.reports.context import percent
    from baocao.warehouse.readmodels import half_up_pct

    assert percent(77, 80) == "96,3%" and half_up_pct(77, 80) == 96.3
    assert percent(1, 8) == "12,5%" and percent(1, 3) == "33,3%" and percent(2, 3) == "66,7%"
    assert percent(0, 0) == "-" and half_up_pct(0, 0) == 0.0
    assert percent(2499, 2500, met=False) == "99,96%"
    assert percent(49999, 50000, met=False) == "99,998%"


def test_annual_report_adds_the_districts_first_half_by_the_programme_rule(engine):
    """Lạng Sơn 2025: districts' first half (to 14/6) + communes from 15/6 (add_first_half);
    the sentence says so, and the figure is the sum."""
    prog = load_programme("lang-son")
    sync_programme(engine, prog)
    w, cn = ("W_DEP", "TOTAL", "total"), ("W_DEP", "CN", "total")
    seed(engine, prog, "2025-H1", "H-180", {w: 100, cn: 80, ("F_FUNDS", "NEF", "outstanding"): 9})
    seed(engine, prog, "2025-H1", "H-181", {w: 50, cn: 50})
    seed(engine, prog, "2025-Y", "X-06040", {w: 400, cn: 300})
    data = build_report_data(engine, prog, prog.period("2025-Y"), generated_at=GENERATED)
    assert data.total(["W_DEP.TOTAL.total"]) == 550
    assert ("F_FUNDS", "NEF", "outstanding") not in data.carried  # stocks are not added
    text = docx_text(render_docx(data))
    assert "toàn tỉnh có 550 lao động" in text
    assert ("Số liệu năm 2025 gồm số liệu 6 tháng đầu năm (đến ngày 14/06/2025) của UBND các "
            "huyện, thành phố trước khi sắp xếp (2/11 đơn vị có báo cáo, 150 lao động đi làm "
            "việc ở nước ngoài) cộng với số liệu của các đơn vị hiện nay từ ngày "
            "15/06/2025") in text
    # the 2026 cumulative counts 2025 the same way
    seed(engine, prog, "2026-Y", "X-06040", {w: 10, cn: 10})
    data = build_report_data(engine, prog, prog.period("2026-Y"), generated_at=GENERATED)
    row = next(t for t in target_table(data)
               if t["name"].startswith("Lao động đi làm việc tại thành phố Sùng Tả"))
    assert row["cumulative_value"] == 440 and row["cumulative_label"] == "2025 – 2026"
    assert row["previous_value"] == 430  # 300 from the communes + 80 + 50 (first half)


def test_annual_report_with_the_whole_year_rule_does_not_add(engine):
    prog = load_programme("lam-dong")
    sync_programme(engine, prog)
    w = ("W_DEP", "TOTAL", "total")
    district = next(u for u in prog.expected_units(prog.period("2025-H1"))
                    if u.kind == "district")
    commune = next(u for u in prog.expected_units(prog.period("2025-Y")) if u.kind == "commune")
    seed(engine, prog, "2025-H1", district.code, {w: 70})
    seed(engine, prog, "2025-Y", commune.code, {w: 200})
    data = build_report_data(engine, prog, prog.period("2025-Y"), generated_at=GENERATED)
    assert data.total(["W_DEP.TOTAL.total"]) == 200
    text = docx_text(render_docx(data))
    assert "toàn tỉnh có 200 lao động" in text
    assert "70 lao động đi làm việc ở nước ngoài) chỉ để đối chiếu, không cộng thêm" in text
