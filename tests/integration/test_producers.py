"""Any producer's .xlsx reads the same, and every hostile variant is caught in every style.

The corpus is built here from the programme's own filled form, rewritten the way other
programs write OOXML: elements with a namespace prefix (``<x:c>``, as the OpenXML SDK does),
attributes in another order, cells and rows without their ``r`` references, parts under
unusual names (found only through the relationships), shared strings with rich-text runs
and phonetic guides instead of inline strings, shared formulas (the text only in the first
cell of each group), Strict OOXML namespaces, and all of them at once; plus the form opened
and saved by LibreOffice. Every XML rewrite uses an XML parser (lxml), as the reader does.

Each hostile variant (a value far outside the form, an external-link formula, an error
cell, a formula never calculated, a dimension that lies) is made in the plain form and then
written in each style: the verdict and the cell named must not depend on the style. A valid
form in any style must give exactly the values of the plain one.
"""

from __future__ import annotations

import html
import os
import posixpath
import shutil
import struct
import subprocess
import sys
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
from lxml import etree
from support import ROOT

from baocao.demo import fill_form
from baocao.forms import SHEET_TITLES, sheet_layout
from baocao.parsing import parse_submission
from baocao.workbook import MAIN_NS, PKG_REL_NS, TYPES_NS

MAIN, STRICT = MAIN_NS
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
STRICT_REL = "http://purl.oclc.org/ooxml/officeDocument/relationships"
PERIOD = "2026-H1"
WORKERS = SHEET_TITLES["workers"][0]
ON_TIME = datetime(2026, 6, 18, 2, tzinfo=UTC)


# ----- reading and writing packages (lxml only) -------------------------------------------
def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


def rezip(parts: dict[str, bytes]) -> bytes:
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in parts.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, content)
    return out.getvalue()


def xml(data: bytes) -> etree._Element:
    return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))


def dump(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def q(local: str, ns: str = MAIN) -> str:
    return f"{{{ns}}}{local}"


def rels_of(part: str) -> str:
    folder, base = posixpath.split(part)
    return posixpath.join(folder, "_rels", f"{base}.rels")


def sheet_part(parts: dict[str, bytes], sheet: str) -> str:
    """The worksheet part of ``sheet``, through the workbook's relationships."""
    book = xml(parts["xl/workbook.xml"])
    rid = next(s.get(q("id", REL)) for s in book.iter(q("sheet")) if s.get("name") == sheet)
    target = next(r.get("Target") for r in xml(parts["xl/_rels/workbook.xml.rels"])
                  if r.get("Id") == rid)
    return target.lstrip("/") if target.startswith("/") else f"xl/{target}"


def edit_cell(data: bytes, sheet: str, addr: str, *, value: str | None = None,
              formula: str | None = None, kind: str | None = None) -> bytes:
    """Set one cell of a plain (openpyxl-written) form in its worksheet XML."""
    from openpyxl.utils.cell import coordinate_from_string

    parts = unzip(data)
    name = sheet_part(parts, sheet)
    root = xml(parts[name])
    data_el = root.find(q("sheetData"))
    row_no = coordinate_from_string(addr)[1]
    row = next((r for r in data_el if int(r.get("r")) == row_no), None)
    if row is None:
        row = etree.SubElement(data_el, q("row"), r=str(row_no))
        later = [r for r in data_el if int(r.get("r")) > row_no]
        if later:
            later[0].addprevious(row)
    cell = next((c for c in row if c.get("r") == addr), None)
    if cell is None:
        cell = etree.SubElement(row, q("c"), r=addr)
    for child in list(cell):
        cell.remove(child)
    for attr in ("t",):
        cell.attrib.pop(attr, None)
    if kind:
        cell.set("t", kind)
    if formula is not None:
        etree.SubElement(cell, q("f")).text = formula
    if value is not None:
        etree.SubElement(cell, q("v")).text = value
    parts[name] = dump(root)
    return rezip(parts)


def set_dimension(data: bytes, sheet: str, ref: str) -> bytes:
    parts = unzip(data)
    name = sheet_part(parts, sheet)
    root = xml(parts[name])
    root.find(q("dimension")).set("ref", ref)
    parts[name] = dump(root)
    return rezip(parts)


def add_external_link(data: bytes) -> bytes:
    """The external-link part Excel writes for ``[1]Sheet1!C8``, related from the workbook."""
    parts = unzip(data)
    parts["xl/externalLinks/externalLink1.xml"] = (
        f'<externalLink xmlns="{MAIN}"><externalBook xmlns:r="{REL}" r:id="rId1">'
        '<sheetNames><sheetName val="Sheet1"/></sheetNames></externalBook>'
        "</externalLink>").encode()
    parts["xl/externalLinks/_rels/externalLink1.xml.rels"] = (
        f'<Relationships xmlns="{PKG_REL_NS}"><Relationship Id="rId1" Type="{REL}/'
        'externalLinkPath" Target="file:///C:/baocao/nam-truoc.xlsx" TargetMode="External"/>'
        "</Relationships>").encode()
    rels = xml(parts["xl/_rels/workbook.xml.rels"])
    etree.SubElement(rels, f"{{{PKG_REL_NS}}}Relationship", Id="rIdX1",
                     Type=f"{REL}/externalLink", Target="externalLinks/externalLink1.xml")
    parts["xl/_rels/workbook.xml.rels"] = dump(rels)
    types = xml(parts["[Content_Types].xml"])
    etree.SubElement(types, f"{{{TYPES_NS}}}Override",
                     PartName="/xl/externalLinks/externalLink1.xml",
                     ContentType="application/vnd.openxmlformats-officedocument."
                                 "spreadsheetml.externalLink+xml")
    parts["[Content_Types].xml"] = dump(types)
    return rezip(parts)


# ----- writing styles -------------------------------------------------------------------
def _rebuild(el: etree._Element, parent: etree._Element | None, nsmap: dict | None,
             rename: Callable[[str], str], reverse: bool) -> etree._Element:
    tag = rename(el.tag)
    new = etree.Element(tag, nsmap=nsmap) if parent is None else etree.SubElement(parent, tag)
    items = list(el.attrib.items())
    for key, value in (reversed(items) if reverse else items):
        new.set(rename(key) if key.startswith("{") else key, value)
    new.text, new.tail = el.text, el.tail
    for child in el:
        if isinstance(child.tag, str):
            _rebuild(child, new, None, rename, reverse)
    return new


def _drop_implied_refs(root: etree._Element) -> None:
    """Remove ``r`` from rows and cells where the position follows from the previous one
    (the schema makes it optional; some writers leave it out)."""
    from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

    last_row = 0
    for row in root.iter(q("row")):
        number = int(row.get("r"))
        if number == last_row + 1:
            del row.attrib["r"]
        last_row, last_col = number, 0
        for c in row.iter(q("c")):
            col = column_index_from_string(coordinate_from_string(c.get("r"))[0])
            if col == last_col + 1:
                del c.attrib["r"]
            last_col = col


def restyle(data: bytes, *, prefix: bool = False, reverse: bool = False,
            drop_refs: bool = False, strict: bool = False) -> bytes:
    """Rewrite every XML part: spreadsheetml elements under the prefix ``x:``, attributes
    in reverse order, no ``r`` on cells and rows, or Strict OOXML namespaces."""
    renames = {MAIN: STRICT, REL: STRICT_REL} if strict else {}

    def rename(name: str) -> str:
        if name.startswith("{"):
            ns, local = name[1:].split("}", 1)
            return f"{{{renames.get(ns, ns)}}}{local}"
        return name

    out = {}
    for name, content in unzip(data).items():
        if not name.endswith((".xml", ".rels")):
            out[name] = content
            continue
        root = xml(content)
        nsmap = {k: renames.get(v, v) for k, v in root.nsmap.items()}
        main = renames.get(MAIN, MAIN)
        if prefix and main in nsmap.values():
            nsmap = {k: v for k, v in nsmap.items() if v != main} | {"x": main}
        for el in root.iter():  # namespaces declared lower down move to the top
            for k, v in el.nsmap.items():
                v = renames.get(v, v)
                if v not in nsmap.values():
                    nsmap[k if k not in nsmap else f"n{len(nsmap)}"] = v
        if strict and name.endswith(".rels"):
            for rel in root:
                rel.set("Type", rel.get("Type").replace(f"{REL}/", f"{STRICT_REL}/"))
        if drop_refs and "worksheets/" in name:
            _drop_implied_refs(root)
        out[name] = dump(_rebuild(root, None, nsmap, rename, reverse))
    return rezip(out)


def move_parts(data: bytes) -> bytes:
    """Workbook, worksheets and styles under unusual names (with a space, so the
    relationships carry it %-encoded), found only through the relationships."""
    parts = unzip(data)
    moves = {"xl/workbook.xml": "Bang tinh/Book.xml", "xl/styles.xml": "Bang tinh/Kieu.xml"}
    for name in list(parts):
        if name.startswith("xl/worksheets/sheet"):
            moves[name] = f"Bang tinh/Trang/{name.rsplit('/', 1)[1].replace('sheet', 'Trang ')}"
    book_rels = xml(parts.pop("xl/_rels/workbook.xml.rels"))
    for rel in book_rels:
        target = rel.get("Target")
        old = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        rel.set("Target", posixpath.relpath(moves.get(old, old), "Bang tinh")
                .replace(" ", "%20"))
    root_rels = xml(parts["_rels/.rels"])
    for rel in root_rels:
        if rel.get("Target").lstrip("/") == "xl/workbook.xml":
            rel.set("Target", "/Bang%20tinh/Book.xml")
    types = xml(parts["[Content_Types].xml"])
    for override in types:
        part = (override.get("PartName") or "").lstrip("/")
        if part in moves:
            override.set("PartName", "/" + moves[part].replace(" ", "%20"))
    out = {n: c for n, c in parts.items() if n not in moves}
    out.update({new: parts[old] for old, new in moves.items()})
    out["Bang tinh/_rels/Book.xml.rels"] = dump(book_rels)
    out["_rels/.rels"] = dump(root_rels)
    out["[Content_Types].xml"] = dump(types)
    return rezip(out)


def shared_strings(data: bytes) -> bytes:
    """Inline strings moved to a shared string table, as Excel writes it: long texts in two
    rich-text runs, with a phonetic guide that is not part of the text."""
    parts = unzip(data)
    table: dict[str, int] = {}
    for name in [n for n in parts if n.startswith("xl/worksheets/")]:
        root = xml(parts[name])
        for cell in root.iter(q("c")):
            inline = cell.find(q("is"))
            if cell.get("t") != "inlineStr" or inline is None:
                continue
            text = "".join(t.text or "" for t in inline.iter(q("t")))
            cell.remove(inline)
            cell.set("t", "s")
            etree.SubElement(cell, q("v")).text = str(table.setdefault(text, len(table)))
        parts[name] = dump(root)
    sst = etree.Element(q("sst"), nsmap={None: MAIN}, count=str(len(table)),
                        uniqueCount=str(len(table)))
    for text in table:
        si = etree.SubElement(sst, q("si"))
        if len(text) > 20:
            for piece in (text[:10], text[10:]):
                run = etree.SubElement(si, q("r"))
                etree.SubElement(run, q("rPr"))
                t = etree.SubElement(run, q("t"))
                t.text = piece
                t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
            phonetic = etree.SubElement(si, q("rPh"), sb="0", eb="1")
            etree.SubElement(phonetic, q("t")).text = "ふりがな"
        else:
            etree.SubElement(si, q("t")).text = text
    parts["xl/sharedStrings.xml"] = dump(sst)
    rels = xml(parts["xl/_rels/workbook.xml.rels"])
    etree.SubElement(rels, f"{{{PKG_REL_NS}}}Relationship", Id="rIdS1",
                     Type=f"{REL}/sharedStrings", Target="sharedStrings.xml")
    parts["xl/_rels/workbook.xml.rels"] = dump(rels)
    types = xml(parts["[Content_Types].xml"])
    etree.SubElement(types, f"{{{TYPES_NS}}}Override", PartName="/xl/sharedStrings.xml",
                     ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml."
                                 "sharedStrings+xml")
    parts["[Content_Types].xml"] = dump(types)
    return rezip(parts)


def shared_formulas(data: bytes) -> bytes:
    """Each row of identical total formulas written as one shared formula (its first cell
    holds the text, the others only the group id), as Excel does after filling a formula
    right."""
    from openpyxl.formula.translate import Translator

    parts = unzip(data)
    for name in [n for n in parts if n.startswith("xl/worksheets/")]:
        root = xml(parts[name])
        group = 0
        for row in root.iter(q("row")):
            cells = [c for c in row if c.find(q("f")) is not None]
            if len(cells) < 2:
                continue
            master = cells[0]
            text = master.find(q("f")).text
            same = [c for c in cells[1:] if Translator(f"={text}", origin=master.get("r"))
                    .translate_formula(c.get("r")) == "=" + c.find(q("f")).text]
            if not same:
                continue
            last = same[-1].get("r")
            master.find(q("f")).set("t", "shared")
            master.find(q("f")).set("ref", f"{master.get('r')}:{last}")
            master.find(q("f")).set("si", str(group))
            for c in same:
                f = c.find(q("f"))
                f.text = None
                f.set("t", "shared")
                f.set("si", str(group))
            group += 1
        parts[name] = dump(root)
    return rezip(parts)


STYLES: dict[str, Callable[[bytes], bytes]] = {
    "plain": lambda d: d,
    "prefixed x:": lambda d: restyle(d, prefix=True),
    "attributes reversed": lambda d: restyle(d, reverse=True),
    "no cell references": lambda d: restyle(d, drop_refs=True),
    "unusual part names": move_parts,
    "shared strings": shared_strings,
    "shared formulas": shared_formulas,
    "strict OOXML": lambda d: restyle(d, strict=True),
    "all at once": lambda d: restyle(move_parts(shared_formulas(shared_strings(d))),
                                     prefix=True, reverse=True),
}


# ----- the forms --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def form(programme):
    period = programme.period(PERIOD)
    unit = [u for u in programme.expected_units(period) if u.kind == "commune"][0]
    cells = {s.indicator: s.address for s in sheet_layout(programme, "workers", unit).cells
             if (s.row, s.col) == ("", "")}
    return unit, fill_form(programme, unit, period), cells


def variants(form) -> dict[str, tuple[bytes, str, list[str], str]]:
    """Name -> (plain file, expected status, receipt fragments, cell named)."""
    _unit, good, cells = form
    overstay, returned = cells["W_OVERSTAY"], cells["W_RETURNED"]
    return {
        "valid": (good, "accepted", [], ""),
        "far cell XFD1048576": (edit_cell(good, WORKERS, "XFD1048576", value="1"),
                                "rejected", ["nằm ngoài vùng biểu mẫu"], "XFD1048576"),
        "far cell ZZ20000": (edit_cell(good, WORKERS, "ZZ20000", value="1"),
                             "rejected", ["nằm ngoài vùng biểu mẫu"], "ZZ20000"),
        "external link": (add_external_link(edit_cell(
            good, WORKERS, overstay, formula="[1]Sheet1!C8", value="3")),
            "rejected", ["liên kết tới bảng tính khác"], overstay),
        "error cell": (edit_cell(good, WORKERS, returned, formula="1/0", value="#DIV/0!",
                                 kind="e"), "rejected", ["#DIV/0!"], returned),
        "formula never calculated": (edit_cell(good, WORKERS, overstay, formula="C1+1"),
                                     "rejected", ["chưa được tính giá trị"], overstay),
        "dimension claims XFD1048576": (set_dimension(good, WORKERS, "A1:XFD1048576"),
                                        "accepted", [], ""),
        "dimension claims A1": (set_dimension(good, WORKERS, "A1"), "accepted", [], ""),
    }


def comparable(parsed) -> tuple:
    return (parsed.period, parsed.form_version, parsed.values, parsed.tasks,
            parsed.narratives, [(p.severity, p.sheet, p.cell, p.message)
                                for p in parsed.problems])


@pytest.mark.parametrize("style", list(STYLES))
def test_a_valid_form_reads_the_same_in_every_style(form, programme, style):
    unit, good, _cells = form
    plain = parse_submission(good, programme, unit.code)
    styled = parse_submission(STYLES[style](good), programme, unit.code)
    assert plain.readable and not plain.problems
    assert comparable(styled) == comparable(plain)
    assert len(styled.values) > 100


@pytest.mark.parametrize("style", list(STYLES))
def test_each_hostile_variant_is_caught_in_every_style(form, programme, style):
    unit, good, _cells = form
    plain = parse_submission(good, programme, unit.code)
    for name, (data, status, fragments, where) in variants(form).items():
        parsed = parse_submission(STYLES[style](data), programme, unit.code)
        got = "accepted" if not parsed.errors else "rejected"
        assert got == status, (style, name, [p.message for p in parsed.problems])
        messages = " ".join(p.message for p in parsed.problems)
        for fragment in fragments:
            assert fragment in messages, (style, name, messages)
        if where:
            assert where in {p.cell for p in parsed.errors}, (style, name, parsed.errors)
        if status == "accepted":
            assert comparable(parsed) == comparable(plain), (style, name)


def test_a_form_saved_by_libreoffice_reads_the_same(form, programme, tmp_path):
    if not shutil.which("soffice"):
        pytest.skip("LibreOffice is not installed (scripts/ensure-libreoffice.sh)")
    unit, good, _cells = form
    src = tmp_path / "bieu-mau.xlsx"
    src.write_bytes(good)
    out = tmp_path / "out"
    with tempfile.TemporaryDirectory(prefix="lo-profile-") as profile:
        subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless",
                        "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out),
                        str(src)], check=True, capture_output=True, timeout=180)
    saved = (out / "bieu-mau.xlsx").read_bytes()
    names = unzip(saved)
    assert "xl/sharedStrings.xml" in names and "docProps/custom.xml" in names  # its own way
    assert comparable(parse_submission(saved, programme, unit.code)) == \
        comparable(parse_submission(good, programme, unit.code))


# ----- what the file is, named right ------------------------------------------------------
def cfb(entries: list[tuple[str, int, list[int]]]) -> bytes:
    """A minimal OLE compound file. ``entries``: (name, kind 1=storage 2=stream, children
    indexes) after the root (index 0, whose children are the top-level entries)."""
    free, end, fat_sect, nostream = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16
              + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
              + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, end, 0, end, 0)
              + struct.pack("<I", 0) + struct.pack("<I", free) * 108)
    fat = struct.pack("<II", fat_sect, end) + struct.pack("<I", free) * 126

    def entry(name: str, kind: int, right: int, child: int) -> bytes:
        raw = name.encode("utf-16-le") + b"\0\0"
        return (raw.ljust(64, b"\0") + struct.pack("<HBB", len(raw), kind, 1)
                + struct.pack("<III", nostream, right, child) + b"\0" * 36
                + struct.pack("<IQ", end, 0))

    def chain(children: list[int]) -> dict[int, int]:  # siblings as a right-leaning list
        return {c: (children[i + 1] if i + 1 < len(children) else nostream)
                for i, c in enumerate(children)}

    top = [i for i in range(1, len(entries) + 1)
           if not any(i in e[2] for e in entries)]
    right = chain(top)
    for _name, _kind, children in entries:
        right |= chain(children)
    out = [entry("Root Entry", 5, nostream, top[0] if top else nostream)]
    for i, (name, kind, children) in enumerate(entries, 1):
        out.append(entry(name, kind, right.get(i, nostream),
                         children[0] if children else nostream))
    directory = b"".join(out).ljust(512 * ((len(out) + 3) // 4), b"\0")
    assert len(out) <= 4  # one directory sector
    return header + fat + directory


def package(parts: dict[str, str]) -> bytes:
    return rezip({k: v.encode() for k, v in parts.items()})


KINDS = {
    ".xls with an embedded Word document": (cfb([("Workbook", 2, []), ("MBD0001", 1, [3]),
                                                  ("WordDocument", 2, [])]),
                                             "định dạng cũ (.xls)"),
    "Word .doc": (cfb([("WordDocument", 2, []), ("1Table", 2, [])]), "văn bản Word (.doc)"),
    "PowerPoint .ppt": (cfb([("PowerPoint Document", 2, [])]), "PowerPoint (.ppt)"),
    "OpenDocument .ods": (rezip({"mimetype": b"application/vnd.oasis.opendocument."
                                             b"spreadsheet", "content.xml": b"<x/>"}),
                          "OpenDocument (.ods)"),
    "binary .xlsb": (package({
        "[Content_Types].xml": f'<Types xmlns="{TYPES_NS}"><Override PartName="/xl/'
        'workbook.bin" ContentType="application/vnd.ms-excel.sheet.binary.macroEnabled.main"/>'
        "</Types>",
        "_rels/.rels": f'<Relationships xmlns="{PKG_REL_NS}"><Relationship Id="r1" Type="'
        f'{REL}/officeDocument" Target="xl/workbook.bin"/></Relationships>',
        "xl/workbook.bin": "binary"}), "nhị phân (.xlsb)"),
}


@pytest.mark.parametrize("name", list(KINDS))
def test_the_kind_of_file_is_named_right(programme, name):
    data, fragment = KINDS[name]
    [problem] = parse_submission(data, programme, "X-06001").problems
    assert fragment in problem.message, problem.message


def test_excel4_macro_sheets_are_macros_not_damage(form, programme):
    unit, good, _cells = form
    parts = unzip(good)
    parts["xl/macrosheets/sheet1.xml"] = (f'<xm:macrosheet xmlns:xm="http://schemas.microsoft'
                                          f'.com/office/excel/2006/main" xmlns="{MAIN}">'
                                          "<sheetData/></xm:macrosheet>").encode()
    book = xml(parts["xl/workbook.xml"])
    etree.SubElement(book.find(q("sheets")), q("sheet"), {"name": "Macro1", "sheetId": "99",
                                                          q("id", REL): "rIdM1"})
    parts["xl/workbook.xml"] = dump(book)
    rels = xml(parts["xl/_rels/workbook.xml.rels"])
    etree.SubElement(rels, f"{{{PKG_REL_NS}}}Relationship", Id="rIdM1",
                     Type="http://schemas.microsoft.com/office/2006/relationships/"
                          "xlMacrosheet", Target="macrosheets/sheet1.xml")
    parts["xl/_rels/workbook.xml.rels"] = dump(rels)
    [problem] = parse_submission(rezip(parts), programme, unit.code).problems
    assert "macro Excel 4.0 (XLM)" in problem.message


def test_messages_never_name_a_class(form, programme):
    """Broken parts give Vietnamese messages, never an English exception name."""
    unit, good, _cells = form
    parts = unzip(good)
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"][:200]
    broken_book = rezip(parts)
    parts = unzip(good)
    name = sheet_part(parts, WORKERS)
    original = parts[name]
    parts[name] = original.replace(b"<worksheet", b'<!DOCTYPE worksheet [<!ENTITY e "x">]>'
                                   b"<worksheet", 1)
    with_dtd = rezip(parts)
    parts[name] = original[:len(original) // 2]
    for data, fragment in ((broken_book, "nội dung bị hỏng"), (with_dtd, "DTD"),
                           (rezip(parts), "nội dung bị hỏng")):
        [problem] = parse_submission(data, programme, unit.code).problems
        assert "Error" not in problem.message and "Exception" not in problem.message
        assert problem.message.startswith("Không đọc được"), problem.message
        assert fragment in problem.message, problem.message


# ----- the whole corpus through one intake run ------------------------------------------
def test_every_style_and_variant_through_one_intake_run(form, programme, tmp_path):
    """Dropped together into one inbox, each file gets the verdict of its variant whatever
    its style, its receipt names the cell, and the run answers everything."""
    from airflow.sdk import ObjectStoragePath

    from baocao.intake import run_intake
    from baocao.warehouse.db import get_engine, migrate
    from baocao.warehouse.merge import sync_programme

    unit, _good, _cells = form
    url = f"sqlite:///{tmp_path / 'wh.sqlite'}"
    migrate(url)
    engine = get_engine(url)
    sync_programme(engine, programme)
    root = ObjectStoragePath(f"file://{tmp_path / 'bucket'}")
    expected = {}
    n = 0
    for name, (data, status, fragments, where) in variants(form).items():
        if status == "accepted" and name != "valid":
            continue  # same bytes as another style's valid form would be a duplicate
        for style, write in STYLES.items():
            n += 1
            file_name = f"{n:03d} {name} - {style}.xlsx"
            path = root / "inbox" / unit.code / file_name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(write(data))
            when = (ON_TIME + timedelta(minutes=n)).timestamp()
            os.utime(path.path, (when, when))
            expected[unicodedata.normalize("NFC", file_name)] = (status, fragments, where)
    outcomes = {unicodedata.normalize("NFC", o.path.rsplit("/", 1)[1]): o
                for o in run_intake(programme, engine, root, "styles")}
    assert set(outcomes) == set(expected)
    for file_name, (status, fragments, where) in expected.items():
        out = outcomes[file_name]
        assert out.status == status, (file_name, out)
        receipt = html.unescape((root / out.receipt).read_text(encoding="utf-8"))
        for fragment in fragments:
            assert fragment in receipt, (file_name, fragment)
        if where:
            assert f"<td class=\"at\">{WORKERS}<br>ô {where}</td>" in receipt, file_name
    engine.dispose()


# ----- memory on the worst files --------------------------------------------------------
def _worst_files(good: bytes) -> dict[str, bytes]:
    """Files that make a reader allocate: a value at the last cell of the sheet, a sheet
    as dense as the form area allows (a million cells), more cells than any form, a shared
    string table of a million entries, and a 100 MB zip bomb."""
    parts = unzip(good)
    name = sheet_part(parts, WORKERS)
    root = xml(parts[name])
    sheet_data = root.find(q("sheetData"))
    for row in list(sheet_data):
        sheet_data.remove(row)
    sheet_data.text = "DENSE-ROWS"
    dense = bytearray()
    for r in range(1, 5001):
        dense += f'<row r="{r}">'.encode()
        dense += b"".join(f'<c r="{_col(c)}{r}"><v>{c}</v></c>'.encode()
                          for c in range(1, 201))
        dense += b"</row>"
    out = {}
    far = edit_cell(good, WORKERS, "XFD1048576", value="1")
    out["far cell"] = restyle(far, prefix=True, reverse=True)
    out["a million cells"] = rezip({**parts, name: dump(root).replace(b"DENSE-ROWS",
                                                                      bytes(dense))})
    strings = b"<sst xmlns=\"" + MAIN.encode() + b"\">" + b"<si><t>x</t></si>" * 1_000_000 + \
        b"</sst>"
    out["a million strings"] = shared_strings(good)
    big = unzip(out["a million strings"])
    big["xl/sharedStrings.xml"] = strings
    out["a million strings"] = rezip(big)
    bomb = BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        for part, content in parts.items():
            z.writestr(part, content if part != name else b" " * (101 * 1024 * 1024))
    out["zip bomb"] = bomb.getvalue()
    return out


def _col(n: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(n)


def test_checks_stay_under_1_gib_on_the_worst_files(form, programme, tmp_path):
    """Peak RSS of the checks, each worst file read in a fresh process: below 1 GiB, and
    each file refused with its reason."""
    unit, good, _cells = form
    expect = {"far cell": "nằm ngoài vùng biểu mẫu", "a million cells": "quá nhiều ô",
              "a million strings": "quá nhiều chuỗi", "zip bomb": "giải nén bất thường"}
    script = ("import resource, sys\n"
              "from baocao.programme import load_programme\n"
              "from baocao.parsing import parse_submission\n"
              "prog = load_programme('lang-son')\n"
              "data = open(sys.argv[1], 'rb').read()\n"
              "sub = parse_submission(data, prog, sys.argv[2])\n"
              "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
              "print(sub.problems[0].message if sub.problems else '')\n")
    for name, data in _worst_files(good).items():
        path = tmp_path / f"{name}.xlsx"
        path.write_bytes(data)
        env = {**os.environ, "PYTHONPATH": str(ROOT / "plugins")}
        done = subprocess.run([sys.executable, "-c", script, str(path), unit.code],
                              capture_output=True, text=True, env=env, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        peak_kib, message = done.stdout.splitlines()[:2]
        assert int(peak_kib) < 1024 * 1024, (name, int(peak_kib) // 1024, "MiB")
        assert expect[name] in message, (name, message)
