"""Build ``include/templates/report.docx``, the docxtpl template of the consolidated report.

Run once after changing the layout (``python -m baocao.reports.template_builder``) and commit
the .docx: officials may then edit it in Word. Layout per Decree 30/2020/NĐ-CP, Annex I (state
documents) and Hướng dẫn 36-HD/VPTW (Party documents), chosen by the programme's channel: A4,
Times New Roman, margins 20/20/30/15 mm; a two-row header table (issuer | national title and
motto, then number | place and date, so each pair shares a line); the rules under the issuer,
the motto or "ĐẢNG CỘNG SẢN VIỆT NAM" and the subject are paragraph borders (``RuleLong``,
``RuleShort``) whose length ``docx_report`` fits to the text above them; page numbers centred
in the top margin from page 2. The body (sections I-V, Nơi nhận, signature) is portrait; the
appendices (Phụ lục) follow in a landscape section. Every table repeats its header row on each
page (``w:tblHeader``) and never splits a row across pages (``w:cantSplit``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt

FONT = "Times New Roman"


def _all_scripts(rpr) -> None:
    """Set the font for every script of a run's properties (Word picks the East Asian or
    complex-script font for some Vietnamese letters otherwise)."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.append(fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)


def _font(run, size: float = 14, bold: bool = False, italic: bool = False,
          underline: bool = False) -> None:
    run.font.name = FONT
    run.font.size = Pt(size)
    run.bold, run.italic, run.underline = bold, italic, underline
    _all_scripts(run._element.get_or_add_rPr())


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


def _draft_line(header) -> None:
    """'BẢN DỰ THẢO …' in red, rendered only for drafts (``draft`` in the context)."""
    from docx.shared import RGBColor

    for text in ("{%p if draft %}", "{{ draft_text }}", "{%p endif %}"):
        p = header.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p.paragraph_format.space_after = Pt(0)
        run = p.add_run(text)
        _font(run, 11, bold=True)
        run.font.color.rgb = RGBColor(0xC0, 0x00, 0x00)


def _page_number_header(section) -> None:
    """Page numbers centred in the top margin from page 2; the draft marking on every page
    (the first page has a header of its own)."""
    section.different_first_page_header_footer = True
    section.first_page_header.is_linked_to_previous = False
    first = section.first_page_header.paragraphs[0]
    first.paragraph_format.space_after = Pt(0)
    _draft_line(section.first_page_header)
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
    _draft_line(section.header)


def _widths(table, widths_cm: list[float]) -> None:
    """Fixed column widths that Word and LibreOffice both honour (grid and cells)."""
    table.autofit = False  # w:tblLayout fixed, in its place in w:tblPr
    grid = table._element.tblGrid
    for col, w in zip(grid.findall(qn("w:gridCol")), widths_cm, strict=True):
        col.set(qn("w:w"), str(int(Cm(w).twips)))
    for row in table.rows:
        for cell, w in zip(row.cells, widths_cm, strict=True):
            cell.width = Cm(w)


def _no_borders(table) -> None:
    tbl_pr = table._element.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "nil")
        borders.append(el)
    later = [tbl_pr.find(qn(f"w:{t}")) for t in ("shd", "tblLayout", "tblCellMar", "tblLook")]
    later = [e for e in later if e is not None]
    if later:  # schema order: tblBorders before shd, tblLayout, tblCellMar, tblLook
        later[0].addprevious(borders)
    else:
        tbl_pr.append(borders)


def _cell_text(cell, text: str, size: float = 12, bold: bool = False, italic: bool = False,
               align=WD_ALIGN_PARAGRAPH.CENTER, underline: bool = False) -> None:
    p = cell.paragraphs[0]
    p.alignment = align
    p.paragraph_format.space_after = Pt(0)
    _font(p.add_run(text), size, bold, italic, underline)



BODY_WIDTH = 16.5  # cm: A4 portrait less 30 + 15 mm
ANNEX_WIDTH = 25.7  # cm: A4 landscape less 25 + 15 mm
TEXT_FIELDS = {"r.name", "r.unit", "r.text", "r.message", "r.task", "r.result", "r.status",
               "r.note", "r.source", "r.other", "r.difficulties", "r.recommendations",
               "r.next_plan", "r.where", "r.former"}


def _row_flags(row, header: bool = False) -> None:
    """Never split the row across pages; repeat it on every page when it is the header."""
    tr_pr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:cantSplit")  # schema order: cantSplit, trHeight, tblHeader
    el.set(qn("w:val"), "true")
    tr_pr.append(el)
    if header:
        el = OxmlElement("w:tblHeader")
        el.set(qn("w:val"), "true")
        tr_pr.append(el)


def _loop_table(doc, headers: list[str], fields: list[str], loop: str, widths: list[float],
                size: float = 12) -> None:
    """A bordered table: a repeated header row, a ``{%tr for %}`` row, the data row, the
    ``endfor`` row. Text columns are left-aligned, figures right-aligned."""
    table = doc.add_table(rows=4, cols=len(headers))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for i, h in enumerate(headers):
        _cell_text(table.rows[0].cells[i], h, size, bold=True)
    _cell_text(table.rows[1].cells[0], f"{{%tr for r in {loop} %}}", size)
    for i, f in enumerate(fields):
        align = WD_ALIGN_PARAGRAPH.LEFT if f in TEXT_FIELDS else \
            WD_ALIGN_PARAGRAPH.CENTER if f in ("r.no", "r.version", "r.received", "r.met",
                                               "r.short") else WD_ALIGN_PARAGRAPH.RIGHT
        _cell_text(table.rows[2].cells[i], f"{{{{ {f} }}}}", size, align=align)
    _cell_text(table.rows[3].cells[0], "{%tr endfor %}", size)
    for n, row in enumerate(table.rows):
        _row_flags(row, header=n == 0)
    _widths(table, widths)


def _rule_styles(doc) -> None:
    """Paragraph styles of the drawn rules: a bottom border on a 3-pt paragraph."""
    for name in ("RuleLong", "RuleShort"):
        style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = doc.styles["Normal"]
        style.font.size = Pt(2)
        ppr = style.element.get_or_add_pPr()
        bdr = OxmlElement("w:pBdr")  # schema order: pBdr, spacing, jc
        bottom = OxmlElement("w:bottom")
        for k, v in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"),
                     ("w:color", "000000")):
            bottom.set(qn(k), v)
        bdr.append(bottom)
        ppr.append(bdr)
        spacing = OxmlElement("w:spacing")
        spacing.set(qn("w:before"), "0")
        spacing.set(qn("w:after"), "0")
        spacing.set(qn("w:line"), "40")
        spacing.set(qn("w:lineRule"), "exact")
        ppr.append(spacing)
        jc = OxmlElement("w:jc")
        jc.set(qn("w:val"), "center")
        ppr.append(jc)


def _rule(container, kind: str = "RuleLong", after: float = 0):
    p = container.add_paragraph(style=kind)
    p.paragraph_format.space_after = Pt(after)
    return p


def _tag(container, text: str) -> None:
    """A paragraph holding only a ``{%p ... %}`` tag (docxtpl removes it)."""
    p = container.add_paragraph()
    p.paragraph_format.space_after = Pt(0)
    _font(p.add_run(text), 14)


def _cell_para(cell, text: str, size: float, bold: bool = False, italic: bool = False,
               first: bool = False, align=WD_ALIGN_PARAGRAPH.CENTER, after: float = 0):
    p = cell.paragraphs[0] if first else cell.add_paragraph()
    p.alignment = align
    p.paragraph_format.space_after = Pt(after)
    p.paragraph_format.space_before = Pt(0)
    if text:
        _font(p.add_run(text), size, bold, italic)
    return p


def _header(doc) -> None:
    """Issuer | national title (and motto), then number | place and date: two rows, so the
    first lines and the 'Số' line with the date line up in both layouts."""
    head = doc.add_table(rows=2, cols=2)
    _no_borders(head)
    _widths(head, [6.5, 10.0])
    left, right = head.rows[0].cells
    cell = left.paragraphs[0]
    cell.paragraph_format.space_after = Pt(0)
    _font(cell.add_run("{%p if has_parent %}"), 13)
    _cell_para(left, "{{ issuer_parent }}", 13)
    _cell_para(left, "{%p endif %}", 13)
    _cell_para(left, "{%p if party %}", 13)
    _cell_para(left, "{{ issuer_name }}", 14, bold=True)
    _cell_para(left, "*", 14)
    _cell_para(left, "{%p else %}", 13)
    _cell_para(left, "{{ issuer_name }}", 13, bold=True)
    _rule(left, "RuleShort")
    _cell_para(left, "{%p endif %}", 13)
    _cell_para(right, "{%p if party %}", 13, first=True)
    _cell_para(right, "{{ national_title }}", 15, bold=True)
    _rule(right, "RuleLong")
    _cell_para(right, "{%p else %}", 13)
    _cell_para(right, "{{ national_title }}", 13, bold=True)
    _cell_para(right, "{{ motto }}", 14, bold=True)
    _rule(right, "RuleLong")
    _cell_para(right, "{%p endif %}", 13)
    left, right = head.rows[1].cells
    _cell_para(left, "{%p if party %}", 13, first=True, after=0)
    _cell_para(left, "{{ number }}", 14)  # Hướng dẫn 36-HD/VPTW: 14 pt
    _cell_para(left, "{%p else %}", 13)
    _cell_para(left, "{{ number }}", 13)  # Decree 30: 13 pt
    _cell_para(left, "{%p endif %}", 13)
    _cell_para(right, "{{ place_date }}", 14, italic=True, first=True, after=0)
    for c in head.rows[1].cells:  # a little air above the 'Số' and date line, both sides
        for p in c.paragraphs:
            p.paragraph_format.space_before = Pt(6)


def _items(doc, loop: str, prefix: str = "", size: float = 14) -> None:
    """One justified, first-line-indented paragraph per item of ``loop``."""
    _tag(doc, f"{{%p for x in {loop} %}}")
    _para(doc, prefix + "{{ x }}", size, indent=True)
    _tag(doc, "{%p endfor %}")


def _heading(doc, text: str, level: int = 1, before: float = 6) -> None:
    """A section heading, kept on the page of what follows it."""
    p = _para(doc, text, 14, bold=True, italic=level == 3, indent=level > 1, before=before)
    p.paragraph_format.keep_with_next = True


def _body(doc) -> None:
    _para(doc, "BÁO CÁO", 14, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, before=18, after=0)
    _para(doc, "{{ subject }}", 14, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=2)
    _tag(doc, "{%p if party %}")
    _para(doc, "-----", 14, align=WD_ALIGN_PARAGRAPH.CENTER, after=12)
    _tag(doc, "{%p else %}")
    _rule(doc, "RuleShort", after=12)
    _tag(doc, "{%p endif %}")
    _para(doc, "{{ opening }}", indent=True)

    _heading(doc, "I. CÔNG TÁC LÃNH ĐẠO, CHỈ ĐẠO, TRIỂN KHAI THỰC HIỆN")
    _items(doc, "leadership")

    _heading(doc, "II. KẾT QUẢ THỰC HIỆN")
    _tag(doc, "{%p if empty %}")
    _para(doc, "{{ empty_text }}", bold=True, indent=True)
    _tag(doc, "{%p else %}")
    _heading(doc, "1. Công tác tuyên truyền, tư vấn, định hướng", 2)
    _items(doc, "communication")
    _heading(doc, "2. Kết quả đưa người lao động đi làm việc ở nước ngoài", 2)
    _items(doc, "departures")
    _loop_table(doc, ["Thị trường", "Số lao động", "Tỷ lệ", "Lao động nữ",
                      "Dân tộc thiểu số"],
                ["r.name", "r.total", "r.share", "r.women", "r.ethnic"], "market_rows",
                [6.5, 2.5, 2.3, 2.5, 2.7])
    _para(doc, "{{ growth_text }}", indent=True, before=6)
    _items(doc, "targets_text")
    _loop_table(doc, ["Chỉ tiêu", "Mục tiêu kỳ báo cáo", "Thực hiện", "Tỷ lệ", "Đánh giá",
                      "Cùng kỳ năm trước", "Tăng/giảm"],
                ["r.name", "r.target", "r.achieved", "r.pct", "r.met", "r.previous",
                 "r.growth"], "targets", [4.6, 2.0, 1.9, 2.0, 1.7, 2.0, 2.3], size=12)
    _tag(doc, "{%p if target_note %}")
    _para(doc, "{{ target_note }}", size=12, italic=True, before=3)
    _tag(doc, "{%p endif %}")
    _para(doc, "{{ chart }}", align=WD_ALIGN_PARAGRAPH.CENTER, before=6)
    _items(doc, "departures_other")
    _heading(doc, "3. Đào tạo, tạo nguồn lao động", 2)
    _items(doc, "training")
    _heading(doc, "4. Chính sách hỗ trợ, vay vốn", 2)
    _items(doc, "funds")
    _tag(doc, "{%p if has_fund_figures %}")
    _para(doc, "Đơn vị tính: triệu đồng", 12, italic=True, align=WD_ALIGN_PARAGRAPH.RIGHT,
          after=2).paragraph_format.keep_with_next = True
    _loop_table(doc, ["Nguồn vốn", "Kế hoạch", "Giải ngân trong kỳ", "Lũy kế", "Tỷ lệ",
                      "Số người", "Dư nợ", "Nợ quá hạn"],
                ["r.name", "r.budget", "r.disbursed", "r.cumulative", "r.pct",
                 "r.beneficiaries", "r.outstanding", "r.overdue"], "fund_rows",
                [3.6, 1.9, 2.1, 2.1, 1.4, 1.3, 2.2, 1.9], size=10)
    _tag(doc, "{%p endif %}")
    _heading(doc, "5. Thanh tra, kiểm tra, xử lý vi phạm, bảo hộ công dân", 2)
    _items(doc, "enforcement")
    _heading(doc, "6. Kết quả thực hiện các nhóm nhiệm vụ", 2)
    _loop_table(doc, ["Nhóm nhiệm vụ", "Số lượt được giao", "Đã hoàn thành",
                      "Đang thực hiện", "Chưa thực hiện", "Tỷ lệ hoàn thành"],
                ["r.short", "r.total", "r.done", "r.in_progress", "r.not_started", "r.pct"],
                "task_groups", [3.3, 2.7, 2.6, 2.6, 2.6, 2.7], size=12)
    _tag(doc, "{%p for g in task_groups %}")
    _para(doc, "- {{ g.name }}: {{ g.text }}", indent=True)
    _tag(doc, "{%p endfor %}")

    _heading(doc, "III. ĐÁNH GIÁ CHUNG")
    _heading(doc, "1. Ưu điểm", 2)
    _items(doc, "strengths", "- ")
    _heading(doc, "2. Tồn tại, hạn chế", 2)
    _items(doc, "shortcomings", "- ")
    _heading(doc, "3. Nguyên nhân", 2)
    _tag(doc, "{%p if difficulties %}")
    _para(doc, "a) Khó khăn, vướng mắc do các cơ quan, đơn vị nêu:", italic=True, indent=True)
    _items(doc, "difficulties", "- ")
    _tag(doc, "{%p endif %}")
    _tag(doc, "{%p if subjective %}")
    _para(doc, "{% if difficulties %}b{% else %}a{% endif %}) Về chủ quan:", italic=True,
          indent=True)
    _items(doc, "subjective", "- ")
    _tag(doc, "{%p endif %}")

    _heading(doc, "IV. PHƯƠNG HƯỚNG, NHIỆM VỤ KỲ TỚI")
    _items(doc, "directions", "- ")
    _heading(doc, "V. ĐỀ XUẤT, KIẾN NGHỊ")
    _tag(doc, "{%p if recommendations %}")
    _items(doc, "recommendations", "- ")
    _tag(doc, "{%p else %}")
    _para(doc, "Các cơ quan, đơn vị không có đề xuất, kiến nghị trong kỳ.", indent=True)
    _tag(doc, "{%p endif %}")
    _tag(doc, "{%p endif %}")
    # the closing lines stay on the page of the signature (never a signature page alone)
    _para(doc, "{{ closing }}", indent=True, before=6).paragraph_format.keep_with_next = True
    _para(doc, "{{ final_sentence }}", indent=True).paragraph_format.keep_with_next = True


def _signature(doc) -> None:
    foot = doc.add_table(rows=1, cols=2)
    _no_borders(foot)
    _widths(foot, [8.5, 8])
    _row_flags(foot.rows[0])
    left, right = foot.rows[0].cells
    p = left.paragraphs[0]
    p.paragraph_format.space_after = Pt(0)
    _font(p.add_run("{%p if party %}"), 12)
    pn = _cell_para(left, "", 14, align=WD_ALIGN_PARAGRAPH.LEFT)
    _font(pn.add_run("Nơi nhận:"), 14, underline=True)
    _cell_para(left, "{%p else %}", 12, align=WD_ALIGN_PARAGRAPH.LEFT)
    _cell_para(left, "Nơi nhận:", 12, bold=True, italic=True, align=WD_ALIGN_PARAGRAPH.LEFT)
    _cell_para(left, "{%p endif %}", 12, align=WD_ALIGN_PARAGRAPH.LEFT)
    _cell_para(left, "{%p for r in recipients %}", 11, align=WD_ALIGN_PARAGRAPH.LEFT)
    _cell_para(left, "- {{ r }}{% if not loop.last %};{% else %}.{% endif %}", 11,
               align=WD_ALIGN_PARAGRAPH.LEFT)
    _cell_para(left, "{%p endfor %}", 11, align=WD_ALIGN_PARAGRAPH.LEFT)
    _cell_para(right, "{{ sign_authority }}", 14, bold=True, first=True)
    _cell_para(right, "{{ sign_position }}", 14, bold=True)
    for _ in range(4):
        _cell_para(right, "", 14)
    _cell_para(right, "{{ sign_name }}", 14, bold=True)


def _annex_title(doc, number: str, title: str, first: bool = False) -> None:
    p = _para(doc, f"PHỤ LỤC {number}", 14, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER,
              after=0)
    if not first:
        p.paragraph_format.page_break_before = True
    p.paragraph_format.keep_with_next = True
    _para(doc, title, 14, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER,
          after=0).paragraph_format.keep_with_next = True
    _para(doc, "{{ annex_ref }}", 13, italic=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=8)


def _sub(doc, text: str, before: float = 0) -> None:
    """An appendix sub-title, kept with its table."""
    _para(doc, text, 13, bold=True, before=before).paragraph_format.keep_with_next = True


def _annexes(doc) -> None:
    section = doc.add_section(WD_SECTION.NEW_PAGE)
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Mm(297), Mm(210)
    section.left_margin, section.right_margin = Mm(25), Mm(15)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.different_first_page_header_footer = False
    _annex_title(doc, "I", "TÌNH HÌNH GỬI BÁO CÁO CỦA CÁC CƠ QUAN, ĐƠN VỊ", first=True)
    _para(doc, "Số đơn vị phải báo cáo: {{ expected }}; đã báo cáo: {{ received }} (tỷ lệ "
               "{{ completeness }}), trong đó đúng hạn {{ on_time }} (tỷ lệ {{ timeliness }}), "
               "nộp muộn {{ late }}; chưa nộp hoặc báo cáo chưa hợp lệ: {{ missing }}.",
          13, indent=True)
    _loop_table(doc, ["STT", "Cơ quan, đơn vị", "Tình trạng", "Thời điểm nhận",
                      "Bản số", "Ghi chú"],
                ["r.no", "r.unit", "r.status", "r.received", "r.version", "r.note"],
                "statuses", [1.3, 8.3, 5.6, 3.4, 1.5, 5.6], size=12)
    _tag(doc, "{%p if not empty %}")

    _annex_title(doc, "II", "KẾT QUẢ ĐƯA NGƯỜI LAO ĐỘNG ĐI LÀM VIỆC Ở NƯỚC NGOÀI")
    _sub(doc, "1. Số lao động theo thị trường và đối tượng (người)")
    _loop_table(doc, ["Thị trường", "Tổng số", "Nữ", "Dân tộc thiểu số", "Bộ đội, công an "
                      "xuất ngũ", "Hộ nghèo", "Hộ cận nghèo"],
                ["r.name", "r.total", "r.women", "r.ethnic", "r.demob", "r.poor",
                 "r.near_poor"], "worker_rows", [7.7, 3, 3, 3, 3, 3, 3], size=12)
    _sub(doc, "2. Kết quả so với mục tiêu của Kế hoạch (Biểu số 01)", before=8)
    _loop_table(doc, ["Chỉ tiêu", "Mục tiêu kỳ báo cáo", "Thực hiện", "Tỷ lệ", "Đánh giá",
                      "Mục tiêu năm", "Tỷ lệ so với mục tiêu năm", "{{ cumulative_label }}",
                      "Mục tiêu lũy kế", "Tỷ lệ lũy kế"],
                ["r.name", "r.target", "r.achieved", "r.pct", "r.met", "r.yearly",
                 "r.pct_year", "r.cumulative", "r.cumulative_target", "r.cumulative_pct"],
                "targets", [5.9, 2.2, 2.1, 2.0, 1.9, 2.2, 2.4, 2.8, 2.2, 2.0], size=11)
    _tag(doc, "{%p if target_note %}")
    _para(doc, "{{ target_note }}", 12, italic=True, before=3)
    _tag(doc, "{%p endif %}")
    _tag(doc, "{%p if area_rows %}")
    _sub(doc, "3. So sánh với cùng kỳ năm trước theo địa bàn (đơn vị hiện nay)", before=8)
    _loop_table(doc, ["Đơn vị, địa bàn", "Cùng kỳ năm trước", "Kỳ này", "Tăng/giảm"],
                ["r.name", "r.previous", "r.current", "r.growth"], "area_rows",
                [15.7, 3.5, 3.5, 3], size=12)
    _tag(doc, "{%p endif %}")
    _tag(doc, "{%p for n in series_notes %}")
    _para(doc, "Ghi chú: {{ n }}", 12, italic=True, indent=True)
    _tag(doc, "{%p endfor %}")
    _sub(doc, "{% if area_rows %}4{% else %}3{% endif %}. Các chỉ tiêu khác", before=8)
    _loop_table(doc, ["Chỉ tiêu", "Kỳ này", "Cùng kỳ năm trước"],
                ["r.name", "r.value", "r.previous"], "worker_other", [16.7, 4.5, 4.5],
                size=12)

    _annex_title(doc, "III", "ĐỐI CHIẾU SỐ LIỆU GIỮA CÁC NGUỒN")
    _para(doc, "Báo cáo sử dụng một số liệu chính thức cho mỗi chỉ tiêu theo quy định của "
               "chương trình; số liệu của nguồn khác và mức chênh lệch được nêu dưới đây để "
               "các cơ quan, đơn vị rà soát, thống nhất.", 13, indent=True)
    _tag(doc, "{%p if reconciliation %}")
    _loop_table(doc, ["Chỉ tiêu", "Nguồn chính thức", "Số liệu chính thức", "Nguồn khác",
                      "Số liệu nguồn khác", "Chênh lệch", "Tỷ lệ chênh lệch"],
                ["r.name", "r.source", "r.value", "r.other", "r.other_value", "r.gap",
                 "r.gap_pct"], "reconciliation", [5.2, 5.0, 2.8, 5.0, 2.8, 2.6, 2.3], size=12)
    _tag(doc, "{%p else %}")
    _para(doc, "Trong kỳ không có chỉ tiêu nào được hai nguồn cùng báo cáo.", 13, indent=True)
    _tag(doc, "{%p endif %}")

    _annex_title(doc, "IV", "KẾT QUẢ THỰC HIỆN NHIỆM VỤ VÀ Ý KIẾN CỦA TỪNG CƠ QUAN, ĐƠN VỊ")
    _sub(doc, "1. Kết quả thực hiện nhiệm vụ được giao")
    _loop_table(doc, ["STT", "Cơ quan, đơn vị", "Nhiệm vụ", "Tình trạng", "Kết quả"],
                ["r.no", "r.unit", "r.task", "r.status", "r.result"], "task_rows",
                [1.2, 4.5, 9.0, 2.7, 8.3], size=11)
    _sub(doc, "2. Khó khăn, vướng mắc; đề xuất, kiến nghị; phương hướng kỳ tới", before=8)
    _loop_table(doc, ["STT", "Cơ quan, đơn vị", "Khó khăn, vướng mắc", "Đề xuất, kiến nghị",
                      "Phương hướng kỳ tới"],
                ["r.no", "r.unit", "r.difficulties", "r.recommendations", "r.next_plan"],
                "text_rows", [1.2, 4.5, 6.7, 6.7, 6.6], size=11)

    _annex_title(doc, "V", "SỐ LIỆU CẦN LƯU Ý")
    _tag(doc, "{%p if warnings %}")
    _para(doc, "Các số liệu dưới đây đã được tiếp nhận nhưng có dấu hiệu bất thường; đề nghị "
               "các đơn vị kiểm tra lại.", 13, indent=True)
    _loop_table(doc, ["STT", "Cơ quan, đơn vị", "Vị trí", "Nội dung"],
                ["r.no", "r.unit", "r.where", "r.message"], "warnings",
                [1.2, 6.0, 3.0, 15.5], size=11)
    _tag(doc, "{%p else %}")
    _para(doc, "Không có số liệu nào cần lưu ý.", 13, indent=True)
    _tag(doc, "{%p endif %}")
    _tag(doc, "{%p endif %}")
    _tag(doc, "{%p for n in notes %}")
    _para(doc, "Ghi chú: {{ n }}", 12, italic=True, indent=True)
    _tag(doc, "{%p endfor %}")


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
    _all_scripts(style.element.get_or_add_rPr())
    _rule_styles(doc)
    _page_number_header(section)
    doc.paragraphs[0]._p.getparent().remove(doc.paragraphs[0]._p) if doc.paragraphs else None
    _header(doc)
    _body(doc)
    _signature(doc)
    _annexes(doc)
    doc.core_properties.title = "Báo cáo tổng hợp"
    doc.core_properties.author = "baocao"
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(path)


if __name__ == "__main__":  # pragma: no cover
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else \
        Path(__file__).resolve().parents[3] / "include" / "templates" / "report.docx"
    build(out)
    print(out)
