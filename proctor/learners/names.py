"""Real names as the roster and the learner record keep them (Art. 10: real names)."""

from __future__ import annotations

import re

NAME_MAX = 30
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_NAME_RE = re.compile(rf"^[{_CJK}A-Za-z·• .]+$")
_HAS_CJK = re.compile(rf"[{_CJK}]")


def check_name(raw: str) -> tuple[str, str | None]:
    """The name as stored (padding spaces inside Chinese names removed) and a reason, if any."""
    name = raw.strip()
    if _HAS_CJK.search(name):
        # HR sheets pad two-character names ("张  三") to line them up with three-character ones.
        name = "".join(name.split())
    if not name:
        return name, "姓名不能为空"
    if len(name) > NAME_MAX:
        return name[:50], f"姓名过长（最多 {NAME_MAX} 个字）"
    if len(name) < 2:
        return name, "姓名过短，请填写完整姓名"
    if not _NAME_RE.match(name):
        return name, "姓名含有数字或符号，请填写与身份证一致的姓名"
    return name, None
