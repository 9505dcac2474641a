"""The study certificate (学时证明): a learner's year on one printable PDF page or more.

Credits by kind against the quota, the courses and exam bonuses that count, and a
verification code an HR officer checks on the academy's public page (verification.py). The
numbers are the archive's, which come from the ledger only; revoked lines are left out,
since they no longer count. The font is embedded as a subset, so the PDF reads the same
on any computer (and its text can be extracted, e.g. by pdftotext).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

from proctor.archive.service import KIND_NAMES, Archive
from proctor.kernel.errors import Unavailable

ACADEMY = "湖南省干部教育培训网络学院"
FONT_DIRS = (Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/noto-cjk"))
REGULAR = "NotoSansCJK-Regular.ttc"


@dataclass(frozen=True)
class Issue:
    """How this copy was issued: its code, the page that checks it, the day."""

    code: str
    verify_url: str
    issued: dt.date
    id_masked: str


@functools.cache
def _face_index(path: str) -> int:
    """The Simplified Chinese face of a collection (0 for a single font)."""
    if not path.lower().endswith((".ttc", ".otc")):
        return 0
    from fontTools.ttLib import TTCollection

    with TTCollection(path, lazy=True) as fonts:
        for i, font in enumerate(fonts.fonts):
            name = str(font["name"].getDebugName(4) or "")
            if name.endswith(" SC") and "Mono" not in name:
                return i
    return 0


def _font(configured: str) -> str:
    """The font file. One face only: loading a CJK font is most of a certificate's CPU time,
    so headings differ by size and colour rather than by a second (bold) font."""
    if configured:
        if not Path(configured).is_file():
            raise Unavailable(f"学时证明字体文件不存在：{configured}")
        return configured
    for folder in FONT_DIRS:
        if (folder / REGULAR).is_file():
            return str(folder / REGULAR)
    raise Unavailable("服务器未安装中文字体（fonts-noto-cjk），暂时无法生成学时证明")


def _quota_line(a: Archive) -> str:
    st = a.status
    if st.quota is None:
        return f"{a.group_label}：本年度无学分要求。"
    state = "已完成年度学分要求" if st.met else "未完成年度学分要求"
    line = (
        f"参学对象：{a.group}。年度要求 {st.quota.total} 学分，其中必修课程不少于 "
        f"{st.quota.required} 学分。完成情况：{state}"
    )
    if not st.met:
        line += f"（总学分还差 {st.remaining_total:.2f}，必修还差 {st.remaining_required:.2f}）"
    return line + "。"


class _Certificate(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("cjk", size=8)
        self.set_text_color(110)
        self.cell(0, 5, f"{ACADEMY} · 学时证明 · 第 {self.page_no()} 页", align="C")


def render(a: Archive, issue: Issue, font: str = "") -> bytes:
    """The certificate as PDF bytes (CPU-bound: callers run it off the event loop)."""
    path = _font(font)
    pdf = _Certificate(format="A4")
    pdf.set_title(f"学时证明 {a.year} {a.name}")
    pdf.set_author(ACADEMY)
    pdf.add_font("cjk", fname=path, collection_font_number=_face_index(path))
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    heading = FontFace(color=(120, 20, 20), fill_color=(245, 240, 232))

    pdf.set_font("cjk", size=10)
    pdf.cell(0, 6, ACADEMY, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", "", 22)
    pdf.cell(0, 14, "学 时 证 明", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=11)
    pdf.cell(0, 7, f"{a.year} 年度", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.multi_cell(
        0,
        7,
        f"兹证明 {a.name}（身份证号 {issue.id_masked}），{a.unit}，{a.rank}，"
        f"{a.year} 年度在{ACADEMY}参加网络学习，学分记录如下（以学院学分台账为准）：",
        align="L",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(2)

    st = a.status
    pdf.set_font("cjk", size=10.5)
    with pdf.table(
        col_widths=(1, 1, 1, 1), text_align="CENTER", headings_style=heading, line_height=7
    ) as t:
        t.row(["必修课程学分", "选修课程学分", "考试奖励学分", "合计"])
        t.row([str(st.required), str(st.elective), str(st.bonus), str(st.total)])
    pdf.ln(2)
    pdf.multi_cell(0, 6.5, _quota_line(a), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)

    courses = [c for c in a.completions if not c.revoked]
    pdf.set_font("cjk", "", 12)
    pdf.cell(0, 8, f"完成的课程（{len(courses)} 门）", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=9.5)
    with pdf.table(
        col_widths=(22, 90, 16, 18), headings_style=heading, line_height=6, text_align="LEFT"
    ) as t:
        t.row(["完成日期", "课程", "性质", "学分"])
        for c in courses:
            t.row([c.date.isoformat(), c.title, KIND_NAMES.get(c.kind, c.kind), str(c.credits)])
        if not courses:
            t.row(["—", "本年度暂无完成的课程", "", ""])
    pdf.ln(3)

    exams = [e for e in a.exams if e.reversed_by is None]
    pdf.set_font("cjk", "", 12)
    pdf.cell(0, 8, f"考试奖励学分（{len(exams)} 项）", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=9.5)
    with pdf.table(
        col_widths=(22, 66, 18, 40), headings_style=heading, line_height=6, text_align="LEFT"
    ) as t:
        t.row(["日期", "课程", "学分", "说明"])
        for e in exams:
            t.row([e.date.isoformat(), e.course, str(e.amount), e.note])
        if not exams:
            t.row(["—", "本年度暂无考试奖励学分", "", ""])
    pdf.ln(5)

    pdf.set_font("cjk", "", 11)
    pdf.cell(0, 7, f"校验码：{issue.code}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=9.5)
    pdf.multi_cell(0, 6, f"核验网址：{issue.verify_url}", align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(
        0,
        6,
        "也可在学院网站页脚的“学时证明核验”页输入校验码。核验页面显示学院对该证明的核验结果"
        "和当前学分记录；如与本证明不一致，以核验页面为准。",
        align="L",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.cell(
        0,
        6,
        f"签发日期：{issue.issued.isoformat()}（系统生成，凭校验码核验真伪）",
        align="L",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    return bytes(pdf.output())
