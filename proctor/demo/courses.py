"""Demo catalog: realistic courses in the ten categories (Art. 7), with their lessons.

Lesson lengths come from a few standard values so that one generated video per length
serves every lesson (see ``media``); a course's lecture time is the sum of its lessons.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

STANDARD_LENGTHS: tuple[int, ...] = (600, 900, 1200, 1500, 1800, 2700)


@dataclass(frozen=True)
class CourseSpec:
    """A course as the demo creates it."""

    category: str  # course_category.code
    title: str
    kind: str  # "required" / "elective"
    lessons: tuple[tuple[str, int], ...]  # (title, seconds)
    designated: Decimal | None = None  # designated credits of a special course (Art. 12)

    @property
    def lecture_seconds(self) -> int:
        """Lecture time: the sum of the lessons."""
        return sum(seconds for _, seconds in self.lessons)


def _c(
    category: str, title: str, kind: str, *lessons: tuple[str, int], designated: str | None = None
) -> CourseSpec:
    return CourseSpec(
        category, title, kind, tuple(lessons), Decimal(designated) if designated else None
    )


R, E = "required", "elective"

COURSES: tuple[CourseSpec, ...] = (
    # 基本理论
    _c(
        "theory",
        "习近平新时代中国特色社会主义思想概论",
        R,
        ("核心要义与历史地位", 2700),
        ("“十个明确”与“十四个坚持”", 2700),
        ("世界观和方法论", 1800),
    ),
    _c(
        "theory",
        "马克思主义基本原理与当代中国",
        R,
        ("马克思主义的科学性与人民性", 1800),
        ("唯物史观与群众路线", 1800),
    ),
    _c(
        "theory",
        "中国式现代化的理论与实践",
        R,
        ("中国式现代化的中国特色", 1800),
        ("本质要求与重大原则", 1800),
        ("湖南的实践路径", 1200),
    ),
    _c(
        "theory",
        "辩证思维与领导工作方法",
        E,
        ("战略思维与系统思维", 1500),
        ("底线思维与风险防范", 1500),
    ),
    # 政策法规
    _c(
        "policy_law",
        "《中华人民共和国行政诉讼法》解读",
        R,
        ("立法沿革与受案范围", 1800),
        ("举证责任与审理程序", 1500),
        ("行政机关负责人出庭应诉", 1200),
    ),
    _c(
        "policy_law",
        "《中华人民共和国民法典》与政府工作",
        R,
        ("民法典的时代意义", 1800),
        ("物权编与政府管理", 1800),
        ("合同编与政府采购", 1500),
    ),
    _c(
        "policy_law",
        "《优化营商环境条例》要点解读",
        E,
        ("市场主体保护", 1200),
        ("政务服务与监管执法", 1200),
    ),
    _c(
        "policy_law",
        "《中华人民共和国保守国家秘密法》实务",
        E,
        ("定密与解密", 900),
        ("涉密网络与载体管理", 900),
        ("典型泄密案例剖析", 1200),
    ),
    # 经济建设
    _c(
        "economy",
        "完整准确全面贯彻新发展理念",
        R,
        ("新发展理念的科学内涵", 2700),
        ("推动高质量发展", 1800),
    ),
    _c(
        "economy",
        "数字经济与产业数字化转型",
        E,
        ("数字经济发展趋势", 1800),
        ("制造业数字化转型案例", 1200),
    ),
    _c(
        "economy",
        "全面推进乡村振兴",
        R,
        ("乡村振兴战略总体要求", 1800),
        ("产业振兴与农民增收", 1500),
        ("湖南乡村振兴典型经验", 1200),
    ),
    _c(
        "economy",
        "地方政府债务风险防范",
        E,
        ("地方政府债务现状", 1500),
        ("隐性债务化解", 1500),
    ),
    # 政治建设
    _c(
        "politics",
        "全过程人民民主的理论与实践",
        R,
        ("全过程人民民主的内涵", 1800),
        ("基层民主实践", 1200),
    ),
    _c(
        "politics",
        "基层治理体系和治理能力现代化",
        E,
        ("党建引领基层治理", 1500),
        ("网格化管理与服务", 1200),
        ("新时代“枫桥经验”", 1200),
    ),
    _c(
        "politics",
        "统一战线与民族宗教工作",
        E,
        ("新时代爱国统一战线", 1500),
        ("民族宗教政策与实务", 1500),
    ),
    # 文化建设
    _c(
        "culture",
        "中华优秀传统文化与领导干部修养",
        E,
        ("传统文化中的为政之德", 1800),
        ("传统文化中的治理智慧", 1500),
    ),
    _c(
        "culture",
        "湖湘文化与湖南人精神",
        E,
        ("湖湘学派源流", 1500),
        ("心忧天下 敢为人先", 1500),
    ),
    _c(
        "culture",
        "意识形态工作责任制",
        R,
        ("意识形态工作的领导权", 1800),
        ("网络意识形态安全", 1200),
    ),
    _c(
        "culture",
        "文化和旅游融合发展",
        E,
        ("文旅融合的政策与趋势", 1200),
        ("张家界与湘西的实践", 1200),
    ),
    # 社会建设
    _c(
        "society",
        "应急管理与突发事件应对",
        R,
        ("应急管理体系", 1800),
        ("突发事件舆情应对", 1500),
        ("防汛抗旱实务", 1200),
    ),
    _c(
        "society",
        "健全多层次社会保障体系",
        E,
        ("养老保险全国统筹", 1500),
        ("医疗保障与社会救助", 1200),
    ),
    _c(
        "society",
        "安全生产责任制落实",
        R,
        ("《安全生产法》要点", 1500),
        ("“三管三必须”", 1200),
    ),
    _c(
        "society",
        "新时代信访工作",
        E,
        ("《信访工作条例》解读", 1200),
        ("矛盾纠纷源头化解", 900),
    ),
    # 党的建设
    _c(
        "party",
        "《中国共产党章程》学习",
        R,
        ("党章的历史沿革", 1800),
        ("党员的义务和权利", 1800),
    ),
    _c(
        "party",
        "全面从严治党与作风建设",
        R,
        ("中央八项规定精神", 2700),
        ("纠治形式主义官僚主义", 1800),
    ),
    _c(
        "party",
        "党史专题：湖南革命历程",
        R,
        ("湖南早期党组织", 2700),
        ("秋收起义与井冈山道路", 2700),
        designated="3",
    ),
    _c(
        "party",
        "廉洁从政警示教育",
        R,
        ("典型案例剖析", 1800),
        ("家风建设", 1200),
    ),
    _c(
        "party",
        "《中国共产党纪律处分条例》解读",
        R,
        ("六项纪律", 1800),
        ("纪律处分的运用", 1500),
    ),
    # 省情省策
    _c(
        "province",
        "湖南省情概览",
        R,
        ("自然地理与人口", 1500),
        ("经济社会发展", 1800),
        ("区域协调发展格局", 1200),
    ),
    _c(
        "province",
        "“三高四新”美好蓝图解读",
        R,
        ("国家重要先进制造业高地", 1800),
        ("具有核心竞争力的科技创新高地", 1500),
        ("内陆地区改革开放高地", 1500),
    ),
    _c(
        "province",
        "长株潭都市圈建设",
        E,
        ("一体化发展规划", 1500),
        ("交通与公共服务互联互通", 1200),
    ),
    _c(
        "province",
        "中国（湖南）自由贸易试验区建设",
        E,
        ("制度创新成果", 1200),
        ("中非经贸合作", 1200),
    ),
    # 干部成长
    _c(
        "growth",
        "公文写作规范与技巧",
        E,
        ("《党政机关公文处理工作条例》", 1500),
        ("常用文种写作", 1500),
        ("材料写作的逻辑", 1200),
    ),
    _c(
        "growth",
        "调查研究的方法与艺术",
        E,
        ("调查研究的基本方法", 1200),
        ("调研报告的撰写", 1200),
    ),
    _c(
        "growth",
        "数字政府建设与政务服务改革",
        E,
        ("数字政府顶层设计", 1800),
        ("“一件事一次办”", 1500),
    ),
    _c(
        "growth",
        "干部网络学院学习管理办法解读",
        R,
        ("学分认定与年度要求", 1500),
        ("学习纪律与监督管理", 1200),
    ),
    _c(
        "growth",
        "领导干部心理调适",
        E,
        ("压力识别", 600),
        ("情绪管理", 900),
        ("心理健康维护", 900),
    ),
    # 专题荟萃
    _c(
        "topics",
        "人工智能与公共管理",
        E,
        ("生成式人工智能概述", 1800),
        ("人工智能在政务中的应用与风险", 1200),
    ),
    _c(
        "topics",
        "碳达峰碳中和专题",
        E,
        ("“双碳”目标与实现路径", 1500),
        ("能源结构转型", 1500),
    ),
    _c(
        "topics",
        "网络安全与数据安全",
        R,
        ("《网络安全法》《数据安全法》要点", 1800),
        ("个人信息保护", 900),
    ),
    _c(
        "topics",
        "统计法治与防范统计造假",
        E,
        ("《统计法》要点", 900),
        ("统计造假典型案例", 900),
        designated="1",
    ),
)

# Local courses developed by 长沙市 (Art. 7): visible only in its subtree.
CHANGSHA_COURSES: tuple[CourseSpec, ...] = (
    _c(
        "province",
        "长沙市城市更新实践",
        E,
        ("有机更新的长沙路径", 1800),
        ("老旧小区改造案例", 1200),
    ),
    _c(
        "economy",
        "长沙“强省会”战略与产业链建设",
        E,
        ("“强省会”战略解读", 1500),
        ("产业链链长制", 1500),
    ),
    _c(
        "society",
        "长沙市“一网通办”服务规范",
        R,
        ("政务服务事项标准化", 1200),
        ("窗口服务规范", 900),
    ),
)

# Who teaches what: institutions by category (the lecturer's name is drawn at random).
_INSTITUTIONS = {
    "theory": ("中共湖南省委党校", "湖南师范大学马克思主义学院"),
    "policy_law": ("湖南大学法学院", "中南大学法学院", "湖南省司法厅"),
    "economy": ("湖南省社会科学院", "中南大学商学院", "湖南大学经济与贸易学院"),
    "politics": ("中共湖南省委党校", "湘潭大学公共管理学院"),
    "culture": ("湖南师范大学文学院", "岳麓书院"),
    "society": ("湖南省应急管理厅", "中南大学公共管理学院"),
    "party": ("中共湖南省委党校", "湖南省纪委监委"),
    "province": ("湖南省社会科学院", "湖南省发展和改革委员会"),
    "growth": ("中共湖南省委党校", "湖南师范大学教育科学学院"),
    "topics": ("国防科技大学", "湖南大学信息科学与工程学院", "中南大学"),
}
_TITLES = ("教授", "教授", "副教授", "研究员")


def lecturer(rng: random.Random, category: str, name: str) -> str:
    """A lecturer line such as "谭建华 教授（中共湖南省委党校）"."""
    return f"{name} {rng.choice(_TITLES)}（{rng.choice(_INSTITUTIONS[category])}）"


def description(spec: CourseSpec) -> str:
    """A catalog blurb listing the lessons."""
    parts = "；".join(f"第{i}讲 {t}" for i, (t, _) in enumerate(spec.lessons, start=1))
    minutes = spec.lecture_seconds // 60
    return f"本课程共 {len(spec.lessons)} 讲，总时长 {minutes} 分钟：{parts}。"
