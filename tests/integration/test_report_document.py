"""The consolidated report as the recipients read it: rendered with LibreOffice and checked
page by page, for a state programme (Lạng Sơn, half-year) and two Party ones (Hà Tĩnh, year;
Thái Nguyên, half-year), each built from the demo (`baocao demo`) through the intake.

One warehouse, bucket and conversion per programme (module scope): the slow part is
LibreOffice (one conversion each).
"""

from __future__ import annotations

import re
from io import BytesIO

import pytest
from docx import Document
from docx.oxml.ns import qn
from support import baocao_settings

from baocao.programme import load_programme
from baocao.reports.context import build_report_data
from baocao.reports.docx_report import render_docx, text_width_pt
from baocao.vn_numbers import format_vn_number

CASES = [("lang-son", "2026-H1"), ("ha-tinh", "2026-Y"), ("thai-nguyen", "2026-H1")]
SECTIONS = ["I. CÔNG TÁC LÃNH ĐẠO, CHỈ ĐẠO, TRIỂN KHAI THỰC HIỆN", "II. KẾT QUẢ THỰC HIỆN",
            "III. ĐÁNH GIÁ CHUNG", "1. Ưu điểm", "2. Tồn tại, hạn chế", "3. Nguyên nhân",
            "IV. PHƯƠNG HƯỚNG, NHIỆM VỤ KỲ TỚI", "V. ĐỀ XUẤT, KIẾN NGHỊ"]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Per programme: its demo period through seed_demo and the intake (own warehouse and
    bucket), the draft .docx and its PDF pages."""
    from baocao.bucket import programme_root
    from baocao.demo import seed_demo
    from baocao.intake import run_intake
    from baocao.preview import page_texts, to_pdf
    from baocao.warehouse.db import get_engine, migrate
    from baocao.warehouse.merge import sync_programme

    base = tmp_path_factory.mktemp("report-document")
    out = {}
    url = f"sqlite:///{base / 'wh.sqlite'}"
    with baocao_settings(bucket_url=f"file://{base / 'bucket'}", warehouse_url=url,
                         data_docs_dir=base / "docs"):
        migrate(url)
        engine = get_engine(url)
        try:
            for code, period in CASES:
                prog = load_programme(code)
                sync_programme(engine, prog)
                seeded = seed_demo(code, period)
                run_intake(prog, engine, programme_root(code), f"test-{code}")
                data = build_report_data(engine, prog, prog.period(period))
                docx = render_docx(data, draft=True)
                path = base / f"{code}-{period}.docx"
                path.write_bytes(docx)
                pages = page_texts(to_pdf(path, base))
                out[code] = {"prog": prog, "data": data, "docx": docx, "pages": pages,
                             "seeded": seeded, "doc": Document(BytesIO(docx))}
        finally:
            engine.dispose()
    return out


def body_pages(pages: list[str]) -> list[str]:
    """The pages before the first 'PHỤ LỤC' (the body ends with the signature)."""
    first = next(i for i, p in enumerate(pages) if "PHỤ LỤC" in p)
    return pages[:first]


def body_paragraphs(doc) -> list[str]:
    """Body paragraphs (before the appendices), in order, without empty ones."""
    out = []
    for p in doc.paragraphs:
        if p.text.startswith("PHỤ LỤC"):
            break
        if p.text.strip():
            out.append(p.text.strip())
    return out


@pytest.mark.parametrize("code", [c for c, _ in CASES])
def test_body_is_five_to_ten_pages_and_appendices_are_tables(rendered, code):
    pages = rendered[code]["pages"]
    body = body_pages(pages)
    assert 5 <= len(body) <= 10, f"{code}: body of {len(body)} pages"
    assert "Nơi nhận" in body[-1]
    annex = "\n".join(pages[len(body):])
    for title in ("PHỤ LỤC I", "PHỤ LỤC II", "PHỤ LỤC III", "PHỤ LỤC IV", "PHỤ LỤC V"):
        assert title in annex
    doc = rendered[code]["doc"]
    # appendix rows are table rows: each unit's task results are in a table, not bullets
    tables = [[[c.text for c in r.cells] for r in t.rows] for t in doc.tables]
    tasks = next(t for t in tables if t[0][:3] == ["STT", "Cơ quan, đơn vị", "Nhiệm vụ"])
    assert len(tasks) - 1 == len(rendered[code]["data"].tasks)
    assert not any(p.startswith("- ") and "(Đã hoàn thành)" in p
                   for p in body_paragraphs(doc))


@pytest.mark.parametrize("code", [c for c, _ in CASES])
def test_sections_in_order_after_an_opening_that_cites_the_plan(rendered, code):
    prog = rendered[code]["prog"]
    paras = body_paragraphs(rendered[code]["doc"])
    plan = next(d for d in prog.documents if d.number in prog.title)
    opening = next(i for i, p in enumerate(paras) if p.startswith("Thực hiện "))
    assert f"số {plan.number} ngày {plan.date.day:02d}/{plan.date.month}/{plan.date.year}" \
        in paras[opening]
    assert paras[opening].endswith("như sau:")
    positions = [paras.index(s) for s in SECTIONS]
    assert opening < positions[0] and positions == sorted(positions)
    closing = next(i for i, p in enumerate(paras) if p.startswith("Trên đây là báo cáo"))
    assert closing > positions[-1] and paras[closing].endswith("./.")


def _names_in(text: str, names: list[str]) -> list[str]:
    """Unit names found in ``text``, longest first, each span counted once."""
    found = []
    for name in names:
        found += [name] * len(re.findall(re.escape(name), text))
        text = text.replace(name, "\0" * len(name))
    return found


@pytest.mark.parametrize("code", [c for c, _ in CASES])
def test_no_unit_twice_in_a_paragraph_and_no_empty_entries(rendered, code):
    prog = rendered[code]["prog"]
    names = sorted({u.name for u in prog.units}, key=len, reverse=True)
    paras = body_paragraphs(rendered[code]["doc"])
    for p in paras:
        found = _names_in(p, names)
        assert len(found) == len(set(found)), f"named twice in: {p}"
        assert "(không ghi kết quả)" not in p and not re.search(r"\): *$", p)
    for i, p in enumerate(paras):
        if p.endswith(":") and not p.endswith("như sau:"):
            nxt = paras[i + 1]
            assert nxt.startswith("- "), f"'{p}' is followed by '{nxt}', not by its items"
    # grouped ideas: the demo's 78 near-identical difficulties are one sentence each
    data = rendered[code]["data"]
    raised = [n for n in data.narratives if n["key"] == "difficulties"]
    stated = [p for p in paras if "nêu, trong đó có" in p or p.endswith("nêu).")]
    assert len(raised) > 10 and 1 <= len(stated) <= 10


def test_one_headline_figure_with_the_reconciliation_in_the_appendix(rendered):
    data = rendered["lang-son"]["data"]
    doc = rendered["lang-son"]["doc"]
    paras = body_paragraphs(doc)
    official = data.total(["W_DEP.TOTAL.total"])
    lead = data.prog.find_lead(data.period.deadline)
    register = sum(r["value"] for r in data.by_unit if r["unit_code"] == lead.code
                   and (r["indicator"], r["row_key"], r["col_key"]) == ("W_DEP", "TOTAL",
                                                                         "total"))
    assert register != official  # the demo's lead register differs from the communes' sum
    headline = [p for p in paras if "lao động đi làm việc ở nước ngoài theo hợp đồng (số "
                "liệu chính thức" in p]
    assert len(headline) == 1
    assert f"toàn tỉnh có {format_vn_number(official)} lao động" in headline[0]
    assert "tổng hợp từ báo cáo của các địa phương" in headline[0]
    body = "\n".join(paras)
    assert format_vn_number(register) not in body and "Số liệu của cơ quan thường trực" not in body
    rows = [[c.text for c in r.cells] for t in doc.tables for r in t.rows]
    recon = next(r for r in rows if r[0] == "Tổng số lao động đi làm việc ở nước ngoài (người)")
    assert recon[1:6] == ["Tổng hợp từ báo cáo của các địa phương", format_vn_number(official),
                          f"Báo cáo của {lead.name}", format_vn_number(register),
                          f"+{format_vn_number(register - official)}"]


def test_half_up_rates_in_the_closing(rendered):
    """77 of 80 units on time is 96,25%: printed 96,3%, not the float's 96,2%."""
    data = rendered["lang-son"]["data"]
    on_time = sum(s.status == "on_time" for s in data.statuses)
    assert (on_time, len(data.statuses)) == (77, 80)
    body = "\n".join(body_paragraphs(rendered["lang-son"]["doc"]))
    assert "đúng hạn 96,3%" in body and "96,2%" not in body


@pytest.mark.parametrize("code", [c for c, _ in CASES])
def test_tables_repeat_header_rows_and_never_split_rows(rendered, code):
    doc = rendered[code]["doc"]
    grids = [t for t in doc.tables if t.style is not None and t.style.name == "Table Grid"]
    assert len(grids) >= 8
    for t in grids:
        rows = t._tbl.findall(qn("w:tr"))
        assert rows[0].find(f"{qn('w:trPr')}/{qn('w:tblHeader')}") is not None
        assert all(r.find(f"{qn('w:trPr')}/{qn('w:cantSplit')}") is not None for r in rows)
        for r in rows[1:]:
            total = r.findall(f".//{qn('w:t')}")
            if total and total[0].text == "Tổng cộng":  # totals in bold
                assert r.find(f".//{qn('w:rPr')}/{qn('w:b')}") is not None


@pytest.mark.parametrize("code", [c for c, _ in CASES])
def test_draft_marking_in_every_section_header_and_on_every_page(rendered, code):
    doc = rendered[code]["doc"]
    for section in doc.sections:
        headers = [section.header]
        if section.different_first_page_header_footer:
            headers.append(section.first_page_header)
        for header in headers:
            assert any(p.text.startswith("BẢN DỰ THẢO") for p in header.paragraphs)
    assert all("BẢN DỰ THẢO" in page for page in rendered[code]["pages"])


@pytest.mark.parametrize("code", [c for c, _ in CASES])
def test_header_lines_up_and_rules_are_drawn_to_length(rendered, code):
    prog = rendered[code]["prog"]
    doc = rendered[code]["doc"]
    head = doc.tables[0]
    left, right = (c.paragraphs for c in head.rows[0].cells)
    assert left[0].text == prog.issuer.name.upper()  # the issuer on the first line
    number, place = (c.text.strip() for c in head.rows[1].cells)  # one line, one row
    party = prog.channel == "party"
    assert number.startswith("Số      -" if party else "Số:      /")
    assert place.startswith(f"{prog.issuer.place}, ngày ")
    title = "ĐẢNG CỘNG SẢN VIỆT NAM" if party else "Độc lập - Tự do - Hạnh phúc"
    assert right[0].text == ("ĐẢNG CỘNG SẢN VIỆT NAM" if party
                             else "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    rule = next(p for p in right if p.style.name == "RuleLong")
    assert not rule.text  # a bottom border of its style, not characters
    assert rule.style.element.find(f"{qn('w:pPr')}/{qn('w:pBdr')}/{qn('w:bottom')}") is not None
    ind = rule._p.find(f"{qn('w:pPr')}/{qn('w:ind')}")
    cell = int(head.rows[0].cells[1]._tc.find(f"{qn('w:tcPr')}/{qn('w:tcW')}").get(qn("w:w")))
    length = cell - 216 - int(ind.get(qn("w:left"))) - int(ind.get(qn("w:right")))
    expected = text_width_pt(title, 15 if party else 14, True) * 20
    assert abs(length - expected) <= 0.05 * expected
    if party:
        assert any(p.text == "*" for p in left)
    else:
        assert any(p.style.name == "RuleShort" for p in left)
        assert not any(r.underline for p in right for r in p.runs)  # a line, not underlining


def test_programme_content_of_its_era(rendered):
    """Hà Tĩnh 2026: its own market name, no abolished recipient, no district budget."""
    doc = rendered["ha-tinh"]["doc"]
    text = "\n".join(body_paragraphs(doc))
    cells = "\n".join(c.text for t in doc.tables for r in t.rows for c in r.cells)
    assert "Sùng Tả" not in text + cells
    assert "Trung Quốc" in text
    assert "Ban Tuyên giáo Trung ương (báo cáo)" not in cells
    assert "Ban Tuyên giáo và Dân vận Trung ương (báo cáo)" in cells
    assert "huyện, thành, thị ủy" not in cells
    assert "huyện" not in text
    signature = next(c.text for t in rendered["lang-son"]["doc"].tables for r in t.rows
                     for c in r.cells if c.text.startswith("Nơi nhận:"))
    assert "Bộ Nội vụ (b/c)" in signature and "Lao động - Thương binh" not in signature
    assert "UBND các xã, phường" in signature and "UBND các huyện" not in signature


def test_every_figure_of_the_body_is_the_warehouse_total(rendered):
    """The body's departures figure equals the local units' accepted figures (computed here
    from the demo inputs of the units whose files were accepted)."""
    from baocao.demo import demo_values

    for code, period in CASES:
        prog = rendered[code]["prog"]
        seeded = rendered[code]["seeded"]
        per = prog.period(period)
        markets = prog.dimension("market").codes
        expected = sum(demo_values(prog, u, per)[("W_DEP", m, "total")]
                       for u in prog.expected_units(per) if prog.is_local(u)
                       and u.code not in (seeded["missing"], seeded["bad"]) for m in markets)
        body = "\n".join(body_paragraphs(rendered[code]["doc"]))
        assert f"toàn tỉnh có {format_vn_number(expected)} lao động" in body, code

