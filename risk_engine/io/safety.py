"""File sniffing and hostile-input checks, run before any parser sees the bytes.

Parsers are fast but trusting: calamine decompresses whatever a ZIP archive declares, and a 1.6 MB
XLSX zip bomb cost 1.65 GB of memory when handed straight to polars' Excel reader. So every file is
first classified from its leading bytes, XLSX archives are inspected through their central directory
(entry count, declared uncompressed size, compression ratio) and their XML parts scanned for DTDs,
and text is checked to be UTF-8 before a CSV parser runs. Every refusal is an
``UnreadableFileError`` that names the file and the reason.
"""

from __future__ import annotations

import codecs
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from risk_engine.errors import UnreadableFileError

FileFormat = Literal["csv", "xlsx", "parquet"]

MIB = 1024 * 1024


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds an XLSX archive must respect before it is parsed."""

    max_entries: int = 10_000
    max_total_uncompressed: int = 1024 * MIB
    # Real spreadsheets compress their XML 5-30x; bombs reach 1000x. The ratio is only checked once
    # the archive expands beyond ``ratio_floor`` so tiny highly compressible files stay readable.
    max_ratio: float = 200.0
    ratio_floor: int = 16 * MIB


DEFAULT_LIMITS = ArchiveLimits()

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_PARQUET_MAGIC = b"PAR1"
# Patterns a DTD needs, in the encodings an XML part may use. Spreadsheet XML never has a DTD, so
# any DOCTYPE or ENTITY declaration is refused outright (billion laughs, external entities).
_DTD_MARKERS: tuple[bytes, ...] = tuple(
    marker.encode(encoding)
    for marker in ("<!DOCTYPE", "<!ENTITY")
    for encoding in ("ascii", "utf-16-le", "utf-16-be")
)
_SCAN_CHUNK = MIB
_XML_SUFFIXES = (".xml", ".rels", ".vml")


def is_parser_panic(exc: BaseException) -> bool:
    """Whether ``exc`` is a Rust panic surfaced by a pyo3 extension (polars, fastexcel).

    Each pyo3 extension has its own ``PanicException`` class deriving from ``BaseException``, so
    they are recognised by name: a panic on hostile bytes must become a clear refusal, not a crash.
    """
    return type(exc).__name__ == "PanicException"


def describe_bytes(head: bytes) -> str:
    """A short human description of what leading bytes look like (for error messages)."""
    if not head:
        return "an empty file"
    if head.startswith(_ZIP_MAGIC):
        return "a ZIP archive"
    if head.startswith(_OLE_MAGIC):
        return "a legacy Office (OLE2) file such as .xls or a password-protected .xlsx"
    if head.startswith(_PARQUET_MAGIC):
        return "a Parquet file"
    if head.startswith(b"%PDF"):
        return "a PDF document"
    if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"7z\xbc\xaf")):
        return "a compressed archive (gzip/bzip2/xz/7z)"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:4096]:
        encoding = text_encoding_hint(head)
        return f"{encoding} text" if encoding else "binary data"
    if head.lstrip().startswith((b"<?xml", b"<html", b"<!DOCTYPE", b"<HTML")):
        return "an XML/HTML document"
    return "text"


def sniff_format(head: bytes, *, file: str, extension: str = "") -> FileFormat:
    """Classify a file from its leading bytes; refuse anything that is not CSV, XLSX or Parquet."""
    if not head:
        raise UnreadableFileError(file, "the file is empty (0 bytes)")
    if head.startswith(_ZIP_MAGIC):
        return "xlsx"
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    looks = describe_bytes(head)
    if extension in {".xlsx", ".xlsm", ".xls"}:
        msg = f"named {extension} but it is not an XLSX workbook (ZIP archive): it looks like {'plain text (CSV?)' if looks == 'text' else looks}"
        if head.startswith(_OLE_MAGIC):
            msg += "; save it as .xlsx (Excel 2007+) without a password, or as CSV UTF-8"
        raise UnreadableFileError(file, msg)
    if extension == ".parquet":
        raise UnreadableFileError(file, f"named .parquet but it has no Parquet header: it looks like {looks}")
    if looks != "text":
        if looks.endswith(" text"):
            # Let the text decoder name the encoding precisely.
            return "csv"
        raise UnreadableFileError(file, f"not a CSV, XLSX or Parquet file: it looks like {looks}")
    return "csv"


def text_encoding_hint(data: bytes) -> str | None:
    """Guess the encoding of text that is not UTF-8, from byte-order marks and byte patterns."""
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "UTF-32"
    if data.startswith(b"\xff\xfe"):
        return "UTF-16 little-endian (with byte-order mark)"
    if data.startswith(b"\xfe\xff"):
        return "UTF-16 big-endian (with byte-order mark)"
    sample = data[:4096]
    if len(sample) >= 4:
        even_nuls = sample[0::2].count(0)
        odd_nuls = sample[1::2].count(0)
        half = len(sample) // 2
        if odd_nuls > 0.3 * half and even_nuls < 0.05 * half:
            return "UTF-16 little-endian (no byte-order mark)"
        if even_nuls > 0.3 * half and odd_nuls < 0.05 * half:
            return "UTF-16 big-endian (no byte-order mark)"
    if b"\x00" in sample:
        return None
    try:
        sample.decode("cp1252")
    except UnicodeDecodeError:
        return "an 8-bit encoding other than UTF-8 (e.g. Latin-1)"
    return "Windows-1252 / Latin-1"


def _control_ratio(text: str) -> float:
    if not text:
        return 0.0
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n\f")
    return controls / len(text)


Source = bytes | Path
"""A file's content in memory (uploads) or its path (files are streamed, never loaded whole)."""


def open_source(source: Source) -> BinaryIO:
    """A binary stream over a source (``io.BytesIO`` shares the bytes without copying them)."""
    return source.open("rb") if isinstance(source, Path) else io.BytesIO(source)


def source_size(source: Source) -> int:
    """The size of a source in bytes."""
    return source.stat().st_size if isinstance(source, Path) else len(source)


def read_head(source: Source, n: int) -> bytes:
    """The first ``n`` bytes of a source."""
    if isinstance(source, Path):
        with source.open("rb") as stream:
            return stream.read(n)
    return source[:n]


def check_utf8_text(source: Source, *, file: str, decode: bool = True) -> None:
    """Refuse content that is not UTF-8 text, naming the encoding it seems to use and where.

    Streams in slices of about 1 MiB that end at a newline (which never splits a UTF-8 sequence,
    so error offsets are exact); a large file is never held whole, nor twice as ``str``. With
    ``decode=False`` only the head, byte-order marks and NUL bytes are checked: the CSV parser
    validates UTF-8 itself, and this check is re-run in full to explain a failure.
    """
    head = read_head(source, 4096)
    if not head:
        raise UnreadableFileError(file, "the file is empty (0 bytes)")
    start = 3 if head.startswith(codecs.BOM_UTF8) else 0
    if len(head) == start:
        raise UnreadableFileError(file, "the file holds only a byte-order mark, no data")
    hint = text_encoding_hint(head)
    if hint is not None and hint.startswith(("UTF-16", "UTF-32")):
        raise UnreadableFileError(
            file, f"the text is encoded as {hint}, not UTF-8; re-save it as 'CSV UTF-8' and try again"
        )
    offset = 0
    lines_before = 0
    with open_source(source) as stream:
        while chunk := stream.read(_SCAN_CHUNK) + stream.readline():
            if b"\x00" in chunk:
                pos = chunk.index(b"\x00")
                line = lines_before + chunk.count(b"\n", 0, pos) + 1
                raise UnreadableFileError(
                    file, f"binary data, not CSV text: NUL byte at line {line} (byte offset {offset + pos})"
                )
            if not decode and offset > 0:
                offset += len(chunk)
                lines_before += chunk.count(b"\n")
                continue
            try:
                text = chunk.decode("utf-8")
            except UnicodeDecodeError as exc:
                pos = exc.start
                line = lines_before + chunk.count(b"\n", 0, pos) + 1
                guess = text_encoding_hint(chunk[pos : pos + 4096]) or "an unknown encoding"
                msg = (
                    f"the text is not valid UTF-8 (byte 0x{chunk[pos]:02X} at line {line}, byte offset "
                    f"{offset + pos}); it looks like {guess}. Re-save it as 'CSV UTF-8' and try again"
                )
                raise UnreadableFileError(file, msg) from None
            if offset == 0 and _control_ratio(text[start : start + 4096]) > 0.05:
                raise UnreadableFileError(file, "binary data, not CSV text: too many control characters")
            offset += len(chunk)
            lines_before += chunk.count(b"\n")


def _scan_part_for_dtd(archive: zipfile.ZipFile, info: zipfile.ZipInfo, *, file: str) -> None:
    overlap = max(len(m) for m in _DTD_MARKERS)
    tail = b""
    produced = 0
    with archive.open(info) as part:
        while True:
            chunk = part.read(_SCAN_CHUNK)
            if not chunk:
                break
            produced += len(chunk)
            if produced > info.file_size:
                raise UnreadableFileError(
                    file, f"archive entry {info.filename!r} expands beyond its declared size; refused"
                )
            window = tail + chunk
            for marker in _DTD_MARKERS:
                if marker in window:
                    raise UnreadableFileError(
                        file,
                        f"archive entry {info.filename!r} declares a DTD or XML entities "
                        "(<!DOCTYPE/<!ENTITY); spreadsheets never need them, refused",
                    )
            tail = window[-overlap:]


def check_xlsx_archive(source: Source, *, file: str, limits: ArchiveLimits = DEFAULT_LIMITS) -> None:
    """Inspect an XLSX archive before parsing: structure, size, ratio, and DTD-free XML parts."""
    try:
        archive = zipfile.ZipFile(source if isinstance(source, Path) else io.BytesIO(source))
    except Exception as exc:  # zipfile raises BadZipFile, NotImplementedError, OSError, struct errors...
        raise UnreadableFileError(file, f"not a readable XLSX (ZIP) archive: {exc}") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_entries:
            raise UnreadableFileError(
                file, f"the archive has {len(infos):,} entries (limit {limits.max_entries:,}); refused"
            )
        names = {info.filename for info in infos}
        if "xl/workbook.xml" not in names and "xl/workbook.bin" not in names:
            raise UnreadableFileError(
                file, "a ZIP archive but not an XLSX workbook (no xl/workbook.xml); save it as .xlsx or CSV"
            )
        if "xl/workbook.bin" in names:
            raise UnreadableFileError(file, "binary Excel workbooks (.xlsb) are not supported; save as .xlsx")
        total = sum(info.file_size for info in infos)
        compressed = sum(info.compress_size for info in infos)
        if total > limits.max_total_uncompressed:
            raise UnreadableFileError(
                file,
                f"the archive expands to {total / MIB:,.0f} MiB "
                f"(limit {limits.max_total_uncompressed / MIB:,.0f} MiB); refused as a possible zip bomb",
            )
        ratio = total / max(compressed, 1)
        if total > limits.ratio_floor and ratio > limits.max_ratio:
            raise UnreadableFileError(
                file,
                f"the archive expands {ratio:,.0f}x ({compressed / MIB:,.1f} MiB to {total / MIB:,.0f} MiB; "
                f"limit {limits.max_ratio:,.0f}x); refused as a possible zip bomb",
            )
        for info in infos:
            if info.flag_bits & 0x1:
                raise UnreadableFileError(file, f"archive entry {info.filename!r} is encrypted; refused")
        try:
            for info in infos:
                if info.filename.lower().endswith(_XML_SUFFIXES):
                    _scan_part_for_dtd(archive, info, file=file)
        except UnreadableFileError:
            raise
        except Exception as exc:  # corrupt deflate streams raise zlib.error, bad CRCs BadZipFile, ...
            raise UnreadableFileError(file, f"corrupt XLSX archive: {exc}") from None


def check_parquet(
    source: Source, *, file: str, max_uncompressed: int = DEFAULT_LIMITS.max_total_uncompressed
) -> int:
    """Check a Parquet file's footer and declared size before reading; returns its row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    size = source_size(source)
    with open_source(source) as stream:
        stream.seek(max(size - 4, 0))
        tail = stream.read(4)
    if size < 12 or tail != _PARQUET_MAGIC:
        raise UnreadableFileError(file, "a truncated or corrupt Parquet file (no footer)")
    try:
        reader = pq.ParquetFile(str(source) if isinstance(source, Path) else pa.BufferReader(source))
        meta = reader.metadata
        total = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        rows = int(meta.num_rows)
    except BaseException as exc:  # pyarrow raises many unrelated types on corrupt footers
        if not isinstance(exc, Exception) and not is_parser_panic(exc):
            raise
        raise UnreadableFileError(file, f"a corrupt Parquet file: {exc}") from None
    if total > max_uncompressed:
        raise UnreadableFileError(
            file,
            f"the Parquet data expands to {total / MIB:,.0f} MiB (limit {max_uncompressed / MIB:,.0f} MiB); refused",
        )
    return rows
