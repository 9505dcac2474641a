"""Reading roster files and checking rows, without a database."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import openpyxl
import pytest

from proctor.kernel.errors import InvalidInput, TooLarge
from proctor.rosters.checks import UnitRef, check_name, check_rows
from proctor.rosters.parsing import RawRow, read_roster, split_position_rank
from proctor.rosters.workbooks import template_xlsx
from tests.proctor.rosters.helpers import csv_bytes, id_number, person, xlsx

TODAY = dt.date(2024, 6, 1)
UNITS = [
    UnitRef(1, "芙蓉区财政局", "430102001", "/1/2/4/7/"),
    UnitRef(2, "芙蓉区教育局", "430102002", "/1/2/4/8/"),
    UnitRef(3, "财政局", "430103009", "/1/2/5/9/"),
    UnitRef(4, "财政局", "430202009", "/1/3/6/10/"),
]


def _read(content: bytes, filename: str = "r.xlsx", max_rows: int = 100) -> list[RawRow]:
    return read_roster(content, filename, max_rows=max_rows)


def _refusal(content: bytes, filename: str = "r.xlsx", **kw: int) -> str:
    with pytest.raises((InvalidInput, TooLarge)) as info:
        _read(content, filename, **kw)
    assert info.value.field == "file"
    return info.value.message


def test_xlsx_and_csv_read_the_same_rows() -> None:
    rows = [person("张三", 1), person("李四", 2, post="副处")]
    from_xlsx = _read(xlsx(rows))
    for encoding in ("utf-8", "utf-8-sig", "gbk"):
        assert _read(csv_bytes(rows, encoding), "r.csv") == from_xlsx
    assert [(r.row_no, r.name, r.position, r.rank) for r in from_xlsx] == [
        (2, "张三", "科长", "乡科级正职"),
        (3, "李四", "", "副处"),
    ]


ID = id_number(1)


@pytest.mark.parametrize(
    ("header", "row"),
    [
        (
            ("姓名", "身份证号", "单位", "职务", "职级", "手机号"),
            ("王五", ID, "芙蓉区财政局", "办公室主任", "乡科级副职", "13912340001"),
        ),
        (
            (" 姓 名 ", "身份证号码", "工作单位", "职务", "职级", "手机号码"),
            ("王五", ID, "芙蓉区财政局", " 办公室主任 ", " 副科", "139 1234 0001"),
        ),
        (
            ("序号", "姓名*", "公民身份号码", "单位名称", "职务（职级）", "手机（必填）", "备注"),
            ("1", "王五", ID, "芙蓉区财政局", "办公室主任（副科）", "13912340001", "无"),
        ),
        (
            ("姓名", "身份证号", "单位", "职务职级", "手机号"),
            ("王五", ID, "芙蓉区财政局", "办公室主任 乡科级副职", "13912340001"),
        ),
    ],
)
def test_header_variations(header: tuple[str, ...], row: tuple[str, ...]) -> None:
    [parsed] = _read(xlsx([row], header=header))
    [checked] = check_rows([parsed], UNITS, today=TODAY)
    assert checked.errors == []
    assert (checked.name, checked.position, checked.rank, checked.phone) == (
        "王五",
        "办公室主任",
        "乡科级副职",
        "13912340001",
    )


def test_title_line_above_the_header_is_skipped() -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["芙蓉区财政局干部花名册"])
    sheet.append([])
    sheet.append(["姓名", "身份证号", "单位", "职务/职级", "手机号"])
    sheet.append(person("张三", 1))
    out = io.BytesIO()
    book.save(out)
    [row] = _read(out.getvalue())
    assert (row.row_no, row.name) == (4, "张三")


def test_gbk_csv_with_a_rare_character_in_a_name() -> None:
    """Names such as 刘䶮 lie outside GBK proper; Windows writes them in GB18030."""
    [row] = _read(csv_bytes([person("刘䶮", 1)], "gb18030"), "r.csv")
    [checked] = check_rows([row], UNITS, today=TODAY)
    assert (checked.name, checked.errors) == ("刘䶮", [])


@pytest.mark.parametrize(
    ("cell", "position", "rank"),
    [
        ("科长/乡科级正职", "科长", "乡科级正职"),
        ("办公室主任（副科）", "办公室主任", "副科"),
        ("党组书记、局长 县处级正职", "党组书记/局长", "县处级正职"),
        ("正处", "", "正处"),
        ("财政局局长县处级正职", "财政局局长", "县处级正职"),
        ("科员", "", "科员"),
        ("办公室主任", "", "办公室主任"),  # no rank: reported as unrecognised
        ("", "", ""),
    ],
)
def test_split_position_and_rank(cell: str, position: str, rank: str) -> None:
    assert split_position_rank(cell) == (position, rank)


def test_missing_columns_are_named() -> None:
    message = _refusal(xlsx([["张三", "芙蓉区财政局"]], header=("姓名", "单位")))
    assert "缺少必需的列：身份证号、职务/职级、手机号" in message


def test_same_column_twice_is_refused() -> None:
    header = ("姓名", "身份证号", "身份证号码", "单位", "职务/职级", "手机号")
    assert "两列都是“身份证号”" in _refusal(xlsx([], header=header))


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def _damaged_sheet() -> bytes:
    with zipfile.ZipFile(io.BytesIO(xlsx([person("张三", 1)]))) as src:
        entries = {i.filename: src.read(i.filename) for i in src.infolist()}
    sheet = entries["xl/worksheets/sheet1.xml"]
    entries["xl/worksheets/sheet1.xml"] = sheet[: len(sheet) // 2]
    return _zip(entries)


@pytest.mark.parametrize(
    ("content", "filename", "reason"),
    [
        (_zip({"word/document.xml": b"<w/>"}), "r.xlsx", "不是有效的 Excel"),  # a Word file
        (xlsx([person("张三", 1)])[:1500], "r.xlsx", "不是有效的 Excel"),  # cut short
        (_damaged_sheet(), "r.xlsx", "不是有效的 Excel"),
        (b"", "r.csv", "空文件"),
        (b"  \r\n", "r.csv", "空文件"),
        (csv_bytes([]), "r.csv", "只有表头"),
        (xlsx([]), "r.xlsx", "只有表头"),
        (xlsx([["", None, "  "]]), "r.xlsx", "只有表头"),
        ("姓名,身份证号\n".encode("utf-16"), "r.csv", "UTF-16"),
        ("姓名,身份证号\n".encode("utf-16-le"), "r.csv", "无法识别文件"),
        (bytes(range(128, 256)) * 4, "r.csv", "无法识别文件"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "photo.png", "无法识别文件"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200), "old.xls", "旧版 Excel"),
        (b"PK\x03\x04 not really a zip", "r.xlsx", "不是有效的 Excel"),
        (b"just some text", "r.xlsx", "不是有效的 Excel"),
    ],
)
def test_bad_files_are_refused_with_a_reason(content: bytes, filename: str, reason: str) -> None:
    assert reason in _refusal(content, filename)


def _with_macros(content: bytes) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(content)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        dst.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 macro")
    return out.getvalue()


def test_macros_are_refused() -> None:
    good = xlsx([person("张三", 1)])
    assert "含宏" in _refusal(_with_macros(good), "r.xlsx")
    assert "含宏" in _refusal(good, "r.xlsm")


def test_too_many_rows() -> None:
    rows = [person(f"张{chr(0x4E00 + i)}", i) for i in range(4)]
    assert len(_read(xlsx(rows), max_rows=4)) == 4
    assert "超过 3 行" in _refusal(xlsx(rows), max_rows=3)


def test_identity_numbers_in_number_cells_get_a_helpful_reason() -> None:
    rows = [
        ["张三", int(id_number(1)), "芙蓉区财政局", "科员", 13912340001],  # Excel: 4.30103E+17
        ["李四", "4.30103E+17", "芙蓉区财政局", "科员", "13912340002"],  # as a CSV shows it
        ["王五", "=A2", "芙蓉区财政局", "科员", "13912340003"],
    ]
    checked = check_rows(_read(xlsx(rows)), UNITS, today=TODAY)
    assert "科学计数法" in checked[0].errors[0]
    assert checked[0].phone == "13912340001"  # a phone survives a number cell
    assert "科学计数法" in checked[1].errors[0]
    assert "公式" in checked[2].errors[0]
    assert all(len(c.errors) == 1 for c in checked)


def test_units_by_name_or_code_within_scope() -> None:
    rows = [
        person("张三", 1, unit="芙蓉区教育局"),
        person("李四", 2, unit=" 430102001 "),
        person("王五", 3, unit="财政局"),
        person("赵六", 4, unit="430202009"),
        person("钱七", 5, unit="天心区财政局"),
        person("孙八", 6, unit=""),
    ]
    checked = check_rows(_read(xlsx(rows)), UNITS, today=TODAY)
    assert [c.unit.id if c.unit else None for c in checked] == [2, 1, None, 4, None, None]
    assert "请改填单位代码（430103009、430202009）" in checked[2].errors[0]
    assert "不存在或不在您的管理范围内" in checked[4].errors[0]
    assert checked[5].errors == ["单位不能为空"]


def test_duplicates_within_the_file_name_both_rows() -> None:
    rows = [person("张三", 1), person("李四", 2), person("张三", 1)]
    checked = check_rows(_read(xlsx(rows)), UNITS, today=TODAY)
    assert checked[0].errors == ["身份证号与第 4 行重复（同一文件中每人只能出现一次）"]
    assert checked[2].errors == ["身份证号与第 2 行重复（同一文件中每人只能出现一次）"]
    assert checked[1].ok


def test_every_problem_of_a_row_is_listed() -> None:
    row = ["", "430103198502300015", "芙蓉区财政局", "办公室主任", "1234"]
    [checked] = check_rows(_read(xlsx([row])), UNITS, today=TODAY)
    assert checked.errors == [
        "姓名不能为空",
        "身份证号中的出生日期无效",
        "手机号格式不正确（应为 11 位中国大陆手机号）",
        checked.errors[3],
    ]
    assert "无法识别的职级“办公室主任”" in checked.errors[3]


@pytest.mark.parametrize(
    ("raw", "name", "problem"),
    [
        ("张三", "张三", None),
        ("张  三", "张三", None),  # padded to line up with three-character names
        ("买买提·艾力", "买买提·艾力", None),
        ("", "", "不能为空"),
        ("张", "张", "过短"),
        ("张三1", "张三1", "数字或符号"),
        ("=HYPERLINK(1)", "=HYPERLINK(1)", "数字或符号"),
        ("张" * 31, "张" * 31, "过长"),
    ],
)
def test_names(raw: str, name: str, problem: str | None) -> None:
    stored, reason = check_name(raw)
    assert stored == name
    assert (reason is None) if problem is None else (reason is not None and problem in reason)


def test_the_template_round_trips() -> None:
    """The downloadable template reads as header-only, and once filled in, as its rows."""
    template = template_xlsx()
    assert "只有表头" in _refusal(template)
    book = openpyxl.load_workbook(io.BytesIO(template))
    book["花名册"].append(person("张三", 1))
    out = io.BytesIO()
    book.save(out)
    [row] = _read(out.getvalue())
    assert (row.row_no, row.name, row.id_number, row.rank) == (
        2,
        "张三",
        id_number(1),
        "乡科级正职",
    )
