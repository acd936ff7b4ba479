"""Blank forms a clerk fills and prints without help.

Input cells never move within a form version (forms in clerks' hands stay valid); each row
names its unit of measure; the last sheet ends with the sign-off block; the guide says the
deadline as the rule counts it and how to send in production. Printed by LibreOffice: every
sheet on at most 2 A4 pages, each page with its row labels, the guide not cut, no text
under 8 pt.
"""

from __future__ import annotations

import json
import re
import unicodedata
from io import BytesIO

import pytest
from _print import need_libreoffice, page_sheet, page_text, pdf_of, printed_sizes
from openpyxl import load_workbook
from support import DATA

from baocao.forms import (
    GUIDE_SHEET,
    NARRATIVES,
    SHEET_TITLES,
    build_form,
    guide_lines,
    member_names_on,
    signoff_cells,
    workbook_layouts,
)
from baocao.preview import page_words

PERIOD = "2026-H1"
FIXTURE = DATA / "form_cells_2026.1.json"


def _units(prog):
    units = prog.expected_units(prog.period(PERIOD))
    commune = next(u for u in units if u.kind == "commune")
    return commune, prog.unit("SNV", prog.period(PERIOD).deadline)


def test_input_cells_of_the_form_version_do_not_move(programme):
    """Forms of version 2026.1 are in clerks' hands: every input cell stays where it was."""
    fixed = json.loads(FIXTURE.read_text(encoding="utf-8"))
    assert programme.form_version == fixed["form_version"]
    for unit in programme.expected_units(programme.period(PERIOD)):
        for lay in workbook_layouts(programme, unit):
            if lay.sheet == "tasks":
                got = {t.status_cell: f"status|{n}" for n, t in enumerate(lay.tasks, 1)}
                got |= {t.description_cell: f"description|{n}"
                        for n, t in enumerate(lay.tasks, 1)}
                got |= {a: f"narrative|{k}" for k, a in lay.narratives.items()}
                assert got == fixed["tasks"][str(len(lay.tasks))], unit.code
            else:
                assert {c.address: "|".join([c.indicator, c.row, c.col, c.formula])
                        for c in lay.cells} == fixed["sheets"][lay.name], lay.name


def test_each_row_names_its_unit_of_measure(programme):
    commune, _ = _units(programme)
    wb = load_workbook(BytesIO(build_form(programme, commune, programme.period(PERIOD))))
    units = {}
    for sheet in ("communication", "enforcement", "workers"):
        ws = wb[SHEET_TITLES[sheet][0]]
        for row in ws.iter_rows(min_row=6, values_only=True):
            if row[1] and row[3] and row[0] and str(row[0]).isdigit():
                units[row[1]] = row[3]
    assert units["Số hội nghị tuyên truyền"] == "hội nghị"
    assert units["Số tin, bài, phóng sự phát thanh, truyền hình"] == "tin, bài"
    assert units["Số lớp tập huấn cho cán bộ"] == "lớp"
    assert units["Số cuộc thanh tra, kiểm tra"] == "cuộc"
    assert units["Số doanh nghiệp được kiểm tra"] == "doanh nghiệp"
    assert units["Số vụ án hình sự"] == "vụ"
    assert units["Số tiền xử phạt (triệu đồng)"] == "triệu đồng"
    assert units["Số người được tư vấn"] == "người"
    assert "người/lượt" not in json.dumps([list(r) for ws in wb for r in
                                           ws.iter_rows(values_only=True)], ensure_ascii=False)
    workers = wb[SHEET_TITLES["workers"][0]]
    assert workers["A4"].value == "Đơn vị tính: người"
    assert "(đơn vị tính: người)" in workers["A6"].value


def test_the_last_sheet_ends_with_the_sign_off_block(programme):
    commune, _ = _units(programme)
    wb = load_workbook(BytesIO(build_form(programme, commune, programme.period(PERIOD))))
    lay = workbook_layouts(programme, commune)[-1]
    ws = wb[lay.name]
    texts = {c.value for row in ws.iter_rows(min_row=lay.last_row + 1) for c in row if c.value}
    assert {"NGƯỜI LẬP BIỂU", "THỦ TRƯỞNG ĐƠN VỊ", "(Ký, ghi rõ họ tên)", "(Ký tên, đóng dấu)",
            "Số điện thoại:"} <= texts
    for addr in signoff_cells(lay).values():  # typed by the clerk, below every other row
        assert ws[addr].protection.locked is False
        assert ws[addr].row > lay.last_row
    others = [w for w in wb.worksheets if w.title not in (lay.name, "_meta")]
    assert not any("NGƯỜI LẬP BIỂU" == c.value for w in others for r in w.iter_rows()
                   for c in r)


def test_guide_in_plain_words_with_the_deadline_as_it_counts(programme):
    commune, lead = _units(programme)
    period = programme.period(PERIOD)
    lines = [text for _style, text in guide_lines(programme, commune, period,
                                                  workbook_layouts(programme, commune))]
    text = "\n".join(lines)
    assert "chậm nhất ngày 20/6/2026 (gửi trong ngày 20/6/2026 là đúng hạn" in text
    for jargon in ("số nguyên không âm", "kho tiếp nhận", "trước ngày 20/06/2026"):
        assert jargon not in text
    assert "ví dụ 12" in text and "1.234,5" in text
    assert f"receipts/{commune.code}" in text and f"inbox/{commune.code}" in text
    wb = load_workbook(BytesIO(build_form(programme, commune, period)))
    ws = wb[GUIDE_SHEET]
    rows = [ws.cell(r, 1) for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value]
    assert [c.value for c in rows] == lines  # one instruction per row
    assert all(c.alignment.wrap_text for c in rows)
    assert all(unicodedata.is_normalized("NFC", t) for t in lines)


def test_guide_tells_how_to_send_in_production(programme, baocao_env):
    baocao_env(bucket_url="s3://baocao-intake",
               upload_console_url="https://baocao.langson.gov.vn:9001",
               upload_endpoint_url="https://s3.baocao.langson.gov.vn")
    commune, _ = _units(programme)
    period = programme.period(PERIOD)
    text = "\n".join(t for _s, t in guide_lines(programme, commune, period,
                                                workbook_layouts(programme, commune)))
    user = f"lang-son-{commune.code}"
    assert f"Mở trang https://baocao.langson.gov.vn:9001 và đăng nhập bằng tài khoản {user}" \
        in text
    assert f"mc alias set baocao https://s3.baocao.langson.gov.vn {user}" in text
    assert f'mc cp "<tệp báo cáo>.xlsx" baocao/baocao-intake/lang-son/inbox/{commune.code}/' in text


def _labels(lay) -> list[str]:
    """The texts that say what each row is: row labels, tasks, the boxes' headings."""
    if lay.sheet == "tasks":
        return [t.text for t in lay.tasks] + [label.upper() for label in NARRATIVES.values()]
    return [text for _r, col, text, style in lay.labels if col == 2 and style == "text"]


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


@pytest.mark.parametrize("code, unit_code", [("lang-son", "commune"), ("lang-son", "SNV"),
                                             ("thai-nguyen", "DU-UBND")])
def test_blank_form_prints_on_a4(tmp_path, code, unit_code):
    """Each sheet on at most 2 pages, each page with its row labels; the guide whole; no
    text under 8 pt (the sign-off block included)."""
    need_libreoffice()
    from baocao.programme import load_programme

    prog = load_programme(code)
    period = prog.period(PERIOD if code == "lang-son" else "2026-Y")
    units = prog.expected_units(period)
    unit = next(u for u in units if u.kind == unit_code or u.code == unit_code)
    pdf = pdf_of(build_form(prog, unit, period), tmp_path, f"form-{unit.code}")
    pages = page_words(pdf)
    layouts = workbook_layouts(prog, unit)
    names = [GUIDE_SHEET, *[lay.name for lay in layouts]]
    by_sheet: dict[str, list[dict]] = {}
    for page in pages:
        by_sheet.setdefault(page_sheet(page, names), []).append(page)
    assert set(by_sheet) == set(names), by_sheet.keys()
    for name, sheet_pages in by_sheet.items():
        assert len(sheet_pages) <= 2, (name, len(sheet_pages))
    for lay in layouts:
        sheet_pages = by_sheet[lay.name]
        text = _norm(" ".join(page_text(p) for p in sheet_pages))
        dated = member_names_on(prog, period.deadline)  # the period's wording
        labels = [dated.get(label, label) for label in _labels(lay)]
        for label in labels:  # every row label printed whole
            assert _norm(label) in text, (lay.name, label)
        for page in sheet_pages:  # no page of bare numbers
            assert any(_norm(label)[:25] in _norm(page_text(page)) for label in labels), \
                (lay.name, "a page without row labels")
    guide = _norm(" ".join(page_text(p) for p in by_sheet[GUIDE_SHEET]))
    for _style, line in guide_lines(prog, unit, period, layouts):
        assert _norm(line) in guide, line
    for page in by_sheet[GUIDE_SHEET]:
        assert max(w[2] for w in page["words"]) <= page["width"] - 14  # not cut at the edge
    assert min(printed_sizes(pdf, tmp_path)) >= 8.0
