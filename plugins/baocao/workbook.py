"""A guarded reader for received workbooks: values, formulas and error cells of an .xlsx.

The file is checked before anything trusts it: its size, what kind of file it really is
(an OLE compound file is told apart by its streams, a zip package by its content types and
relationships), the total it inflates to (zip bombs, lying headers), member checksums, macros
(VBA and Excel 4.0 macro sheets). The workbook's parts are then found through the package's
relationships, whatever their names, and every part is read with an XML parser (lxml, entity
expansion and network off, no DTD accepted), so namespace prefixes (``<x:c>``), attribute
order, shared or inline strings and shared formulas read the same whichever program wrote
the file. Worksheets are streamed: a value far outside any form, or a flood of cells, is
refused as soon as the parser reaches it, before anything is sized by it; the dimension a
file declares is never used. Every message is for the sender, in Vietnamese.
"""

from __future__ import annotations

import posixpath
import zipfile
import zlib
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from io import BytesIO
from typing import Any
from urllib.parse import unquote

from lxml import etree

from baocao.text import nfc

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_UNZIPPED_BYTES = 100 * 1024 * 1024
MAX_ROWS = 5000  # forms have a few hundred rows at most
MAX_COLS = 200
MAX_CELLS = 100_000  # non-empty cells in one sheet (a form has about a thousand)
MAX_STRINGS = 200_000  # entries of the shared string table
SMALL_PART = 2 * 1024 * 1024  # parts up to this size are parsed whole, larger ones streamed
_CFB = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE compound file: .xls, .doc, encrypted .xlsx
_ZIP_LOCAL = b"PK\x03\x04"

MAIN_NS = ("http://schemas.openxmlformats.org/spreadsheetml/2006/main",
           "http://purl.oclc.org/ooxml/spreadsheetml/main")  # transitional, strict
DOC_REL_NS = ("http://schemas.openxmlformats.org/officeDocument/2006/relationships",
              "http://purl.oclc.org/ooxml/officeDocument/relationships")
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
TYPES_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
_SAFE = {"resolve_entities": False, "no_network": True, "load_dtd": False, "huge_tree": False}
_PARSER = etree.XMLParser(**_SAFE)


def _tags(*local: str) -> tuple[str, ...]:
    return tuple(f"{{{ns}}}{name}" for ns in MAIN_NS for name in local)


_ROW, _C = set(_tags("row")), set(_tags("c"))
_V, _F, _IS, _T, _R = (set(_tags(n)) for n in ("v", "f", "is", "t", "r"))

_CORRUPT = ("Tệp nén bị hỏng hoặc không đầy đủ (tải lên bị gián đoạn?); hãy gửi lại")
_NOT_EXCEL = ("Tệp không phải là bảng tính Excel (.xlsx). Hãy dùng biểu mẫu do hệ thống phát "
              "hành và lưu ở định dạng .xlsx")
_RESAVE = "hãy mở tệp bằng Excel, lưu lại ở định dạng .xlsx (Excel Workbook) rồi gửi lại"
_MACRO = ("Tệp có chứa macro (.xlsm) không được chấp nhận; hãy lưu ở định dạng .xlsx "
          "(Excel Workbook)")
_XLM = ("Tệp có chứa trang macro Excel 4.0 (XLM), không được chấp nhận; hãy xóa trang macro "
        "rồi lưu ở định dạng .xlsx (Excel Workbook)")
_MB = MAX_UNZIPPED_BYTES // 1024 // 1024
_BOMB = f"Tệp có dung lượng giải nén bất thường (trên {_MB} MB); không xử lý"
# what a package's main part is, by content type (the part after the last '.' or '/')
_KINDS = {
    "sheet.main+xml": "", "template.main+xml": "",  # .xlsx, .xltx
    "sheet.macroenabled.main+xml": _MACRO, "template.macroenabled.main+xml": _MACRO,
    "addin.macroenabled.main+xml": _MACRO,
    "sheet.binary.macroenabled.main": "Tệp Excel dạng nhị phân (.xlsb) không được chấp nhận; "
    "hãy lưu ở định dạng .xlsx (Excel Workbook)",
    "document.main+xml": "Tệp là văn bản Word (.docx), không phải là bảng tính Excel. Hãy nhập "
    "số liệu vào biểu mẫu .xlsx do hệ thống phát hành",
    "presentation.main+xml": "Tệp là bản trình chiếu PowerPoint (.pptx), không phải là bảng "
    "tính Excel. Hãy nhập số liệu vào biểu mẫu .xlsx do hệ thống phát hành",
}
_OPEN_DOCUMENT = ("Tệp là bảng tính OpenDocument (.ods), không phải định dạng .xlsx; hãy lưu "
                  "lại ở định dạng .xlsx (Excel 2007-365) rồi gửi lại")


class UnreadableWorkbook(ValueError):
    """The file cannot be read as a form; the message is for the sender (Vietnamese)."""

    def __init__(self, message: str, sheet: str = "", cell: str = "") -> None:
        super().__init__(message)
        self.sheet, self.cell = sheet, cell


class _Sheet:
    """What one worksheet holds: values, formula texts and error values by cell address."""

    __slots__ = ("values", "formulas", "errors")

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.formulas: dict[str, str] = {}
        self.errors: dict[str, str] = {}


class Workbook:
    """Values and formula cells of a received .xlsx, by sheet name and cell address."""

    def __init__(self, data: bytes, size: int | None = None) -> None:
        """``size``: the file's real size when ``data`` is only its head (an oversized
        file is read no further than the limit)."""
        _check_container(data, len(data) if size is None else size)
        self._parts = _inflate(data)
        self._names = {name.lower(): name for name in self._parts}
        self._types = _content_types(self._parts.get("[Content_Types].xml"))
        main = self._check_package()
        wb = self._xml(main)
        if wb.tag not in set(_tags("workbook")):
            raise UnreadableWorkbook(_NOT_EXCEL)
        rels = self._rels(main)
        self._check_macros(rels)
        self.external_links = any(kind == "externallink" for kind, _ in rels.values()) or \
            any(n.startswith("xl/externallinks/") for n in self._names)
        self.sheet_names: list[str] = []
        self._paths: dict[str, str] = {}
        for sheet in wb.iter(*_tags("sheet")):
            rid = next((sheet.get(f"{{{ns}}}id") for ns in DOC_REL_NS
                        if sheet.get(f"{{{ns}}}id")), None)
            kind, target = rels.get(rid or "", ("", ""))
            name = nfc(sheet.get("name") or "")
            if kind == "worksheet" and name not in self._paths:
                self.sheet_names.append(name)
                self._paths[name] = target
        self._date1904 = any(p.get("date1904") in ("1", "true") for p in wb.iter(
            *_tags("workbookPr")))
        self._strings_part = next((t for k, t in rels.values() if k == "sharedstrings"), "")
        self._styles_part = next((t for k, t in rels.values() if k == "styles"), "")
        self._strings: list[str] | None = None
        self._date_styles: frozenset[int] | None = None
        self._sheets: dict[str, _Sheet] = {}

    # ----- the package ------------------------------------------------------------------
    def _part(self, name: str) -> bytes | None:
        """A part by name (OPC part names are case-insensitive)."""
        real = self._names.get(name.lower())
        return self._parts[real] if real is not None else None

    def _xml(self, name: str, sheet: str = "") -> etree._Element:
        """A small part as an element tree; no DTD, no entities, no network."""
        data = self._part(name)
        if data is None:
            raise UnreadableWorkbook(f"Không đọc được tệp Excel: thiếu một phần của tệp; "
                                     f"{_RESAVE}", sheet=sheet)
        try:
            root = etree.fromstring(data, _PARSER)
        except etree.XMLSyntaxError:
            raise UnreadableWorkbook(f"Không đọc được tệp Excel: nội dung bị hỏng; {_RESAVE}",
                                     sheet=sheet) from None
        _no_dtd(root, sheet)
        return root

    def _rels(self, part: str) -> dict[str, tuple[str, str]]:
        """Relationship id -> (kind, target part name) of ``part``; kind is the last word
        of the relationship type, lower case (``worksheet``, ``sharedstrings``...)."""
        folder, base = posixpath.split(part)
        rels_name = posixpath.join(folder, "_rels", f"{base}.rels")
        if self._part(rels_name) is None:
            return {}
        out = {}
        for rel in self._xml(rels_name).iter(f"{{{PKG_REL_NS}}}Relationship"):
            kind = (rel.get("Type") or "").rstrip("/").rsplit("/", 1)[-1].lower()
            target = unquote(rel.get("Target") or "")
            if rel.get("TargetMode") == "External" or not target:
                out[rel.get("Id") or ""] = (kind, "")
                continue
            if target.startswith("/"):
                path = posixpath.normpath(target.lstrip("/"))
            else:
                path = posixpath.normpath(posixpath.join(folder, target))
            out[rel.get("Id") or ""] = (kind, path)
        return out

    def _content_type(self, part: str) -> str:
        overrides, defaults = self._types
        found = overrides.get(part.lower())
        if found is None:
            found = defaults.get(part.rsplit(".", 1)[-1].lower() if "." in part else "", "")
        return found.lower()

    def _check_package(self) -> str:
        """The workbook part's name; anything that is not a plain workbook is refused."""
        mimetype = self._part("mimetype")
        if mimetype is not None and mimetype.startswith(b"application/vnd.oasis.opendocument"):
            if b"spreadsheet" in mimetype:
                raise UnreadableWorkbook(_OPEN_DOCUMENT)
            raise UnreadableWorkbook(_NOT_EXCEL)
        main = next((t for kind, t in self._rels("").values()
                     if kind == "officedocument" and t), None)
        if main is None or self._part(main) is None:
            if self._part("xl/workbook.xml") is not None:
                return "xl/workbook.xml"
            for folder, kind in (("word/", "document.main+xml"),
                                 ("ppt/", "presentation.main+xml")):
                if any(n.startswith(folder) for n in self._names):
                    raise UnreadableWorkbook(_KINDS[kind])
            if any(n.endswith(".bin") and "workbook" in n for n in self._names):
                raise UnreadableWorkbook(_KINDS["sheet.binary.macroenabled.main"])
            raise UnreadableWorkbook(_NOT_EXCEL)
        content = self._content_type(main)
        suffix = next((k for k in _KINDS if content.endswith(k)), None)
        if suffix is not None and _KINDS[suffix]:
            raise UnreadableWorkbook(_KINDS[suffix])
        return main  # any other content type: the part's root element decides

    def _check_macros(self, rels: dict[str, tuple[str, str]]) -> None:
        kinds = {kind for kind, _ in rels.values()}
        types = set(self._types[0].values()) | set(self._types[1].values())
        if any("macrosheet" in k for k in kinds) or any("macrosheet" in t for t in types) \
                or any(n.startswith("xl/macrosheets/") for n in self._names):
            raise UnreadableWorkbook(_XLM)
        if "vbaproject" in kinds or any("vbaproject" in t for t in types) or any(
                n.endswith(".bin") and "vba" in n.rsplit("/", 1)[-1] for n in self._names):
            raise UnreadableWorkbook(_MACRO)

    # ----- access -------------------------------------------------------------------------
    def values(self, sheet: str) -> dict[str, Any]:
        """Cell address -> value (numbers, text, booleans; dates as ISO text); empty cells
        are absent."""
        return self._sheet(sheet).values

    def errors(self, sheet: str) -> dict[str, str]:
        """Cell address -> Excel error value (``#DIV/0!``, ``#REF!``...) of error cells."""
        return self._sheet(sheet).errors

    def formulas(self, sheet: str) -> dict[str, str]:
        """Cell address -> formula text (without '=') of every formula cell in ``sheet``;
        '' where the text cannot be known (e.g. a data table)."""
        return self._sheet(sheet).formulas

    def _sheet(self, sheet: str) -> _Sheet:
        if sheet not in self._sheets:
            if sheet not in self._paths:
                raise KeyError(sheet)
            self._sheets[sheet] = self._read_sheet(sheet)
        return self._sheets[sheet]

    # ----- worksheets -----------------------------------------------------------------------
    def _read_sheet(self, sheet: str) -> _Sheet:
        """Stream a worksheet's XML: every cell whatever its prefix or attribute order;
        the first value outside the form area stops the reading."""
        data = self._part(self._paths[sheet])
        if data is None:
            raise UnreadableWorkbook(f"Không đọc được trang tính \"{sheet}\": thiếu nội dung "
                                     f"trang tính; {_RESAVE}", sheet=sheet)
        out = _Sheet()
        shared: dict[str, tuple[str, str]] = {}  # shared formula id -> (text, master cell)
        arrays: list[tuple[int, int, int, int, str]] = []
        row_no = col_no = count = 0
        try:
            for el in _sheet_elements(data, sheet):
                if el.tag in _ROW:
                    row_no = _int(el.get("r"), row_no + 1)
                    col_no = 0
                    continue
                ref = el.get("r")
                row, col = _ref(ref) if ref else (row_no, col_no + 1)
                if row < 1 or col < 1:
                    raise ValueError(ref)
                col_no = col
                v = f = inline = None
                for child in el:
                    tag = child.tag
                    if tag in _V:
                        v = child
                    elif tag in _F:
                        f = child
                    elif tag in _IS:
                        inline = child
                has_v = v is not None and v.text is not None and v.text != ""
                if f is None and not has_v and inline is None:
                    continue  # an empty (formatted) cell: nothing is kept for it
                if row > MAX_ROWS or col > MAX_COLS:
                    raise _far(sheet, ref or _addr(row, col))
                addr = _addr(row, col)
                count += 1
                if count > MAX_CELLS:
                    raise UnreadableWorkbook(
                        f"Trang tính \"{sheet}\" có quá nhiều ô dữ liệu (trên "
                        f"{MAX_CELLS:,} ô), nằm ngoài vùng biểu mẫu; hãy xóa dữ liệu thừa "
                        "rồi gửi lại".replace(",", "."), sheet=sheet)
                if f is not None:
                    out.formulas[addr] = self._formula(f, addr, shared, arrays)
                elif arrays:
                    text = next((a[4] for a in arrays
                                 if a[0] <= row <= a[2] and a[1] <= col <= a[3]), None)
                    if text is not None:
                        out.formulas[addr] = text
                kind = el.get("t")
                if kind == "inlineStr" or (inline is not None and not has_v):
                    value: Any = _rich_text(inline) if inline is not None else v.text
                elif not has_v:
                    continue  # a formula never calculated: no value
                elif kind == "s":
                    value = self._shared_string(v.text, sheet, addr)
                elif kind == "e":
                    value = out.errors[addr] = v.text.strip()
                elif kind == "b":
                    value = v.text.strip() in ("1", "true")
                elif kind in ("str", "d"):
                    value = v.text
                else:
                    value = self._number(v.text, el.get("s"))
                if value == "" or value is None:
                    continue
                out.values[addr] = value
        except etree.XMLSyntaxError:
            raise UnreadableWorkbook(f"Không đọc được trang tính \"{sheet}\": nội dung bị "
                                     f"hỏng; {_RESAVE}", sheet=sheet) from None
        except ValueError as exc:
            if isinstance(exc, UnreadableWorkbook):
                raise
            raise UnreadableWorkbook(f"Không đọc được trang tính \"{sheet}\": địa chỉ ô hoặc "
                                     f"dòng không hợp lệ; {_RESAVE}", sheet=sheet) from None
        return out

    @staticmethod
    def _formula(f: etree._Element, addr: str, shared: dict[str, tuple[str, str]],
                 arrays: list[tuple[int, int, int, int, str]]) -> str:
        text = (f.text or "").strip().removeprefix("=")
        kind = f.get("t")
        if kind == "shared":
            si = f.get("si") or ""
            if text:
                shared[si] = (text, addr)
                return text
            if si in shared:
                return _translate(*shared[si], addr)
            return ""
        if kind == "array" and text and f.get("ref"):
            first, _, last = f.get("ref").partition(":")
            try:
                (r1, c1), (r2, c2) = _ref(first.replace("$", "")), \
                    _ref((last or first).replace("$", ""))
            except ValueError:
                return text
            arrays.append((r1, c1, r2, c2, text))
        return text

    def _number(self, text: str, style: str | None) -> Any:
        try:
            number = float(text)
        except ValueError:
            return text  # not a number after all: shown to the sender as text
        if style and style != "0" and _int(style, -1) in self._dates():
            return _excel_date(number, self._date1904)
        return number

    def _dates(self) -> frozenset[int]:
        """Indexes of the cell formats that show a number as a date or a time."""
        if self._date_styles is None:
            found: set[int] = set()
            if self._styles_part and self._part(self._styles_part) is not None:
                from openpyxl.styles.numbers import is_date_format

                root = self._xml(self._styles_part)
                codes = {_int(n.get("numFmtId"), -1): n.get("formatCode") or ""
                         for n in root.iter(*_tags("numFmt"))}
                xfs = next(root.iter(*_tags("cellXfs")), None)
                for i, xf in enumerate(xfs.iterchildren(*_tags("xf")) if xfs is not None
                                       else ()):
                    fmt = _int(xf.get("numFmtId"), 0)
                    if fmt in codes:
                        if is_date_format(codes[fmt]):
                            found.add(i)
                    elif _builtin_date(fmt):
                        found.add(i)
            self._date_styles = frozenset(found)
        return self._date_styles

    def _shared_string(self, index: str, sheet: str, addr: str) -> str:
        if self._strings is None:
            self._strings = self._read_strings()
        try:
            return self._strings[int(index)]
        except (ValueError, IndexError):
            raise UnreadableWorkbook(f"Không đọc được trang tính \"{sheet}\": ô {addr} trỏ tới "
                                     f"chuỗi ký tự không có trong tệp; {_RESAVE}",
                                     sheet=sheet, cell=addr) from None

    def _read_strings(self) -> list[str]:
        data = self._part(self._strings_part) if self._strings_part else None
        if data is None:
            return []
        out: list[str] = []
        checked = False
        try:
            for _event, si in etree.iterparse(BytesIO(data), tag=_tags("si"), **_SAFE):
                if not checked:
                    _no_dtd(si)
                    checked = True
                out.append(_rich_text(si))
                si.clear()
                if len(out) > MAX_STRINGS:
                    raise UnreadableWorkbook(f"Tệp có quá nhiều chuỗi ký tự (trên "
                                             f"{MAX_STRINGS:,}); không xử lý".replace(",", "."))
        except etree.XMLSyntaxError:
            raise UnreadableWorkbook(f"Không đọc được tệp Excel: bảng chuỗi ký tự bị hỏng; "
                                     f"{_RESAVE}") from None
        return out


def _sheet_elements(data: bytes, sheet: str):
    """A worksheet's rows (as they start, children not read yet) and cells (complete), in
    document order. A small part is parsed at once (fast); a large one is streamed and
    each row dropped once read, so memory stays flat whatever its size."""
    if len(data) <= SMALL_PART:
        root = etree.fromstring(data, _PARSER)
        _no_dtd(root, sheet)
        for el in root.iter(*_ROW, *_C):
            yield el
        return
    checked = False
    for event, el in etree.iterparse(BytesIO(data), events=("start", "end"),
                                     tag=(*_ROW, *_C), **_SAFE):
        if not checked:
            _no_dtd(el, sheet)
            checked = True
        if el.tag in _ROW:
            if event == "start":
                yield el
            else:
                el.clear()
                while el.getprevious() is not None:
                    del el.getparent()[0]
        elif event == "end":
            yield el


# ----- checks before anything is parsed -------------------------------------------------
def _check_container(data: bytes, total: int) -> None:
    if not data:
        raise UnreadableWorkbook("Tệp rỗng (0 byte). Hãy lưu lại biểu mẫu rồi gửi lại")
    if max(total, len(data)) > MAX_FILE_BYTES:
        size = f"{max(total, len(data)) / 1024 / 1024:.1f}".replace(".", ",")
        raise UnreadableWorkbook(f"Tệp quá lớn ({size} MB); biểu mẫu không quá "
                                 f"{MAX_FILE_BYTES // 1024 // 1024} MB")
    if data.startswith(_CFB):
        _check_compound(data)
    if data.startswith(b"%PDF"):
        raise UnreadableWorkbook("Tệp là tài liệu PDF, không phải là bảng tính Excel. Hãy gửi "
                                 "biểu mẫu .xlsx đã nhập số liệu (không chuyển sang PDF)")
    if not zipfile.is_zipfile(BytesIO(data)):
        if data.startswith(_ZIP_LOCAL):
            raise UnreadableWorkbook("Tệp không phải là bảng tính Excel hợp lệ: tệp bị hỏng "
                                     "hoặc không đầy đủ (tải lên bị gián đoạn?); hãy lưu "
                                     "lại biểu mẫu rồi gửi lại")
        raise UnreadableWorkbook(_NOT_EXCEL)


def _check_compound(data: bytes) -> None:
    """An OLE compound file is never accepted; its top-level streams say what it is (an
    .xls stays an .xls whatever objects it embeds)."""
    import olefile

    try:
        with olefile.OleFileIO(data) as ole:
            top = {entry[0] for entry in ole.listdir(streams=True, storages=True)}
    except Exception:  # noqa: BLE001 - a damaged compound file
        raise UnreadableWorkbook("Tệp không phải là bảng tính Excel hợp lệ: tệp bị hỏng; hãy "
                                 "lưu lại biểu mẫu ở định dạng .xlsx rồi gửi lại") from None
    if "EncryptionInfo" in top or "EncryptedPackage" in top:
        raise UnreadableWorkbook("Tệp Excel được đặt mật khẩu (mã hóa); hãy bỏ mật khẩu rồi "
                                 "gửi lại")
    if "Workbook" in top or "Book" in top:
        raise UnreadableWorkbook("Tệp Excel định dạng cũ (.xls) không được chấp nhận; hãy "
                                 "dùng biểu mẫu .xlsx do hệ thống phát hành")
    if "WordDocument" in top:
        raise UnreadableWorkbook("Tệp là văn bản Word (.doc), không phải là bảng tính Excel. "
                                 "Hãy nhập số liệu vào biểu mẫu .xlsx do hệ thống phát hành")
    if "PowerPoint Document" in top:
        raise UnreadableWorkbook("Tệp là bản trình chiếu PowerPoint (.ppt), không phải là bảng "
                                 "tính Excel. Hãy nhập số liệu vào biểu mẫu .xlsx do hệ thống "
                                 "phát hành")
    raise UnreadableWorkbook(_NOT_EXCEL)


def _inflate(data: bytes) -> dict[str, bytes]:
    """Every member inflated with a cap, trusting no size written in the zip headers: a
    zip whose headers understate its content (a zip bomb in disguise) is refused before
    anything else reads it. Sizes and CRCs are checked (a truncated or damaged member is
    refused); two members with one name (which one would a reader take?) too."""
    try:
        infos = zipfile.ZipFile(BytesIO(data)).infolist()
    except Exception:  # noqa: BLE001 - a central directory that lies
        raise UnreadableWorkbook(_CORRUPT) from None
    if sum(i.file_size for i in infos) > MAX_UNZIPPED_BYTES:
        raise UnreadableWorkbook(_BOMB)
    if len({i.filename.lower() for i in infos}) != len(infos):
        raise UnreadableWorkbook(_CORRUPT)
    parts: dict[str, bytes] = {}
    left = MAX_UNZIPPED_BYTES
    for info in infos:
        start = info.header_offset
        if data[start:start + 4] != _ZIP_LOCAL:
            raise UnreadableWorkbook(_CORRUPT)
        name_len = int.from_bytes(data[start + 26:start + 28], "little")
        extra_len = int.from_bytes(data[start + 28:start + 30], "little")
        begin = start + 30 + name_len + extra_len
        raw = data[begin:begin + info.compress_size]
        if info.compress_type == zipfile.ZIP_STORED:
            content = raw
        elif info.compress_type == zipfile.ZIP_DEFLATED:
            chunks, size, inflater = [], 0, zlib.decompressobj(-15)
            try:
                chunk = inflater.decompress(raw, 1 << 20)
                while chunk:
                    size += len(chunk)
                    if size > left:
                        raise UnreadableWorkbook(_BOMB)
                    chunks.append(chunk)
                    chunk = inflater.decompress(inflater.unconsumed_tail, 1 << 20)
                chunks.append(inflater.flush())
            except zlib.error:
                raise UnreadableWorkbook(_CORRUPT) from None
            content = b"".join(chunks)
        else:  # Excel writes only stored and deflated members
            raise UnreadableWorkbook(_CORRUPT)
        if len(content) > left:
            raise UnreadableWorkbook(_BOMB)
        if len(content) != info.file_size or zlib.crc32(content) != info.CRC:
            raise UnreadableWorkbook(_CORRUPT)
        left -= len(content)
        if not info.is_dir():
            parts[info.filename.replace("\\", "/").lstrip("/")] = content
    return parts


def _content_types(data: bytes | None) -> tuple[dict[str, str], dict[str, str]]:
    """([Content_Types].xml) part name (lower case, no leading '/') -> content type, and
    extension -> content type."""
    if data is None:
        return {}, {}
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError:
        raise UnreadableWorkbook(_CORRUPT) from None
    _no_dtd(root)
    overrides = {(o.get("PartName") or "").lstrip("/").lower(): o.get("ContentType") or ""
                 for o in root.iter(f"{{{TYPES_NS}}}Override")}
    defaults = {(d.get("Extension") or "").lower(): d.get("ContentType") or ""
                for d in root.iter(f"{{{TYPES_NS}}}Default")}
    return {unquote(k): v for k, v in overrides.items()}, defaults


def _no_dtd(element: etree._Element, sheet: str = "") -> None:
    """Office parts never carry a DTD; one that does is refused (entity tricks)."""
    info = element.getroottree().docinfo
    if info.internalDTD is not None or info.externalDTD is not None or info.system_url:
        where = f"trang tính \"{sheet}\"" if sheet else "tệp Excel"
        raise UnreadableWorkbook(f"Không đọc được {where}: nội dung có cấu trúc không cho "
                                 f"phép (khai báo DTD); {_RESAVE}", sheet=sheet)


def _rich_text(element: etree._Element) -> str:
    """The text of a string item (``<si>`` or ``<is>``): plain or rich-text runs, without
    phonetic guides."""
    parts = []
    for child in element:
        if child.tag in _T:
            parts.append(child.text or "")
        elif child.tag in _R:
            parts.extend(t.text or "" for t in child if t.tag in _T)
    return "".join(parts)


def _far(sheet: str, where: str) -> UnreadableWorkbook:
    return UnreadableWorkbook(f"Trang tính \"{sheet}\" có dữ liệu ở ô {where}, nằm ngoài vùng "
                              "biểu mẫu; hãy xóa dữ liệu thừa ở cuối trang tính rồi gửi lại",
                              sheet=sheet, cell=where)


def _int(text: str | None, default: int) -> int:
    if text is None or text == "":
        return default
    return int(text)  # ValueError: refused by the caller as a damaged sheet


@lru_cache(maxsize=65536)
def _ref(ref: str) -> tuple[int, int]:
    """(row, column) of an A1 reference; ValueError if it is none."""
    col, i = 0, 0
    while i < len(ref) and "A" <= ref[i].upper() <= "Z":
        col = col * 26 + ord(ref[i].upper()) - 64
        i += 1
    digits = ref[i:]
    if not 1 <= i <= 3 or not digits.isdigit() or not digits.isascii() or len(digits) > 7:
        raise ValueError(ref)
    return int(digits), col


@lru_cache(maxsize=65536)
def _addr(row: int, col: int) -> str:
    letters = ""
    while col:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row}"


@lru_cache(maxsize=4096)
def _translate(text: str, origin: str, dest: str) -> str:
    """A shared formula's text as it reads in ``dest`` (references moved as Excel does)."""
    from openpyxl.formula.translate import Translator

    try:
        return Translator(f"={text}", origin=origin).translate_formula(dest).removeprefix("=")
    except Exception:  # noqa: BLE001 - a formula the tokenizer cannot follow: text unknown
        return ""


def _builtin_date(fmt: int) -> bool:
    """Excel's built-in number formats that show dates or times."""
    return 14 <= fmt <= 22 or 27 <= fmt <= 36 or 45 <= fmt <= 47 or 50 <= fmt <= 58 \
        or 71 <= fmt <= 81


def _excel_date(number: float, date1904: bool) -> str:
    """A date-formatted number as ISO text (it is never a count or an amount)."""
    if not -1e7 < number < 1e7:
        return str(number)
    if date1904:
        when = datetime(1904, 1, 1) + timedelta(days=number)
    else:  # Excel's 1900 system, with its phantom 29/02/1900
        when = datetime(1899, 12, 31 if number < 60 else 30) + timedelta(days=number)
    when = when.replace(microsecond=0)
    if 0 <= number < 1:
        return time(when.hour, when.minute, when.second).isoformat()
    if when.time() == time(0):
        return date(when.year, when.month, when.day).isoformat()
    return when.isoformat()
