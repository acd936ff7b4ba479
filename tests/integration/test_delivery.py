"""Reports in the outbox (drafts and finals, versioned, never overwritten), the final's
e-mail through the Airflow SMTP connection, `baocao report --out`, and the .docx layout of
Decree 30/2020/NĐ-CP checked on the rendered file."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Mm
from support import drop, free_port, smtp_conn

from baocao.demo import fill_form
from baocao.intake import run_intake

PERIOD = "2026-H1"
ON_TIME = datetime(2026, 6, 10, 2, tzinfo=UTC)


NAME = f"bc-{ON_TIME:%d%H%M}.xlsx"


@pytest.fixture
def live(tmp_path, baocao_env, programme):
    """Settings pointing at a fresh warehouse, bucket and outbox; three units reported."""
    from airflow.sdk import ObjectStoragePath

    from baocao.pipeline import engine, prepare_warehouse

    baocao_env(warehouse_url=f"sqlite:///{tmp_path / 'wh.sqlite'}",
               bucket_url=f"file://{tmp_path / 'bucket'}",
               outbox_url=f"file://{tmp_path / 'outbox'}")
    prepare_warehouse("lang-son")
    root = ObjectStoragePath(f"file://{tmp_path / 'bucket'}")
    period = programme.period(PERIOD)
    units = [u for u in programme.expected_units(period) if u.kind == "commune"][:4]
    for u in units[:3]:
        drop(root, u.code, NAME, fill_form(programme, u, period), ON_TIME)
    run_intake(programme, engine(), root, "seed")
    return engine(), root, tmp_path / "outbox", units


def header_texts(doc) -> list[list[str]]:
    """The paragraphs of each page header in use: every section's header and, where the
    first page has its own, that one too (a linked header shows the previous section's)."""
    out = []
    for section in doc.sections:
        out.append([p.text for p in section.header.paragraphs])
        if section.different_first_page_header_footer:
            out.append([p.text for p in section.first_page_header.paragraphs])
    return out


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_drafts_and_finals_are_versioned_and_never_overwritten(live, programme):
    from baocao.pipeline import render_reports

    engine, root, outbox, units = live
    first = render_reports("lang-son", PERIOD, "2026-06-15")
    assert first["new"] and first["version"] == 1 and first["kind"] == "draft"
    again = render_reports("lang-son", PERIOD, "2026-06-15")
    assert not again["new"] and again["version"] == 1  # same content: nothing written
    base = outbox / "reports" / "lang-son" / PERIOD
    assert _files(base) == [f"du-thao/bao-cao-lang-son-{PERIOD}-du-thao-v1.docx",
                            f"du-thao/bao-cao-lang-son-{PERIOD}-du-thao-v1.xlsx"]
    v1 = (base / "du-thao" / f"bao-cao-lang-son-{PERIOD}-du-thao-v1.docx").read_bytes()
    # a new accepted file changes the content: v2, and v1 stays as it was
    drop(root, units[3].code, NAME, fill_form(programme, units[3], programme.period(PERIOD)),
         ON_TIME)
    run_intake(programme, engine, root, "more")
    second = render_reports("lang-son", PERIOD, "2026-06-15")
    assert second["new"] and second["version"] == 2
    assert (base / "du-thao" / f"bao-cao-lang-son-{PERIOD}-du-thao-v1.docx").read_bytes() == v1
    final = render_reports("lang-son", PERIOD, kind="final")
    assert final["version"] == 1 and "/chinh-thuc/" in final["paths"]["docx"]
    assert not render_reports("lang-son", PERIOD, kind="final")["new"]
    assert len(_files(base)) == 6
    draft_doc = Document(str(base / "du-thao" / f"bao-cao-lang-son-{PERIOD}-du-thao-v2.docx"))
    # the marking is in the header of every section (first page and the others): every page
    headers = header_texts(draft_doc)
    assert headers and all(any(t.startswith("BẢN DỰ THẢO") for t in h) for h in headers)
    from openpyxl import load_workbook

    draft_xlsx = load_workbook(base / "du-thao" / f"bao-cao-lang-son-{PERIOD}-du-thao-v2.xlsx")
    assert all(ws["A2"].value.startswith("BẢN DỰ THẢO") and
               ws.oddHeader.center.text == "BẢN DỰ THẢO" for ws in draft_xlsx.worksheets)
    final_xlsx = load_workbook(final["paths"]["xlsx"].removeprefix("file://"))
    assert not any("DỰ THẢO" in str(ws["A2"].value) for ws in final_xlsx.worksheets)
    final_doc = Document(final["paths"]["docx"].removeprefix("file://"))
    assert not any("DỰ THẢO" in p.text for p in final_doc.paragraphs)
    assert not any("DỰ THẢO" in t for h in header_texts(final_doc) for t in h)
    assert any("Lạng Sơn, ngày 20 tháng 6 năm 2026" in p.text for t in final_doc.tables
               for c in t._cells for p in c.paragraphs)


def test_store_refuses_to_overwrite(tmp_path):
    from airflow.sdk import ObjectStoragePath

    from baocao.delivery import store

    root = ObjectStoragePath(f"file://{tmp_path}")
    store(root, "a/b.docx", b"1")
    with pytest.raises(FileExistsError):
        store(root, "a/b.docx", b"2")
    assert (tmp_path / "a" / "b.docx").read_bytes() == b"1"


def test_final_is_emailed_once_with_both_files(live, monkeypatch, smtp_server):
    from baocao import pipeline
    from baocao.programme import load_programme

    real = load_programme("lang-son")
    prog = real.model_copy(update={"report_emails": ["vanphong@ubnd.example.vn",
                                                     "bo-noi-vu@example.vn"]})
    monkeypatch.setattr(pipeline, "load_programme", lambda code: prog)
    final = pipeline.render_reports("lang-son", PERIOD, kind="final")
    out = pipeline.email_final_report(final)
    assert out["sent"]
    [msg] = smtp_server.messages
    assert msg.rcpt_tos == ["vanphong@ubnd.example.vn", "bo-noi-vu@example.vn"]
    assert unicodedata.is_normalized("NFC", msg["Subject"])
    assert msg["Subject"].startswith("Báo cáo Kết quả thực hiện Kế hoạch số 109/KH-UBND")
    names = sorted(a.get_filename() for a in msg.iter_attachments())
    assert names == [f"bao-cao-lang-son-{PERIOD}-chinh-thuc-v1.docx",
                     f"bao-cao-lang-son-{PERIOD}-chinh-thuc-v1.xlsx"]
    sent_docx = next(a for a in msg.iter_attachments() if a.get_filename().endswith(".docx"))
    assert sent_docx.get_content() == Path(final["paths"]["docx"].removeprefix(
        "file://")).read_bytes()
    assert not pipeline.email_final_report(final)["sent"]  # a re-run sends nothing
    assert len(smtp_server.messages) == 1


def test_smtp_down_the_final_is_in_the_outbox_and_the_retry_sends(live, monkeypatch,
                                                                    smtp_server):
    from baocao import pipeline
    from baocao.programme import load_programme

    prog = load_programme("lang-son").model_copy(update={"report_emails": ["a@example.vn"]})
    monkeypatch.setattr(pipeline, "load_programme", lambda code: prog)
    final = pipeline.render_reports("lang-son", PERIOD, kind="final")
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_conn(free_port()))
    with pytest.raises(OSError):
        pipeline.email_final_report(final)
    assert Path(final["paths"]["docx"].removeprefix("file://")).exists()
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_conn(smtp_server.port))
    # the retry renders again (unchanged: same version) and sends
    retry = pipeline.render_reports("lang-son", PERIOD, kind="final")
    assert retry["version"] == 1 and not retry["new"]
    assert pipeline.email_final_report(retry)["sent"] and len(smtp_server.messages) == 1


def test_no_recipients_keeps_the_final_in_the_outbox(live):
    from baocao.pipeline import email_final_report, render_reports

    final = render_reports("lang-son", PERIOD, kind="final")
    assert email_final_report(final) == {"sent": False, "recipients": []}


def test_cli_report_out_writes_plain_files(live, tmp_path):
    from baocao.cli import main

    out = tmp_path / "ra"
    assert main(["report", "--programme", "lang-son", "--period", PERIOD,
                 "--out", str(out), "--date", "2026-06-20"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [f"bao-cao-lang-son-{PERIOD}.docx",
                                                     f"bao-cao-lang-son-{PERIOD}.xlsx"]
    doc = Document(str(out / f"bao-cao-lang-son-{PERIOD}.docx"))
    assert not doc.paragraphs[0].text.startswith("BẢN DỰ THẢO")


# ---- the .docx layout (Decree 30/2020/NĐ-CP, Annex I) -----------------------------------

def _render(programme, engine, day: date) -> Document:
    from io import BytesIO

    from baocao.reports.context import build_report_data
    from baocao.reports.docx_report import render_docx

    data = build_report_data(engine, programme, programme.period(PERIOD), day)
    return Document(BytesIO(render_docx(data)))


def _texts(doc) -> list[str]:
    out = [p.text for p in doc.paragraphs]
    for t in doc.tables:
        for c in t._cells:
            out += [p.text for p in c.paragraphs]
    return out


def test_docx_layout_values(live, programme):
    engine, *_ = live
    doc = _render(programme, engine, date(2026, 6, 5))
    sec = doc.sections[0]
    assert (round(sec.page_width / Mm(1)), round(sec.page_height / Mm(1))) == (210, 297)
    assert 20 <= round(sec.top_margin / Mm(1)) <= 25
    assert 20 <= round(sec.bottom_margin / Mm(1)) <= 25
    assert 30 <= round(sec.left_margin / Mm(1)) <= 35
    assert 15 <= round(sec.right_margin / Mm(1)) <= 20
    assert sec.different_first_page_header_footer  # no page number on page 1
    assert "PAGE" in sec.header._element.xml
    texts = _texts(doc)
    for expected in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
                     "ỦY BAN NHÂN DÂN", "TỈNH LẠNG SƠN", "Số:      /BC-UBND", "BÁO CÁO",
                     "Lạng Sơn, ngày 05 tháng 6 năm 2026", "Nơi nhận:"):
        assert any(expected in t for t in texts), expected
    fonts = {r.font.name for p in doc.paragraphs for r in p.runs if r.text.strip()}
    fonts |= {r.font.name for t in doc.tables for c in t._cells for p in c.paragraphs
              for r in p.runs if r.text.strip()}
    assert fonts == {"Times New Roman"}
    sizes = {r.font.size.pt for p in doc.paragraphs for r in p.runs
             if r.text.strip() and r.font.size}
    assert sizes <= {11, 12, 13, 14}
    body = [p for p in doc.paragraphs
            if len(p.text) > 120 and p.alignment != WD_ALIGN_PARAGRAPH.CENTER]
    assert body and all(p.paragraph_format.first_line_indent is not None for p in body[:5])
    assert all(p.alignment == WD_ALIGN_PARAGRAPH.JUSTIFY for p in body[:5])
    place = next(p for t in doc.tables for c in t._cells for p in c.paragraphs
                 if p.text.startswith("Lạng Sơn, ngày"))
    assert all(r.italic for r in place.runs if r.text.strip())
    doc = _render(programme, engine, date(2026, 1, 5))  # day and month 1, 2 get a zero
    assert any("Lạng Sơn, ngày 05 tháng 01 năm 2026" in t for t in _texts(doc))


@pytest.mark.parametrize("code", ["lang-son", "ha-tinh", "thai-nguyen"])
def test_template_variables_all_declared(code, live):
    """docxtpl's get_undeclared_template_variables is empty for a real context."""
    from docxtpl import DocxTemplate

    from baocao.programme import load_programme
    from baocao.reports.context import build_report_data, context
    from baocao.reports.docx_report import template_path

    engine, *_ = live
    prog = load_programme(code)
    ctx = context(build_report_data(engine, prog, prog.period(PERIOD)))
    ctx["chart"] = "chart"
    tpl = DocxTemplate(str(template_path()))
    assert tpl.get_undeclared_template_variables(context=ctx) == set()
    assert tpl.get_undeclared_template_variables(context={}) != set()  # the check can fail
