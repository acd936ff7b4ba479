"""Hostile and mistaken files through the real intake (file:// bucket, SQLite warehouse).

Every file of the corpus is generated here, deterministically, and all of them are dropped
into one inbox and processed by one ``run_intake``: a bad file must never stop the others.
For each: the sender's receipt names the problem in Vietnamese (sheet and cell where there is
one), the original is kept byte for byte, and a rejected file leaves no row in the fact tables.
"""

from __future__ import annotations

import hashlib
import html
import json
import random
import re
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from support import drop, put

from baocao.demo import fill_form
from baocao.forms import META_SHEET, SHEET_TITLES, save_stable, sheet_layout
from baocao.intake import run_intake
from baocao.warehouse.db import get_engine
from baocao.warehouse.merge import sync_programme

PERIOD = "2026-H1"
ON_TIME = datetime(2026, 6, 18, 2, tzinfo=UTC)  # 09:00 on 18/6/2026 in Vietnam
WORKERS = SHEET_TITLES["workers"][0]
FUNDS = SHEET_TITLES["funds"][0]


# ----- building hostile files -----------------------------------------------------------
def cfb(streams: list[str]) -> bytes:
    """A minimal valid OLE compound file (what .xls and encrypted .xlsx are) with empty
    streams of the given names: header, one FAT sector, one directory sector."""
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

    entries = [entry("Root Entry", 5, nostream, 1 if streams else nostream)]
    for i, name in enumerate(streams, 1):
        entries.append(entry(name, 2, i + 1 if i < len(streams) else nostream, nostream))
    directory = b"".join(entries).ljust(512, b"\0")
    assert len(header) == 512
    return header + fat + directory


def member(name: str) -> zipfile.ZipInfo:
    """A deflated zip member with a fixed date: generated files are the same every run."""
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def rezip(data: bytes, change: Callable[[str, bytes], bytes | None],
          add: dict[str, bytes] | None = None) -> bytes:
    """Rewrite a workbook's zip: ``change(name, content)`` returns new content or None to
    drop the member; ``add`` appends members."""
    out = BytesIO()
    with zipfile.ZipFile(BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = change(info.filename, src.read(info.filename))
            if content is not None:
                dst.writestr(info, content)
        for name, content in (add or {}).items():
            dst.writestr(member(name), content)
    return out.getvalue()


def sheet_part(data: bytes, sheet: str) -> str:
    """The zip member holding ``sheet`` (openpyxl writes sheetN.xml in tab order)."""
    names = load_workbook(BytesIO(data)).sheetnames
    return f"xl/worksheets/sheet{names.index(sheet) + 1}.xml"


def with_cached(data: bytes, sheet: str, addr: str, value: str, error: bool = False) -> bytes:
    """Give a formula cell the cached result Excel would have stored."""
    part = sheet_part(data, sheet)
    pattern = re.compile(rf'<c r="{addr}"([^>]*)>(<f>[^<]*</f>)<v\s*/?>(?:</v>)?'.encode())

    def change(name: str, content: bytes) -> bytes:
        if name != part:
            return content
        new, n = pattern.subn(lambda m: b'<c r="' + addr.encode() + b'"' + m.group(1)
                              + (b' t="e"' if error else b"") + b">" + m.group(2)
                              + b"<v>" + value.encode() + b"</v>", content)
        assert n == 1, content[:300]
        return new
    return rezip(data, change)


def edit(data: bytes, fn: Callable) -> bytes:
    wb = load_workbook(BytesIO(data))
    fn(wb)
    return save_stable(wb, datetime(2026, 6, 1))


def zip_bomb(lie: bool = False, crc: bool = False) -> bytes:
    """A 110 KB zip inflating to 110 MB of zeros; with ``lie`` its headers claim 1,000 bytes
    (a reader trusting them would inflate everything), with ``crc`` also the checksum of
    those 1,000 bytes (so that a CRC check of the claimed size passes)."""
    sheet = "xl/worksheets/sheet1.xml"
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(member("[Content_Types].xml"), "<Types/>")
        z.writestr(member("xl/workbook.xml"), "<workbook/>")
        with z.open(member(sheet), "w") as f:
            for _ in range(110):
                f.write(b"\0" * (1024 * 1024))
    data = bytearray(buf.getvalue())
    if lie:
        info = zipfile.ZipFile(BytesIO(bytes(data))).getinfo(sheet)
        struct.pack_into("<I", data, info.header_offset + 22, 1000)  # local header
        if crc:
            struct.pack_into("<I", data, info.header_offset + 14, zlib.crc32(b"\0" * 1000))
        cd_at = struct.unpack_from("<I", data, len(data) - 22 + 16)[0]  # end record
        while data[cd_at:cd_at + 4] == b"PK\x01\x02":
            n, m, k = struct.unpack_from("<HHH", data, cd_at + 28)
            if data[cd_at + 46:cd_at + 46 + n] == sheet.encode():
                struct.pack_into("<I", data, cd_at + 24, 1000)  # central directory
                if crc:
                    struct.pack_into("<I", data, cd_at + 16, zlib.crc32(b"\0" * 1000))
            cd_at += 46 + n + m + k
        assert zipfile.ZipFile(BytesIO(bytes(data))).getinfo(sheet).file_size == 1000
    return bytes(data)


# ----- the corpus ---------------------------------------------------------------------
@dataclass
class Case:
    """One file dropped in the inbox and what the receipt must say about it."""

    name: str
    status: str  # accepted | rejected | unroutable
    fragments: list[str]  # text the receipt must contain
    where: list[tuple[str, str]] = field(default_factory=list)  # (sheet, cell) named
    folder: str = ""  # inbox/<folder>/; '' = the case's own unit; '/' = bucket root
    file_name: str = "báo cáo.xlsx"
    when: datetime = ON_TIME
    data: bytes | None = None  # None: the unit's correctly filled form
    path: str = ""  # bucket key, filled when dropped


def cell(prog, unit, indicator: str, row: str = "", col: str = "") -> str:
    ind = prog.indicator(indicator)
    return next(s.address for s in sheet_layout(prog, ind.sheet, unit).cells
                if (s.indicator, s.row, s.col) == (indicator, row, col))


def corpus(prog) -> list[Case]:
    period = prog.period(PERIOD)
    units = [u for u in prog.expected_units(period) if u.kind == "commune"]
    good = _Forms(prog, period)
    u = iter(units[5:])  # units[0:5]: forms sent from the wrong place
    cases: list[Case] = []

    def add(case: Case, unit=None) -> Case:
        unit = unit or next(u)
        case.folder = case.folder or unit.code
        case.data = good[unit.code] if case.data is None else case.data
        cases.append(case)
        return case

    not_excel = "không phải là bảng tính Excel"
    add(Case("pdf renamed .xlsx", "rejected", ["tài liệu PDF", not_excel],
             data=b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"))
    docx = BytesIO()
    with zipfile.ZipFile(docx, "w") as z:  # the parts every Word document has
        z.writestr(member("[Content_Types].xml"), '<Types xmlns="http://schemas.openxmlformats'
                   '.org/package/2006/content-types"/>')
        z.writestr(member("_rels/.rels"), "<Relationships/>")
        z.writestr(member("word/document.xml"), "<w:document><w:body><w:p><w:r><w:t>Báo cáo "
                   "6 tháng đầu năm 2026</w:t></w:r></w:p></w:body></w:document>")
    add(Case("word .docx", "rejected", ["văn bản Word (.docx)"], data=docx.getvalue(),
             file_name="báo cáo.docx"))
    add(Case("csv", "rejected", [not_excel], file_name="so-lieu.csv",
             data="Chỉ tiêu;Số liệu\nNgười lao động;12\n".encode()))
    add(Case("legacy .xls", "rejected", ["định dạng cũ (.xls)"],
             data=cfb(["Workbook", "\x05SummaryInformation"]), file_name="bc.xls"))
    add(Case("encrypted xlsx", "rejected", ["đặt mật khẩu"],
             data=cfb(["EncryptionInfo", "EncryptedPackage"])))
    unit = next(u)
    add(Case("macro .xlsm", "rejected", ["macro (.xlsm)"], file_name="bc.xlsm",
             data=rezip(good[unit.code], lambda n, c: c,
                        {"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0macro"})), unit)
    unit = next(u)
    data = bytearray(good[unit.code])
    for i in range(len(data) // 3, len(data) // 3 + 64):
        data[i] ^= 0x5A
    add(Case("corrupt zip", "rejected", ["bị hỏng"], data=bytes(data)), unit)
    unit = next(u)
    add(Case("truncated xlsx", "rejected", ["bị hỏng hoặc không đầy đủ"],
             data=good[unit.code][: len(good[unit.code]) // 2]), unit)
    add(Case("empty file", "rejected", ["Tệp rỗng (0 byte)"], data=b"", file_name="rỗng.xlsx"))
    add(Case("over 10 MB", "rejected", ["Tệp quá lớn", "không quá 10 MB"],
             data=b"PK\x03\x04" + random.Random(7).randbytes(10 * 1024 * 1024 + 100)))
    add(Case("zip bomb", "rejected", ["dung lượng giải nén bất thường"], data=zip_bomb()))
    add(Case("zip bomb with lying headers", "rejected", ["dung lượng giải nén bất thường"],
             data=zip_bomb(lie=True)))
    add(Case("zip bomb with lying headers and checksum", "rejected",
             ["dung lượng giải nén bất thường"], data=zip_bomb(lie=True, crc=True)))
    add(Case("not a form (plain workbook)", "rejected",
             ["không phải biểu mẫu do hệ thống phát hành"],
             data=edit(good[units[0].code], lambda wb: wb.remove(wb[META_SHEET]))))

    unit = next(u)
    add(Case("renamed sheet", "rejected", [f'Thiếu trang tính "{WORKERS}"'], [(WORKERS, "")],
             data=edit(good[unit.code], lambda wb: setattr(wb[WORKERS], "title",
                                                          "Biểu 1 - LĐ (sửa)"))), unit)
    unit = next(u)
    add(Case("missing sheet", "rejected", [f'Thiếu trang tính "{FUNDS}"'], [(FUNDS, "")],
             data=edit(good[unit.code], lambda wb: wb.remove(wb[FUNDS]))), unit)
    unit, other = next(u), units[0]
    add(Case("form of another unit", "rejected",
             [f"Biểu mẫu của đơn vị {other.code} nhưng được gửi vào thư mục của đơn vị "
              f"{unit.code}"], data=good[other.code]), unit)
    unit = next(u)
    add(Case("future period", "rejected", ["kỳ này chưa bắt đầu"],
             data=fill_form(prog, unit, prog.period("2027-H1"))), unit)
    unit = next(u)
    add(Case("period before the unit existed", "rejected",
             ["không thuộc danh sách đơn vị báo cáo kỳ 6 tháng đầu năm 2025"],
             data=fill_form(prog, unit, prog.period("2025-H1"))), unit)
    unit = next(u)
    add(Case("older period (late correction)", "accepted",
             ["ĐÃ TIẾP NHẬN", "không phải kỳ đang báo cáo"],
             data=fill_form(prog, unit, prog.period("2025-Y"))), unit)
    unit = next(u)
    add(Case("old form version", "rejected", ["Phiên bản biểu mẫu 2023.1 không còn dùng"],
             data=edit(good[unit.code], lambda wb: _set_meta(wb, "form_version", "2023.1"))),
        unit)
    add(Case("unknown unit folder", "rejected",
             ["Thư mục inbox/XA-KHONG-CO/ không ứng với mã đơn vị nào"],
             folder="XA-KHONG-CO"), units[1])
    add(Case("file at the bucket root", "unroutable", [], folder="/",
             file_name="Báo cáo xã.xlsx"), units[2])
    add(Case("file directly in inbox/", "unroutable", [], folder=".",
             file_name="báo cáo gửi nhầm.xlsx"), units[3])

    unit = next(u)
    c = cell(prog, unit, "W_DEP", "JP", "total")
    add(Case("external-link formula", "rejected", ["liên kết tới bảng tính khác"],
             [(WORKERS, c)],
             data=rezip(edit(good[unit.code], lambda wb: wb[WORKERS].__setitem__(
                 c, "=[1]Sheet1!$A$1")), lambda n, d: d,
                 {"xl/externalLinks/externalLink1.xml": b"<externalLink/>"})), unit)
    unit = next(u)
    c1, c2 = cell(prog, unit, "W_COUNSELLED"), cell(prog, unit, "W_TRAINED")
    c3 = cell(prog, unit, "F_FUNDS", "NEF", "plan")
    add(Case("text, negative and absurd numbers", "rejected",
             ["Không phải là số", "khoảng 50", "không được âm", "lớn bất thường"],
             [(WORKERS, c1), (WORKERS, c2), (FUNDS, c3)],
             data=fill_form(prog, unit, period, overrides={
                 ("workers", c1): "khoảng 50", ("workers", c2): -3,
                 ("funds", c3): 1e15})), unit)
    unit = next(u)
    c = cell(prog, unit, "W_RETURNED")
    add(Case("formula =1/0 in an input cell", "rejected", ["#DIV/0!"], [(WORKERS, c)],
             data=with_cached(fill_form(prog, unit, period, overrides={
                 ("workers", c): "=1/0"}), WORKERS, c, "#DIV/0!", error=True)), unit)
    unit = next(u)
    c = cell(prog, unit, "W_OVERSTAY")
    add(Case("formula never calculated", "rejected", ["chưa được tính giá trị"],
             [(WORKERS, c)],
             data=fill_form(prog, unit, period, overrides={("workers", c): "=C1+1"})), unit)
    unit = next(u)
    c = cell(prog, unit, "W_OVERSTAY")
    add(Case("=SUM in an input cell", "accepted",
             ["ĐÃ TIẾP NHẬN", "Ô nhập liệu chứa công thức", "=SUM(C7:C8)"], [(WORKERS, c)],
             data=with_cached(fill_form(prog, unit, period, overrides={
                 ("workers", c): "=SUM(C7:C8)"}), WORKERS, c, "1")), unit)
    unit = next(u)
    add(Case("value far outside the form (XFD1048576)", "rejected",
             ["nằm ngoài vùng biểu mẫu"], [(WORKERS, "XFD1048576")],
             data=fill_form(prog, unit, period, overrides={
                 ("workers", "XFD1048576"): 1})), unit)
    unit = next(u)
    part = sheet_part(good[unit.code], FUNDS)
    add(Case("broken sheet XML", "rejected", ["Không đọc được trang tính"], [(FUNDS, "")],
             data=rezip(good[unit.code], lambda n, d: d[: len(d) // 2] if n == part else d)),
        unit)
    unit = next(u)
    nfd = unicodedata.normalize("NFD", "Báo cáo 6 tháng đầu năm 2026 - Xã Đồng Đăng.xlsx")
    add(Case("Vietnamese NFD name with spaces", "accepted", ["ĐÃ TIẾP NHẬN", unicodedata
             .normalize("NFC", nfd)], file_name=nfd), unit)
    unit = next(u)
    c = cell(prog, unit, "W_OVERSTAY")
    add(Case("two files, first", "accepted", ["ĐÃ TIẾP NHẬN", "Phiên bản"],
             file_name="b-lần 1.xlsx", when=ON_TIME - timedelta(days=2),
             data=fill_form(prog, unit, period, overrides={("workers", c): 7})), unit)
    add(Case("two files, second", "accepted", ["ĐÃ TIẾP NHẬN", "Phiên bản 2"],
             file_name="a-bổ sung.xlsx"), unit)
    return cases


class _Forms(dict):
    """Correctly filled forms by unit code, built on first use."""

    def __init__(self, prog, period) -> None:
        super().__init__()
        self.units = {u.code: u for u in prog.expected_units(period)}
        self.prog, self.period = prog, period

    def __missing__(self, code: str) -> bytes:
        self[code] = fill_form(self.prog, self.units[code], self.period)
        return self[code]


def _set_meta(wb, key: str, value: str) -> None:
    ws = wb[META_SHEET]
    row = next(r for r in range(1, 20) if ws.cell(r, 1).value == key)
    ws.cell(row, 2).value = value


# ----- one intake run over the whole corpus -------------------------------------------
@pytest.fixture(scope="module")
def run(tmp_path_factory, programme):
    from airflow.sdk import ObjectStoragePath

    from baocao.warehouse.db import migrate

    tmp = tmp_path_factory.mktemp("hostile")
    url = f"sqlite:///{tmp / 'wh.sqlite'}"
    migrate(url)
    engine = get_engine(url)
    sync_programme(engine, programme)
    root = ObjectStoragePath(f"file://{tmp / 'bucket'}")
    cases = corpus(programme)
    assert [c.name for c in cases] == CASE_NAMES
    assert len({hashlib.sha256(c.data).digest() for c in cases}) == len(cases)
    for case in cases:
        prefix = {"/": "", ".": "inbox/"}.get(case.folder, f"inbox/{case.folder}/")
        case.path = prefix + case.file_name
        put(root / case.path, case.data, case.when)
    outcomes = run_intake(programme, engine, root, "hostile-run")
    by_path = {unicodedata.normalize("NFC", o.path): o for o in outcomes}
    yield root, engine, {c.name: (c, by_path.get(unicodedata.normalize("NFC", c.path)))
                         for c in cases}, outcomes
    engine.dispose()


CASE_NAMES = [
    "pdf renamed .xlsx", "word .docx", "csv", "legacy .xls", "encrypted xlsx", "macro .xlsm",
    "corrupt zip", "truncated xlsx", "empty file", "over 10 MB", "zip bomb",
    "zip bomb with lying headers", "zip bomb with lying headers and checksum",
    "not a form (plain workbook)", "renamed sheet",
    "missing sheet", "form of another unit", "future period",
    "period before the unit existed", "older period (late correction)", "old form version",
    "unknown unit folder", "file at the bucket root", "file directly in inbox/",
    "external-link formula", "text, negative and absurd numbers",
    "formula =1/0 in an input cell", "formula never calculated", "=SUM in an input cell",
    "value far outside the form (XFD1048576)", "broken sheet XML",
    "Vietnamese NFD name with spaces", "two files, first", "two files, second",
]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_each_file_is_answered_kept_and_not_merged_if_rejected(run, name):
    root, engine, cases, _ = run
    case, out = cases[name]
    assert out is not None, f"{name}: no outcome"
    assert out.status == case.status, (name, out)
    assert not (root / case.path).exists(), "the file left the inbox"
    kept = root / out.archive
    assert kept.exists() and kept.read_bytes() == case.data, "the original is kept as is"
    if case.status == "unroutable":
        assert out.archive.startswith("archive/unroutable/")
        return
    assert out.archive.startswith(f"archive/{case.status}/{case.folder}/")
    receipt = html.unescape((root / out.receipt).read_text(encoding="utf-8"))
    assert out.receipt.startswith(f"receipts/{case.folder}/")
    assert receipt == unicodedata.normalize("NFC", receipt)
    assert "PHIẾU TIẾP NHẬN BÁO CÁO" in receipt
    if case.status == "rejected":
        assert "BỊ TỪ CHỐI" in receipt and "Lỗi cần sửa" in receipt
    for fragment in case.fragments:
        assert fragment in receipt, (name, fragment, _problems(receipt))
    for sheet, addr in case.where:  # each problem names its sheet and cell
        where = f'<td class="at">{sheet}' + (f"<br>ô {addr}" if addr else "") + "</td>"
        assert where in receipt, (name, _problems(receipt))
    with engine.connect() as conn:
        facts = conn.execute(sa.text("select count(*) from fact_values where submission_id = "
                                     ":s"), {"s": out.submission_id}).scalar_one()
        status = conn.execute(sa.text("select status from submissions where id = :s"),
                              {"s": out.submission_id}).scalar_one()
    assert status == case.status
    assert (facts > 0) == (case.status == "accepted"), (name, facts)


def _problems(receipt: str) -> list[str]:
    return re.findall(r"<tr><td class=\"num\">\d+</td>(.*?)</tr>", receipt)


def test_one_run_answers_everything_and_records_nothing_rejected(run):
    root, engine, cases, outcomes = run
    assert len(outcomes) == len(cases)  # no file failed, none stayed behind
    left = [str(p.path) for p in (root / "inbox").rglob("*") if p.is_file()]
    assert left == []
    with engine.connect() as conn:
        leaked = {t: conn.execute(sa.text(
            f"select count(*) from {t} x join submissions s on s.id = x.submission_id "
            "where s.status <> 'accepted'")).scalar_one()
            for t in ("fact_values", "task_results", "narratives")}
    assert leaked == {"fact_values": 0, "task_results": 0, "narratives": 0}


def test_unroutable_files_are_reported_for_the_engineers(run):
    _root, _engine, cases, outcomes = run
    unroutable = sorted(o.path for o in outcomes if o.status == "unroutable")
    assert unroutable == sorted(unicodedata.normalize("NFC", cases[n][0].path) for n in (
        "file at the bucket root", "file directly in inbox/"))
    assert all(o.archive.startswith(("archive/unroutable/root/",
                                     "archive/unroutable/inbox/")) for o in outcomes
               if o.status == "unroutable")


def test_two_files_of_one_unit_newest_received_is_current(run):
    _root, engine, cases, _ = run
    first, second = cases["two files, first"][1], cases["two files, second"][1]
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.text("select id, is_current from submissions where id in "
                                         "(:a, :b)"), {"a": first.submission_id,
                                                       "b": second.submission_id}).all())
    assert (first.version, second.version) == (1, 2)
    assert rows == {first.submission_id: False, second.submission_id: True}


def test_same_content_twice_in_one_run_is_one_submission(tmp_path, programme):
    """Two identical files in one run: one recorded, the other answered as a duplicate."""
    from airflow.sdk import ObjectStoragePath

    from baocao.warehouse.db import migrate

    url = f"sqlite:///{tmp_path / 'wh.sqlite'}"
    migrate(url)
    engine = get_engine(url)
    sync_programme(engine, programme)
    root = ObjectStoragePath(f"file://{tmp_path / 'bucket'}")
    period = programme.period(PERIOD)
    unit = next(u for u in programme.expected_units(period) if u.kind == "commune")
    data = fill_form(programme, unit, period)
    for n, name in enumerate(("một.xlsx", "hai.xlsx")):
        drop(root, unit.code, name, data, ON_TIME + timedelta(seconds=n))
    outcomes = {o.path.rsplit("/", 1)[1]: o for o in run_intake(programme, engine, root, "r")}
    assert (outcomes["một.xlsx"].status, outcomes["hai.xlsx"].status) == \
        ("accepted", "duplicate")
    assert "ĐÃ NHẬN TRƯỚC ĐÓ" in (root / outcomes["hai.xlsx"].receipt).read_text("utf-8")
    assert outcomes["hai.xlsx"].archive.startswith("archive/duplicates/")
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from submissions")).scalar_one() == 1
    engine.dispose()


# ----- baocao check --json ------------------------------------------------------------
def test_check_json_lists_every_problem_with_its_place(tmp_path, programme, capsys):
    from baocao.cli import main

    period = programme.period(PERIOD)
    unit = next(u for u in programme.expected_units(period) if u.kind == "commune")
    c1, c2 = cell(programme, unit, "W_COUNSELLED"), cell(programme, unit, "W_TRAINED")
    bad = tmp_path / "Báo cáo lỗi.xlsx"
    bad.write_bytes(fill_form(programme, unit, period, overrides={
        ("workers", c1): "khoảng 50", ("workers", c2): -3}))
    assert main(["check", "--programme", "lang-son", "--unit", unit.code, "--json",
                 str(bad)]) == 1
    out = json.loads(capsys.readouterr().out)
    assert (out["status"], out["unit"], out["period"], out["readable"]) == \
        ("rejected", unit.code, PERIOD, True)
    assert out["errors"] == len([p for p in out["problems"] if p["severity"] == "error"]) >= 2
    assert out["rules_run"] > 0 and out["totals"] == []
    found = {(p["sheet"], p["cell"]): p for p in out["problems"]}
    assert found[(WORKERS, c1)]["value"] == "khoảng 50"
    assert found[(WORKERS, c1)]["expected"] == "số người, ví dụ 12"
    assert found[(WORKERS, c2)] == {"severity": "error", "rule": "STRUCTURE", "sheet": WORKERS,
                                    "cell": c2, "value": "-3",
                                    "label": "Số người được đào tạo nghề, ngoại ngữ trước khi đi",
                                    "expected": "số không âm (0 trở lên)",
                                    "message": "Số liệu không được âm; không có thì nhập 0"}


def test_check_json_of_a_good_file_gives_its_totals(tmp_path, programme, capsys):
    from baocao.cli import main
    from baocao.demo import demo_values

    period = programme.period(PERIOD)
    unit = next(u for u in programme.expected_units(period) if u.kind == "commune")
    good = tmp_path / "tốt.xlsx"
    good.write_bytes(fill_form(programme, unit, period))
    assert main(["check", "--unit", unit.code, "--json", str(good)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["status"], out["errors"], out["file"]) == ("accepted", 0, "tốt.xlsx")
    totals = {t["indicator"]: t["value"] for t in out["totals"]}
    values = demo_values(programme, unit, period)
    assert totals[programme.indicator("W_COUNSELLED").name] == values[("W_COUNSELLED", "", "")]
    # the same file as text for people: same verdict
    assert main(["check", "--unit", unit.code, str(good)]) == 0
    assert "Hợp lệ: tệp sẽ được tiếp nhận." in capsys.readouterr().out


def test_check_json_of_a_file_that_is_not_a_workbook(tmp_path, programme, capsys):
    from baocao.cli import main

    pdf = tmp_path / "bc.xlsx"
    pdf.write_bytes(b"%PDF-1.7\n%%EOF\n")
    assert main(["check", "--unit", "X-06001", "--json", str(pdf)]) == 1
    out = json.loads(capsys.readouterr().out)
    assert (out["status"], out["readable"], out["period"], out["rules_run"]) == \
        ("rejected", False, None, 0)
    assert [p["message"].split(",")[0] for p in out["problems"]] == ["Tệp là tài liệu PDF"]


def test_a_reader_failure_rejects_the_file_instead_of_blocking_the_inbox(tmp_path, programme,
                                                                          monkeypatch):
    """A bug or an unforeseen file that makes the reader raise must not stay in the inbox
    failing every run: the file is rejected with a receipt, the others go on."""
    from airflow.sdk import ObjectStoragePath

    from baocao.warehouse.db import migrate
    from baocao.workbook import Workbook

    url = f"sqlite:///{tmp_path / 'wh.sqlite'}"
    migrate(url)
    engine = get_engine(url)
    sync_programme(engine, programme)
    root = ObjectStoragePath(f"file://{tmp_path / 'bucket'}")
    period = programme.period(PERIOD)
    units = [u for u in programme.expected_units(period) if u.kind == "commune"][:2]
    for unit in units:
        drop(root, unit.code, "bc.xlsx", fill_form(programme, unit, period), ON_TIME)
    real = Workbook.formulas

    def formulas(self, sheet):
        if self.values(META_SHEET).get("B2") == units[0].code:
            raise KeyError("an unforeseen layout")
        return real(self, sheet)

    monkeypatch.setattr(Workbook, "formulas", formulas)
    outcomes = {o.unit_code: o for o in run_intake(programme, engine, root, "r")}
    bad, good = outcomes[units[0].code], outcomes[units[1].code]
    assert (bad.status, good.status) == ("rejected", "accepted")
    receipt = (root / bad.receipt).read_text(encoding="utf-8")
    assert "lỗi xử lý nội bộ, bộ phận kỹ thuật đã được báo" in receipt
    assert (root / bad.archive).exists()
    engine.dispose()
