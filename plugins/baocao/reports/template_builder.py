"""Build ``include/templates/report.docx``, the docxtpl template of the consolidated report.

Run once after changing the layout (``python -m baocao.reports.template_builder``) and commit
the .docx: officials may then edit it in Word. Layout per Decree 30/2020/NĐ-CP, Annex I: A4,
Times New Roman, margins 20/20/30/15 mm, two-column header, italic place and date, page
numbers centred in the top margin from page 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt

FONT = "Times New Roman"


def _font(run, size: float = 14, bold: bool = False, italic: bool = False,
          underline: bool = False) -> None:
    run.font.name = FONT
    run.font.size = Pt(size)
    run.bold, run.italic, run.underline = bold, italic, underline
    rpr = run._element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.append(fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)


def _para(container, text: str = "", size: float = 14, bold: bool = False,
          italic: bool = False, align=WD_ALIGN_PARAGRAPH.JUSTIFY, indent: bool = False,
          underline: bool = False, before: float = 0, after: float = 6):
    p = container.add_paragraph()
    p.alignment = align
    fmt = p.paragraph_format
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    fmt.line_spacing = 1.15
    if indent:
        fmt.first_line_indent = Cm(1.27)
    if text:
        _font(p.add_run(text), size, bold, italic, underline)
    return p


def _page_number_header(section) -> None:
    section.different_first_page_header_footer = True
    p = section.header.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = p.add_run()
    _font(run, 13)
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        else:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = text
        run._element.append(el)


def _widths(table, widths_cm: list[float]) -> None:
    """Fixed column widths that Word and LibreOffice both honour (grid and cells)."""
    table.autofit = False
    grid = table._element.tblGrid
    for col, w in zip(grid.findall(qn("w:gridCol")), widths_cm, strict=True):
        col.set(qn("w:w"), str(int(Cm(w).twips)))
    for row in table.rows:
        for cell, w in zip(row.cells, widths_cm, strict=True):
            cell.width = Cm(w)
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    table._element.tblPr.append(layout)


def _no_borders(table) -> None:
    tbl_pr = table._element.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "nil")
        borders.append(el)
    tbl_pr.append(borders)


def _cell_text(cell, text: str, size: float = 12, bold: bool = False, italic: bool = False,
               align=WD_ALIGN_PARAGRAPH.CENTER, underline: bool = False) -> None:
    p = cell.paragraphs[0]
    p.alignment = align
    p.paragraph_format.space_after = Pt(0)
    _font(p.add_run(text), size, bold, italic, underline)


def _loop_table(doc, headers: list[str], fields: list[str], loop: str, widths: list[float],
                size: float = 11) -> None:
    """A bordered table: header row, a ``{%tr for %}`` row, a data row, an ``endfor`` row."""
    table = doc.add_table(rows=4, cols=len(headers))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for i, h in enumerate(headers):
        _cell_text(table.rows[0].cells[i], h, size, bold=True)
    _cell_text(table.rows[1].cells[0], f"{{%tr for r in {loop} %}}", size)
    for i, f in enumerate(fields):
        align = WD_ALIGN_PARAGRAPH.LEFT if i == 0 or f in ("r.unit", "r.text", "r.message") \
            else WD_ALIGN_PARAGRAPH.RIGHT
        _cell_text(table.rows[2].cells[i], f"{{{{ {f} }}}}", size, align=align)
    _cell_text(table.rows[3].cells[0], "{%tr endfor %}", size)
    _widths(table, widths)


def build(path: Path) -> None:
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    section.header_distance = Mm(10)
    style = doc.styles["Normal"]
    style.font.name, style.font.size = FONT, Pt(14)
    _page_number_header(section)

    head = doc.add_table(rows=1, cols=2)
    _no_borders(head)
    _widths(head, [6.3, 10.2])
    left, right = head.rows[0].cells
    _cell_text(left, "{{ issuer_parent }}", 12.5)
    lp = left.add_paragraph()
    lp.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(lp.add_run("{{ issuer_name }}"), 13, bold=True)
    lp2 = left.add_paragraph()
    lp2.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(lp2.add_run("{% if party %}*{% else %}―――――{% endif %}"), 13)
    lp3 = left.add_paragraph()
    lp3.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(lp3.add_run("{{ number }}"), 13)
    _cell_text(right, "{{ national_title }}", 12.5, bold=True)
    rp = right.add_paragraph()
    rp.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(rp.add_run("{{ motto }}"), 13.5, bold=True, underline=True)
    rp2 = right.add_paragraph()
    rp2.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(rp2.add_run("{{ place_date }}"), 14, italic=True)

    _para(doc, "BÁO CÁO", 14, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, before=12, after=0)
    _para(doc, "{{ subject }}", 14, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _para(doc, "―――――――", 14, align=WD_ALIGN_PARAGRAPH.CENTER, after=12)

    _para(doc, "Số liệu trong báo cáo được tổng hợp từ báo cáo của các cơ quan, đơn vị, địa "
               "phương, tính {{ cutoff }}; số liệu chốt lúc {{ data_as_of }}. Đã nhận báo cáo "
               "của {{ received }}/{{ expected }} đơn vị (tỷ lệ đầy đủ {{ completeness }}, "
               "đúng hạn {{ timeliness }}).", indent=True)

    _para(doc, "I. KẾT QUẢ THỰC HIỆN", bold=True)
    _para(doc, "{%p if empty %}", after=0)
    _para(doc, "{{ empty_text }}", bold=True, indent=True)
    _para(doc, "{%p else %}", after=0)
    _para(doc, "1. Kết quả đưa người lao động đi làm việc ở nước ngoài", bold=True)
    _para(doc, "Trong {{ period_title }}, toàn tỉnh có {{ w_total }} lao động đi làm việc ở "
               "nước ngoài theo hợp đồng (tổng hợp từ báo cáo của các địa phương), trong đó "
               "{{ w_women }} lao động nữ, {{ w_ethnic }} người dân tộc thiểu số. Số liệu của "
               "cơ quan thường trực: {{ w_lead_total }} lao động (chênh lệch "
               "{{ w_lead_diff }}).", indent=True)
    _loop_table(doc, ["Thị trường", "Tổng số", "Nữ", "DTTS", "Xuất ngũ", "Hộ nghèo",
                      "Cận nghèo"],
                ["r.name", "r.total", "r.women", "r.ethnic", "r.demob", "r.poor",
                 "r.near_poor"], "worker_rows", [5.1, 2, 1.8, 1.8, 1.9, 1.9, 2])
    _para(doc, "{{ targets_intro }} {{ growth_text }}", indent=True, before=6)
    _loop_table(doc, ["Chỉ tiêu", "Mục tiêu kỳ báo cáo", "Thực hiện", "Tỷ lệ", "Đánh giá",
                      "Cùng kỳ năm trước", "Tăng/giảm"],
                ["r.name", "r.target", "r.achieved", "r.pct", "r.met", "r.previous",
                 "r.growth"], "targets", [5.3, 2, 2, 1.7, 1.7, 2.1, 1.7])
    _para(doc, "Kết quả cả năm và lũy kế từ năm {{ first_year }}:", indent=True, before=6)
    _loop_table(doc, ["Chỉ tiêu", "Mục tiêu năm", "Tỷ lệ so với mục tiêu năm",
                      "Lũy kế từ năm {{ first_year }}", "Mục tiêu lũy kế", "Tỷ lệ lũy kế"],
                ["r.name", "r.yearly", "r.pct_year", "r.cumulative", "r.cumulative_target",
                 "r.cumulative_pct"], "targets", [5.3, 2.2, 2.2, 2.3, 2.3, 2.2])
    _para(doc, "{{ target_note }}", size=12, italic=True, before=3)
    _para(doc, "{{ cumulative_note }}", size=12, italic=True, before=0)
    _para(doc, "{{ chart }}", align=WD_ALIGN_PARAGRAPH.CENTER, before=6)
    _para(doc, "{%p if area_rows %}", after=0)
    _para(doc, "So sánh với cùng kỳ năm trước theo địa bàn (đơn vị hiện nay):", indent=True,
          before=6)
    _loop_table(doc, ["Đơn vị, địa bàn", "Cùng kỳ năm trước", "Kỳ này", "Tăng/giảm"],
                ["r.name", "r.previous", "r.current", "r.growth"], "area_rows",
                [9.5, 2.5, 2.5, 2])
    _para(doc, "{%p endif %}", after=0)
    _para(doc, "{%p for n in series_notes %}", after=0)
    _para(doc, "Ghi chú: {{ n }}", italic=True, indent=True, size=12)
    _para(doc, "{%p endfor %}", after=0)
    _para(doc, "Các chỉ tiêu khác:", indent=True, before=6)
    _loop_table(doc, ["Chỉ tiêu", "Kỳ này", "Cùng kỳ năm trước"],
                ["r.name", "r.value", "r.previous"], "worker_other", [10.5, 3, 3])

    _para(doc, "2. Nguồn vốn hỗ trợ, cho vay", bold=True, before=6)
    _para(doc, "{%p if has_budget %}", after=0)
    _para(doc, "Tổng kinh phí giai đoạn {{ budget_years }} theo Kế hoạch (Biểu số 02): "
               "{{ budget_total }} tỷ đồng. Số liệu theo báo cáo của Ngân hàng Chính sách xã "
               "hội (triệu đồng):", indent=True)
    _para(doc, "{%p endif %}", after=0)
    _loop_table(doc, ["Nguồn vốn", "Kế hoạch", "Giải ngân trong kỳ", "Lũy kế", "Tỷ lệ",
                      "Số người", "Dư nợ", "Nợ quá hạn"],
                ["r.name", "r.budget", "r.disbursed", "r.cumulative", "r.pct",
                 "r.beneficiaries", "r.outstanding", "r.overdue"], "fund_rows",
                [3.7, 2.1, 1.9, 2.1, 1.5, 1.5, 2, 1.7], size=10)
    _para(doc, "{%p if funds_note %}", after=0)
    _para(doc, "{{ funds_note }}", italic=True, indent=True, size=12, before=3)
    _para(doc, "{%p endif %}", after=0)

    _para(doc, "3. Tuyên truyền, tư vấn, đào tạo", bold=True, before=6)
    _loop_table(doc, ["Chỉ tiêu", "Kỳ này", "Cùng kỳ năm trước"],
                ["r.name", "r.value", "r.previous"], "communication", [10.5, 3, 3])
    _para(doc, "4. Thanh tra, kiểm tra, xử lý vi phạm và bảo hộ công dân", bold=True, before=6)
    _loop_table(doc, ["Chỉ tiêu", "Kỳ này", "Cùng kỳ năm trước"],
                ["r.name", "r.value", "r.previous"], "enforcement", [10.5, 3, 3])

    _para(doc, "5. Kết quả thực hiện nhiệm vụ của các cơ quan, đơn vị", bold=True, before=6)
    _para(doc, "{%p for g in task_groups %}", after=0)
    _para(doc, "{{ g.name }}", italic=True, bold=True, indent=True)
    _para(doc, "{%p for t in g.entries %}", after=0)
    _para(doc, "- {{ t.units }} ({{ t.status }}): {{ t.text }}", indent=True)
    _para(doc, "{%p endfor %}", after=0)
    _para(doc, "{%p endfor %}", after=0)

    _para(doc, "II. KHÓ KHĂN, VƯỚNG MẮC", bold=True, before=6)
    _para(doc, "{%p for r in difficulties %}", after=0)
    _para(doc, "- {{ r.units }}: \u201c{{ r.text }}\u201d", indent=True)
    _para(doc, "{%p endfor %}", after=0)
    _para(doc, "III. ĐỀ XUẤT, KIẾN NGHỊ", bold=True, before=6)
    _para(doc, "{%p for r in recommendations %}", after=0)
    _para(doc, "- {{ r.units }}: \u201c{{ r.text }}\u201d", indent=True)
    _para(doc, "{%p endfor %}", after=0)
    _para(doc, "IV. PHƯƠNG HƯỚNG, NHIỆM VỤ KỲ TỚI", bold=True, before=6)
    _para(doc, "{%p for r in next_plan %}", after=0)
    _para(doc, "- {{ r.units }}: {{ r.text }}", indent=True)
    _para(doc, "{%p endfor %}", after=0)
    _para(doc, "{%p endif %}", after=0)

    _para(doc, "{% if empty %}II{% else %}V{% endif %}. TÌNH HÌNH GỬI BÁO CÁO CỦA CÁC CƠ "
               "QUAN, ĐƠN VỊ", bold=True, before=6)
    _para(doc, "Số đơn vị phải báo cáo: {{ expected }}; đúng hạn: {{ on_time }}; muộn: "
               "{{ late }}; chưa báo cáo hoặc báo cáo chưa hợp lệ: {{ missing }}. Đơn vị gửi "
               "muộn: {{ late_units }}. Đơn vị chưa báo cáo: {{ missing_units }}.", indent=True)
    _loop_table(doc, ["STT", "Cơ quan, đơn vị", "Tình trạng", "Ngày nhận", "Lần gửi"],
                ["r.no", "r.unit", "r.status", "r.received", "r.version"], "statuses",
                [1.2, 8.3, 3.8, 2.2, 1.5], size=10)
    _para(doc, "{%p if warnings %}", after=0)
    _para(doc, "Số liệu cần lưu ý (đã tiếp nhận, đề nghị đơn vị kiểm tra lại):", indent=True,
          before=6)
    _loop_table(doc, ["Đơn vị", "Vị trí", "Nội dung"], ["r.unit", "r.where", "r.message"],
                "warnings", [4.5, 3.5, 8.5], size=10)
    _para(doc, "{%p endif %}", after=0)
    _para(doc, "{%p for n in notes %}", after=0)
    _para(doc, "Ghi chú: {{ n }}", italic=True, indent=True, size=12)
    _para(doc, "{%p endfor %}", after=0)

    foot = doc.add_table(rows=1, cols=2)
    _no_borders(foot)
    _widths(foot, [8.5, 8])
    left, right = foot.rows[0].cells
    _cell_text(left, "Nơi nhận:", 12, bold=True, italic=True, align=WD_ALIGN_PARAGRAPH.LEFT)
    rec = left.add_paragraph()
    rec.paragraph_format.space_after = Pt(0)
    _font(rec.add_run("{%p for r in recipients %}"), 11)
    item = left.add_paragraph()
    item.paragraph_format.space_after = Pt(0)
    _font(item.add_run("- {{ r }}{% if not loop.last %};{% else %}.{% endif %}"), 11)
    end = left.add_paragraph()
    _font(end.add_run("{%p endfor %}"), 11)
    _cell_text(right, "{{ sign_authority }}", 14, bold=True)
    pos = right.add_paragraph()
    pos.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(pos.add_run("{{ sign_position }}"), 14, bold=True)
    for _ in range(3):
        right.add_paragraph()
    name = right.add_paragraph()
    name.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(name.add_run("{{ sign_name }}"), 14, bold=True)
    doc.core_properties.title = "Báo cáo tổng hợp"
    doc.core_properties.author = "baocao"
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(path)


if __name__ == "__main__":  # pragma: no cover
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else \
        Path(__file__).resolve().parents[3] / "include" / "templates" / "report.docx"
    build(out)
    print(out)
