"""Pure checks of roster rows: every value, the unit's place in the uploader's subtree, and
duplicates within the file. Each problem is a Chinese reason on the row."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from proctor.kernel.identity import IdNumber, parse_id_number, validate_phone
from proctor.learners.names import check_name
from proctor.learners.ranks import normalise_rank
from proctor.rosters.parsing import NUMBER_CELL_HINT, RawRow

# The position column of learner and roster_row is 60 characters.
POSITION_MAX = 60


@dataclass(frozen=True)
class UnitRef:
    """A unit the uploader administers: rows may name it or its code."""

    id: int
    name: str
    code: str
    path: str


@dataclass
class CheckedRow:
    """A roster row after the checks: normalised values and the reasons it is refused."""

    raw: RawRow
    name: str
    id_number: IdNumber | None
    phone: str | None
    unit: UnitRef | None
    rank: str | None
    position: str
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No reason to refuse the row."""
        return not self.errors


class UnitIndex:
    """Units in scope by code and by name; names may repeat across counties."""

    def __init__(self, units: Iterable[UnitRef]) -> None:
        self._by_code: dict[str, UnitRef] = {}
        self._by_name: dict[str, list[UnitRef]] = defaultdict(list)
        for unit in units:
            self._by_code[_key(unit.code)] = unit
            self._by_name[_key(unit.name)].append(unit)

    def find(self, text: str) -> UnitRef | str:
        """The unit a cell names, or the reason it names none."""
        key = _key(text)
        if not key:
            return "单位不能为空"
        if key in self._by_code:
            return self._by_code[key]
        matches = self._by_name.get(key, [])
        if len(matches) == 1:
            return matches[0]
        if matches:
            codes = "、".join(u.code for u in matches)
            return f"单位名称“{text}”对应多个单位，请改填单位代码（{codes}）"
        return f"单位“{text}”不存在或不在您的管理范围内（可填写单位全称或单位代码）"


def _key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def check_row(raw: RawRow, units: UnitIndex, *, today: dt.date) -> CheckedRow:
    """Check one row's values against the rules of Art. 10."""
    errors = list(raw.notes)
    name, name_error = check_name(raw.name)
    if name_error:
        errors.append(name_error)

    id_number: IdNumber | None = None
    if raw.id_number:
        parsed = parse_id_number(raw.id_number, today=today)
        if isinstance(parsed, IdNumber):
            id_number = parsed
        else:
            errors.append(NUMBER_CELL_HINT if raw.id_from_number else parsed)
    elif not any("身份证号" in n for n in raw.notes):
        errors.append("身份证号不能为空")

    phone: str | None = None
    if not raw.phone:
        errors.append("手机号不能为空")
    else:
        phone = validate_phone(raw.phone)
        if phone is None:
            errors.append("手机号格式不正确（应为 11 位中国大陆手机号）")

    found = units.find(raw.unit)
    unit = found if isinstance(found, UnitRef) else None
    if isinstance(found, str):
        errors.append(found)

    rank = normalise_rank(raw.rank) if raw.rank else None
    if not raw.rank:
        errors.append("职级不能为空（如：县处级副职、乡科级正职、科员，或副处、正科等简称）")
    elif rank is None:
        errors.append(
            f"无法识别的职级“{raw.rank}”（应为：省部级、厅局级、县处级、乡科级的正职或副职，科员，办事员；也可写正处、副科等简称）"
        )
    if len(raw.position) > POSITION_MAX:
        errors.append(f"职务过长（最多 {POSITION_MAX} 个字），请简写")

    return CheckedRow(
        raw=raw,
        name=name,
        id_number=id_number,
        phone=phone,
        unit=unit,
        rank=rank,
        position=raw.position,
        errors=errors,
    )


def check_rows(
    rows: Iterable[RawRow], units: Iterable[UnitRef], *, today: dt.date
) -> list[CheckedRow]:
    """Check every row, then flag identity numbers that occur more than once in the file."""
    index = UnitIndex(units)
    checked = [check_row(r, index, today=today) for r in rows]
    by_number: dict[str, list[CheckedRow]] = defaultdict(list)
    for row in checked:
        if row.id_number is not None:
            by_number[row.id_number.value].append(row)
    for same in by_number.values():
        if len(same) > 1:
            for row in same:
                others = "、".join(str(o.raw.row_no) for o in same if o is not row)
                row.errors.append(f"身份证号与第 {others} 行重复（同一文件中每人只能出现一次）")
    return checked


def flag_existing(rows: Iterable[CheckedRow], reasons: Mapping[str, str]) -> None:
    """Add the reason found elsewhere (already a learner, in a pending batch) per id number."""
    for row in rows:
        if row.id_number is not None and row.id_number.value in reasons:
            row.errors.append(reasons[row.id_number.value])
