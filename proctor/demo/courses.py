"""Demo catalog: realistic course titles by category, with lecture times and lessons."""

from __future__ import annotations

from decimal import Decimal

# (category code, title, kind, lesson lengths in seconds, designated credits)
COURSES: list[tuple[str, str, str, list[int], Decimal | None]] = [
    ("theory", "习近平新时代中国特色社会主义思想概论", "required", [2700, 2700], None),
    ("theory", "马克思主义基本原理与当代实践", "required", [1800, 1800, 900], None),
    ("theory", "中国特色社会主义理论体系专题", "elective", [1500, 1500], None),
    ("theory", "辩证唯物主义与工作方法", "elective", [1200, 1500], None),
    ("policy_law", "《中华人民共和国行政诉讼法》解读", "required", [1800, 1500], None),
    ("policy_law", "《中华人民共和国民法典》与政府工作", "required", [2700, 1800], None),
    ("policy_law", "优化营商环境条例要点", "elective", [1500], None),
    ("policy_law", "保守国家秘密法实务", "elective", [1200], None),
    ("economy", "新发展理念与高质量发展", "required", [2700], None),
    ("economy", "数字经济与产业数字化转型", "elective", [1800, 1200], None),
    ("economy", "乡村振兴战略实施路径", "required", [1800, 1800], None),
    ("economy", "地方政府债务管理", "elective", [1500, 900], None),
    ("politics", "全过程人民民主的理论与实践", "required", [1800, 900], None),
    ("politics", "基层治理现代化", "elective", [1500, 1200], None),
    ("culture", "中华优秀传统文化与领导干部修养", "elective", [1800, 1500], None),
    ("culture", "湖湘文化精神", "elective", [1500, 1200], None),
    ("society", "应急管理与突发事件应对", "required", [1800, 1800], None),
    ("society", "社会保障体系建设", "elective", [1500], None),
    ("society", "安全生产责任制落实", "required", [1200, 1500], None),
    ("party", "党章学习与党员义务", "required", [1800, 1800], None),
    ("party", "全面从严治党与作风建设", "required", [2700, 1800], None),
    ("party", "党史专题：湖南革命历程", "required", [2700, 2700], Decimal("5")),
    ("party", "廉洁从政警示教育", "required", [1800], None),
    ("province", "湖南省情概览", "required", [1800, 1500], None),
    ("province", "三高四新战略解读", "required", [2700], None),
    ("province", "长株潭一体化发展", "elective", [1500, 1200], None),
    ("growth", "领导干部时间管理与执行力", "elective", [1200, 1200], None),
    ("growth", "公文写作规范与技巧", "elective", [1500, 1500], None),
    ("growth", "数字政府建设与政务服务改革", "elective", [1800, 1500], None),
    ("growth", "领导干部心理调适", "elective", [1200], None),
    ("topics", "人工智能与公共管理", "elective", [1800, 1200], None),
    ("topics", "碳达峰碳中和专题", "elective", [1500, 1500], None),
    ("topics", "网络安全与数据安全", "required", [1800, 900], None),
    ("topics", "统计法治与防范统计造假", "elective", [900, 900], Decimal("1")),
    ("topics", "信访工作条例解读", "elective", [1200, 600], None),
]

# Local courses developed by 长沙市 (Art. 7): visible only in its subtree.
CHANGSHA_COURSES: list[tuple[str, str, str, list[int], Decimal | None]] = [
    ("province", "长沙市城市更新实践", "elective", [1800, 1200], None),
    ("economy", "长沙先进制造业发展", "elective", [1500, 1500], None),
    ("society", "长沙市“一网通办”服务规范", "required", [1200, 900], None),
]
