import io
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import polars as pl
import pytest

from risk_engine.errors import UnreadableFileError
from risk_engine.io.safety import (
    ArchiveLimits,
    check_parquet,
    check_utf8_text,
    check_xlsx_archive,
    sniff_format,
    text_encoding_hint,
)

ROOT = Path(__file__).resolve().parents[2]
BROKEN = ROOT / "fixtures" / "broken"


def _workbook(parts: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("xl/workbook.xml", b"<workbook/>")
        for name, data in (parts or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("head", "extension", "expected"),
    [
        (b"PK\x03\x04rest", ".xlsx", "xlsx"),
        (b"PK\x03\x04rest", ".csv", "xlsx"),
        (b"PAR1....", ".parquet", "parquet"),
        (b"name,country\n", ".csv", "csv"),
        (b"name,country\n", "", "csv"),
    ],
)
def test_sniff_format_follows_content(head: bytes, extension: str, expected: str) -> None:
    assert sniff_format(head, file="f", extension=extension) == expected


@pytest.mark.parametrize(
    ("head", "extension", "message"),
    [
        (b"", ".csv", "empty"),
        (b"name,country\n", ".xlsx", "not an XLSX workbook"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 20, ".xls", "legacy Office"),
        (b"%PDF-1.7\n", ".csv", "PDF"),
        (b"\x1f\x8b\x08\x00", ".csv", "compressed"),
        (b"name,country\n", ".parquet", "no Parquet header"),
        (bytes(range(256)), ".csv", "binary"),
    ],
)
def test_sniff_format_refuses_with_what_the_file_looks_like(
    head: bytes, extension: str, message: str
) -> None:
    with pytest.raises(UnreadableFileError, match=message):
        sniff_format(head, file="f", extension=extension)


def test_utf8_with_and_without_bom_passes() -> None:
    check_utf8_text("name,country\nCafé,FR\n".encode(), file="f")
    check_utf8_text(b"\xef\xbb\xbfname,country\n", file="f")


def test_latin1_is_refused_naming_encoding_line_and_byte() -> None:
    with pytest.raises(UnreadableFileError) as exc:
        check_utf8_text((BROKEN / "latin1.csv").read_bytes(), file="latin1.csv")
    message = str(exc.value)
    assert "not valid UTF-8" in message and "0xE9" in message and "line 2" in message
    assert "Windows-1252" in message


def test_utf16_is_refused_naming_utf16() -> None:
    with pytest.raises(UnreadableFileError, match="UTF-16 little-endian"):
        check_utf8_text((BROKEN / "utf16.csv").read_bytes(), file="utf16.csv")


def test_utf16_without_bom_is_recognised() -> None:
    assert (
        text_encoding_hint("name,country\n".encode("utf-16-le"))
        == "UTF-16 little-endian (no byte-order mark)"
    )
    assert (
        text_encoding_hint("name,country\n".encode("utf-16-be")) == "UTF-16 big-endian (no byte-order mark)"
    )


def test_invalid_utf8_after_the_first_megabyte_reports_its_line() -> None:
    data = b"name,country\n" + b"Acme,CN\n" * 200_000 + b"Caf\xe9,FR\n"
    with pytest.raises(UnreadableFileError, match="line 200002"):
        check_utf8_text(data, file="f")


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"", "empty"), (b"\xef\xbb\xbf", "only a byte-order mark"), (b"a,b\n\x00\x00", "NUL")],
)
def test_empty_and_binary_text_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(UnreadableFileError, match=message):
        check_utf8_text(data, file="f")


def test_control_character_soup_is_refused_as_binary() -> None:
    with pytest.raises(UnreadableFileError, match="control characters"):
        check_utf8_text(bytes([1, 2, 3, 4, 5, 6, 7, 8, 14, 15]) * 50, file="f")


def test_zip_bomb_fixture_is_refused_on_its_ratio() -> None:
    with pytest.raises(UnreadableFileError, match="zip bomb"):
        check_xlsx_archive((BROKEN / "zip_bomb.xlsx").read_bytes(), file="zip_bomb.xlsx")


def test_archive_over_the_size_limit_is_refused() -> None:
    data = _workbook({"xl/worksheets/sheet1.xml": b"<worksheet/>" + b" " * 5000})
    with pytest.raises(UnreadableFileError, match="expands to"):
        check_xlsx_archive(data, file="f", limits=ArchiveLimits(max_total_uncompressed=1000))


def test_archive_with_too_many_entries_is_refused() -> None:
    parts = {f"xl/media/{i}.xml": b"<x/>" for i in range(20)}
    with pytest.raises(UnreadableFileError, match="entries"):
        check_xlsx_archive(_workbook(parts), file="f", limits=ArchiveLimits(max_entries=10))


def test_entity_declarations_are_refused() -> None:
    with pytest.raises(UnreadableFileError, match="DTD or XML entities"):
        check_xlsx_archive((BROKEN / "xml_entity.xlsx").read_bytes(), file="xml_entity.xlsx")


def test_doctype_in_a_utf16_part_is_refused() -> None:
    part = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "b">]><sst/>'.encode("utf-16-le")
    with pytest.raises(UnreadableFileError, match="DTD"):
        check_xlsx_archive(_workbook({"xl/sharedStrings.xml": part}), file="f")


def test_doctype_split_across_scan_chunks_is_found() -> None:
    padding = b" " * (1024 * 1024 - 4)
    with pytest.raises(UnreadableFileError, match="DTD"):
        check_xlsx_archive(_workbook({"xl/styles.xml": padding + b"<!DOCTYPE x><styleSheet/>"}), file="f")


def test_zip_that_is_not_a_workbook_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", b"<doc/>")
    with pytest.raises(UnreadableFileError, match="not an XLSX workbook"):
        check_xlsx_archive(buffer.getvalue(), file="f")


def test_truncated_zip_is_refused() -> None:
    data = _workbook({"xl/worksheets/sheet1.xml": b"<worksheet/>"})
    with pytest.raises(UnreadableFileError):
        check_xlsx_archive(data[: len(data) // 2], file="f")


def test_parquet_footer_is_checked() -> None:
    buffer = io.BytesIO()
    pl.DataFrame({"name": ["a"], "country": ["CN"]}).write_parquet(buffer)
    data = buffer.getvalue()
    assert check_parquet(data, file="f") == 1
    with pytest.raises(UnreadableFileError, match="Parquet"):
        check_parquet(data[:-20] + b"PAR1", file="f")
    with pytest.raises(UnreadableFileError, match="limit"):
        check_parquet(data, file="f", max_uncompressed=1)


@pytest.mark.slow
def test_zip_bomb_is_refused_under_a_memory_limit() -> None:
    # The reader runs in a child capped at 768 MiB of address space; calamine alone needed about
    # 230 MiB of resident memory for this 0.3 MB file, and 1.65 GB for a 1.6 MB one.
    script = textwrap.dedent(
        f"""
        import resource
        limit = 768 * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        from pathlib import Path
        from risk_engine.errors import UnreadableFileError
        from risk_engine.io.readers import read_table
        try:
            read_table(Path({str(BROKEN / "zip_bomb.xlsx")!r}), "suppliers")
        except UnreadableFileError as exc:
            print("refused:", exc)
        # VmHWM, not ru_maxrss, which survives fork+exec and would report pytest's own peak.
        status = open("/proc/self/status").read()
        print("maxrss_kib", int(status.split("VmHWM:")[1].split()[0]))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "refused:" in done.stdout and "zip bomb" in done.stdout
    maxrss_kib = int(done.stdout.split("maxrss_kib")[1])
    assert maxrss_kib < 200 * 1024


def test_archive_that_understates_an_entry_size_is_refused() -> None:
    # A central directory may declare a small size for a part that inflates to much more; the
    # scan reads only the declared bytes, so the CRC cannot match and the archive is refused.
    import struct

    data = bytearray(
        _workbook({"xl/worksheets/sheet1.xml": b"<worksheet>" + b"<row/>" * 200_000 + b"</worksheet>"})
    )
    name = b"xl/worksheets/sheet1.xml"
    header = data.rfind(b"PK\x01\x02", 0, data.rfind(name))
    data[header + 24 : header + 28] = struct.pack("<I", 100)
    with pytest.raises(UnreadableFileError, match="corrupt XLSX archive"):
        check_xlsx_archive(bytes(data), file="lying.xlsx")


def test_archive_needing_an_unknown_zip_version_is_refused_not_crashed() -> None:
    # Found by fuzzing: zipfile raises NotImplementedError for a garbled "version needed" field.
    data = bytearray((BROKEN / "xml_entity.xlsx").read_bytes())
    header = data.find(b"PK\x01\x02")
    data[header + 6] = 0xF0
    with pytest.raises(UnreadableFileError, match="not a readable XLSX"):
        check_xlsx_archive(bytes(data), file="f.xlsx")


def test_corrupt_deflate_stream_is_refused_not_crashed() -> None:
    # Found by fuzzing: a damaged deflate stream raises zlib.error while the parts are scanned.
    data = bytearray(_workbook({"xl/worksheets/sheet1.xml": bytes(range(256)) * 64}))
    start = data.find(b"xl/worksheets/sheet1.xml") + len(b"xl/worksheets/sheet1.xml")
    data[start + 5 : start + 40] = b"\xff" * 35
    with pytest.raises(UnreadableFileError):
        check_xlsx_archive(bytes(data), file="f.xlsx")
