"""A guarded, fast reader for received workbooks.

Values come from python-calamine (about 20× faster than openpyxl); formulas are found by
scanning each worksheet's XML for ``<f>`` elements. Before anything is decompressed, the
zip is checked: size, total uncompressed size (zip bombs), macros, external links,
encryption and legacy formats are refused with a message in Vietnamese. A worksheet whose
cells reach far beyond the form (a stray value in XFD1048576 would make the dense reader
allocate billions of cells and abort the process) is refused before it is loaded.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
import zlib
from datetime import date, datetime
from io import BytesIO
from typing import Any

from openpyxl.utils import column_index_from_string, get_column_letter

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_UNZIPPED_BYTES = 100 * 1024 * 1024
_CFB = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE compound file: legacy .xls or encrypted
_ENCRYPTED = "EncryptionInfo".encode("utf-16-le")
_WORD_CFB = "WordDocument".encode("utf-16-le")
_ZIP_LOCAL = b"PK\x03\x04"
MAX_ROWS = 5000  # forms have a few hundred rows at most
MAX_COLS = 200
_CELL_REF = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"')
_ROW_REF = re.compile(rb'<row r="([0-9]{1,7})"')
_ERR = re.compile(rb'<c r="([A-Z]{1,3}[0-9]{1,7})"[^>]*?t="e"[^>]*>(?:(?!</c>).){0,300}?'
                  rb'<v>([^<]*)</v>', re.S)
_CELL_F = re.compile(rb'<c r="([A-Z]{1,3}[0-9]{1,7})"[^>]*?(?<!/)>(?:(?!</c>).){0,200}?<f[ >/]',
                     re.S)
_F_TEXT = re.compile(rb'<c r="([A-Z]{1,3}[0-9]{1,7})"[^>]*?(?<!/)><f[^>]*>([^<]*)</f>', re.S)


class UnreadableWorkbook(ValueError):
    """The file cannot be read as a form; the message is for the sender (Vietnamese)."""

    def __init__(self, message: str, sheet: str = "", cell: str = "") -> None:
        super().__init__(message)
        self.sheet, self.cell = sheet, cell


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


class Workbook:
    """Values and formula cells of a received .xlsx, by sheet name and cell address."""

    def __init__(self, data: bytes, size: int | None = None) -> None:
        """``size``: the file's real size when ``data`` is only its head (an oversized
        file is read no further than the limit)."""
        self._check_container(data, len(data) if size is None else size)
        try:
            self._zip = zipfile.ZipFile(BytesIO(data))
        except Exception:  # noqa: BLE001 - a central directory that lies
            raise UnreadableWorkbook("Tệp nén bị hỏng hoặc không đầy đủ (tải lên bị gián "
                                     "đoạn?); hãy gửi lại") from None
        self._xml: dict[str, bytes] = {}  # worksheet parts, inflated once by the guard
        self._check_members()
        self._check_inflated(data)
        from python_calamine import CalamineWorkbook

        try:
            self._wb = CalamineWorkbook.from_filelike(BytesIO(data))
        except Exception as exc:  # calamine raises its own types for broken parts
            raise UnreadableWorkbook("Không đọc được tệp Excel: tệp bị hỏng hoặc không đúng "
                                     f"định dạng ({type(exc).__name__})") from None
        self.sheet_names = [_nfc(n) for n in self._wb.sheet_names]
        self._raw_names = dict(zip(self.sheet_names, self._wb.sheet_names, strict=True))
        self._paths = self._sheet_paths()
        self._values: dict[str, dict[str, Any]] = {}

    # ----- guards ----------------------------------------------------------------------
    @staticmethod
    def _check_container(data: bytes, total: int) -> None:
        if not data:
            raise UnreadableWorkbook("Tệp rỗng (0 byte). Hãy lưu lại biểu mẫu rồi gửi lại")
        if max(total, len(data)) > MAX_FILE_BYTES:
            size = f"{max(total, len(data)) / 1024 / 1024:.1f}".replace(".", ",")
            raise UnreadableWorkbook(f"Tệp quá lớn ({size} MB); biểu mẫu không quá "
                                     f"{MAX_FILE_BYTES // 1024 // 1024} MB")
        if data.startswith(_CFB):
            if _ENCRYPTED in data:  # the stream names live in the directory, anywhere
                raise UnreadableWorkbook("Tệp Excel được đặt mật khẩu (mã hóa); hãy bỏ mật "
                                         "khẩu rồi gửi lại")
            if _WORD_CFB in data:
                raise UnreadableWorkbook("Tệp là văn bản Word (.doc), không phải là bảng tính "
                                         "Excel. Hãy nhập số liệu vào biểu mẫu .xlsx do hệ "
                                         "thống phát hành")
            raise UnreadableWorkbook("Tệp Excel định dạng cũ (.xls) không được chấp nhận; hãy "
                                     "dùng biểu mẫu .xlsx do hệ thống phát hành")
        if data.startswith(b"%PDF"):
            raise UnreadableWorkbook("Tệp là tài liệu PDF, không phải là bảng tính Excel. Hãy gửi "
                                     "biểu mẫu .xlsx đã nhập số liệu (không chuyển sang PDF)")
        if not zipfile.is_zipfile(BytesIO(data)):
            if data.startswith(_ZIP_LOCAL):
                raise UnreadableWorkbook("Tệp không phải là bảng tính Excel hợp lệ: tệp bị hỏng "
                                         "hoặc không đầy đủ (tải lên bị gián đoạn?); hãy lưu "
                                         "lại biểu mẫu rồi gửi lại")
            raise UnreadableWorkbook("Tệp không phải là bảng tính Excel (.xlsx). Hãy dùng biểu "
                                     "mẫu do hệ thống phát hành và lưu ở định dạng .xlsx")

    def _check_members(self) -> None:
        try:
            infos = self._zip.infolist()
        except Exception:  # noqa: BLE001
            raise UnreadableWorkbook("Tệp nén bị hỏng hoặc không đầy đủ") from None
        names = {i.filename for i in infos}
        if sum(i.file_size for i in infos) > MAX_UNZIPPED_BYTES:
            raise UnreadableWorkbook("Tệp có dung lượng giải nén bất thường (trên "
                                     f"{MAX_UNZIPPED_BYTES // 1024 // 1024} MB); không xử lý")
        if "word/document.xml" in names:
            raise UnreadableWorkbook("Tệp là văn bản Word (.docx), không phải là bảng tính Excel. "
                                     "Hãy nhập số liệu vào biểu mẫu .xlsx do hệ thống phát hành")
        if "xl/workbook.xml" not in names:
            raise UnreadableWorkbook("Tệp không phải là bảng tính Excel (.xlsx). Hãy dùng biểu "
                                     "mẫu do hệ thống phát hành và lưu ở định dạng .xlsx")
        if "xl/vbaProject.bin" in names or any(n.endswith(".bin") and "vba" in n.lower()
                                               for n in names):
            raise UnreadableWorkbook("Tệp có chứa macro (.xlsm) không được chấp nhận; hãy lưu "
                                     "ở định dạng .xlsx (Excel Workbook)")
        # external links are reported cell by cell by the parser (values are never fetched)
        self.external_links = any(n.startswith("xl/externalLinks/") for n in names)

    def _check_inflated(self, data: bytes) -> None:
        """Inflate every member with a cap, trusting no size written in the zip headers: a
        zip whose headers understate its content (a zip bomb in disguise) is refused before
        any reader that trusts them sees it. Sizes and CRCs are checked (a truncated or
        damaged member is refused); worksheet XML is kept for the formula scan."""
        corrupt = UnreadableWorkbook("Tệp nén bị hỏng hoặc không đầy đủ (tải lên bị gián "
                                     "đoạn?); hãy gửi lại")
        left = MAX_UNZIPPED_BYTES
        for info in self._zip.infolist():
            start = info.header_offset
            if data[start:start + 4] != _ZIP_LOCAL:
                raise corrupt
            name_len, extra_len = int.from_bytes(data[start + 26:start + 28], "little"), \
                int.from_bytes(data[start + 28:start + 30], "little")
            begin = start + 30 + name_len + extra_len
            raw = data[begin:begin + info.compress_size]
            keep = info.filename.startswith("xl/worksheets/") and \
                info.filename.endswith(".xml")
            parts: list[bytes] = []
            if info.compress_type == zipfile.ZIP_STORED:
                size, crc = len(raw), zlib.crc32(raw)
                parts.append(raw)
            elif info.compress_type == zipfile.ZIP_DEFLATED:
                size, crc, inflater = 0, 0, zlib.decompressobj(-15)
                try:
                    chunk = inflater.decompress(raw, 1 << 20)
                    while chunk:
                        size += len(chunk)
                        if size > left:
                            break
                        crc = zlib.crc32(chunk, crc)
                        if keep:
                            parts.append(chunk)
                        chunk = inflater.decompress(inflater.unconsumed_tail, 1 << 20)
                    if size <= left:
                        tail = inflater.flush()
                        size, crc = size + len(tail), zlib.crc32(tail, crc)
                        parts.append(tail)
                except zlib.error:
                    raise corrupt from None
            else:  # Excel writes only stored and deflated members
                raise corrupt
            if size > left:
                raise UnreadableWorkbook("Tệp có dung lượng giải nén bất thường (trên "
                                         f"{MAX_UNZIPPED_BYTES // 1024 // 1024} MB); không xử lý")
            if size != info.file_size or crc != info.CRC:
                raise corrupt
            if keep:
                self._xml[info.filename] = b"".join(parts)
            left -= size

    def _sheet_paths(self) -> dict[str, str]:
        """Sheet name -> worksheet XML path, from workbook.xml and its relationships."""
        wb_xml = self._zip.read("xl/workbook.xml").decode("utf-8", "replace")
        rels = self._zip.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace") \
            if "xl/_rels/workbook.xml.rels" in self._zip.namelist() else ""
        targets = {m.group(1): m.group(2) for m in re.finditer(
            r'<Relationship[^>]*Id="([^"]+)"[^>]*Target="([^"]+)"', rels)}
        targets.update({m.group(2): m.group(1) for m in re.finditer(
            r'<Relationship[^>]*Target="([^"]+)"[^>]*Id="([^"]+)"', rels)})
        out = {}
        for m in re.finditer(r'<sheet\b[^>]*?name="([^"]+)"[^>]*?r:id="([^"]+)"', wb_xml):
            name = _nfc(_unescape(m.group(1)))
            target = targets.get(m.group(2), "")
            out[name] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        return out

    # ----- access ----------------------------------------------------------------------
    def values(self, sheet: str) -> dict[str, Any]:
        """Cell address -> value (numbers, text, dates); empty cells are absent."""
        if sheet not in self._values:
            self._check_extent(sheet)
            try:
                ws = self._wb.get_sheet_by_name(self._raw_names[sheet])
            except Exception as exc:  # calamine's own types for broken sheet XML
                raise UnreadableWorkbook(f"Không đọc được trang tính \"{sheet}\": nội dung bị "
                                         f"hỏng ({type(exc).__name__}); hãy lưu lại tệp bằng "
                                         "Excel rồi gửi lại", sheet=sheet) from None
            out: dict[str, Any] = {}
            start = ws.start or (0, 0)
            for r, row in enumerate(ws.to_python(skip_empty_area=False)):
                for c, value in enumerate(row):
                    if value == "" or value is None:
                        continue
                    if isinstance(value, datetime | date):
                        value = value.isoformat()
                    out[f"{get_column_letter(start[1] + c + 1)}{start[0] + r + 1}"] = value
            self._values[sheet] = out
        return self._values[sheet]

    def _sheet_xml(self, sheet: str) -> bytes:
        return self._xml.get(self._paths.get(sheet, ""), b"")

    def _check_extent(self, sheet: str) -> None:
        """Refuse a sheet with cells far outside any form before the dense reader sees it."""
        xml = self._sheet_xml(sheet)
        where = next(((m.group(1) + m.group(2)).decode() for m in _CELL_REF.finditer(xml)
                     if int(m.group(2)) > MAX_ROWS
                     or column_index_from_string(m.group(1).decode()) > MAX_COLS), None)
        rows = max([xml.count(b"<row ") + xml.count(b"<row>")]
                   + [int(m.group(1)) for m in _ROW_REF.finditer(xml)])
        if where or rows > MAX_ROWS:
            place = f"ô {where}" if where else f"dòng {rows}"
            raise UnreadableWorkbook(
                f"Trang tính \"{sheet}\" có dữ liệu ở {place}, nằm ngoài vùng biểu mẫu; hãy "
                "xóa dữ liệu thừa ở cuối trang tính rồi gửi lại", sheet=sheet, cell=where or "")

    def errors(self, sheet: str) -> dict[str, str]:
        """Cell address -> Excel error value (``#DIV/0!``, ``#REF!``...) of error cells."""
        return {m.group(1).decode(): m.group(2).decode("utf-8", "replace")
                for m in _ERR.finditer(self._sheet_xml(sheet))}

    def formulas(self, sheet: str) -> dict[str, str]:
        """Cell address -> formula text (without '=') of every formula cell in ``sheet``."""
        xml = self._sheet_xml(sheet)
        found = {m.group(1).decode(): _unescape(m.group(2).decode("utf-8", "replace"))
                 for m in _F_TEXT.finditer(xml)}
        for m in _CELL_F.finditer(xml):  # shared formulas and odd layouts: text unknown
            found.setdefault(m.group(1).decode(), "")
        return found


def _unescape(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))
