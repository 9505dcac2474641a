"""The demo's question bank: the measures the academy runs on, asked as exam questions."""

from __future__ import annotations

from models import ItemKind
from proctor.exams.bank import ItemInput

TF = [{"id": "T", "text": "正确"}, {"id": "F", "text": "错误"}]


def _choice(kind: ItemKind, stem: str, options: list[str], key: str) -> ItemInput:
    return ItemInput(
        kind,
        stem,
        [{"id": chr(ord("A") + i), "text": text} for i, text in enumerate(options)],
        key,
    )


def _single(stem: str, options: list[str], key: str) -> ItemInput:
    return _choice(ItemKind.SINGLE, stem, options, key)


def _multiple(stem: str, options: list[str], key: str) -> ItemInput:
    return _choice(ItemKind.MULTIPLE, stem, options, key)


def _tf(stem: str, key: str) -> ItemInput:
    return ItemInput(ItemKind.TRUE_FALSE, stem, TF, key)


MEASURES_BANK: list[ItemInput] = [
    _single(
        "试点阶段，学员每年应完成的网上学习学分为（  ）。",
        ["24 学分", "32 学分", "40 学分", "50 学分"],
        "C",
    ),
    _single(
        "试点阶段，每年必修课学分不少于（  ）。", ["12 学分", "20 学分", "24 学分", "30 学分"], "C"
    ),
    _single(
        "网络学院以多少分钟的课程讲授时间为 1 学时？",
        ["30 分钟", "40 分钟", "45 分钟", "60 分钟"],
        "C",
    ),
    _single("必修课每学时计（  ）。", ["0.5 学分", "1 学分", "1.5 学分", "2 学分"], "B"),
    _single("选修课每学时计（  ）。", ["0.25 学分", "0.5 学分", "1 学分", "2 学分"], "B"),
    _single(
        "课程时长不足 1 学时的部分，学时如何计算？",
        ["一律舍去", "四舍五入", "一律进一", "按实际分钟折算"],
        "B",
    ),
    _single(
        "各单位人事（组织）部门应确定几名联络员负责网上学习的组织协调？",
        ["1 名", "2 名", "3 名", "不作要求"],
        "A",
    ),
    _single(
        "学员请人代学的，除批评教育外，当年年度考核不得评为（  ）。",
        ["合格", "称职", "优秀", "基本称职"],
        "C",
    ),
    _single("网上学习实行（  ）管理。", ["学时", "学分", "考勤", "积分"], "B"),
    _single("干部网络学院学习平台分为几级？", ["一级", "二级", "三级", "四级"], "C"),
    _single(
        "学员的用户名和初始密码由（  ）统一发放。",
        ["所在单位", "网络学院", "市州委组织部", "学员自行注册"],
        "B",
    ),
    _single(
        "参加网上考试合格的学员，可以获得（  ）。", ["奖励学分", "结业证书", "奖金", "公休假"], "A"
    ),
    _single("学员登录学习平台实行（  ）。", ["实名制", "匿名制", "昵称制", "单位共用账号"], "A"),
    _single(
        "网络学院课程分为（  ）。",
        ["必修课和选修课", "讲座课和考试课", "理论课和实践课", "线上课和线下课"],
        "A",
    ),
    _single(
        "弄虚作假骗取学分的，按照（  ）严肃处理。",
        ["干部教育培训工作有关规定", "劳动合同法", "治安管理处罚法", "单位考勤制度"],
        "A",
    ),
    _single(
        "地方特色课程可以由（  ）组织开发。",
        ["市州委组织部", "学员个人", "培训机构", "任意网站"],
        "A",
    ),
    _single(
        "本办法由（  ）负责解释。",
        ["省委组织部", "网络学院", "各市州委组织部", "学员所在单位"],
        "A",
    ),
    _single(
        "学员的学习情况和考试成绩记入（  ）。",
        ["电子学习档案", "个人日志", "单位考勤表", "工资档案"],
        "A",
    ),
    _multiple(
        "下列属于网络学院课程主要类别的有（  ）。",
        ["基本理论", "政策法规", "娱乐休闲", "党的建设"],
        "ABD",
    ),
    _multiple("网络学院平台实现的功能包括（  ）。", ["教学", "管理", "考试", "招聘"], "ABC"),
    _multiple(
        "下列行为中，被明令禁止的有（  ）。",
        ["请人代学", "弄虚作假骗取学分", "自主选学选修课", "参加网上专题培训班"],
        "AB",
    ),
    _multiple(
        "学员年度学分由哪些部分组成？",
        ["必修课学分", "选修课学分", "签到积分", "考试奖励学分"],
        "ABD",
    ),
    _multiple(
        "学员学习时，下列哪些情况不计入有效学时？",
        ["倍速播放", "后台挂机播放", "正常速度观看", "同时打开多门课程"],
        "ABD",
    ),
    _tf("每名学员只能使用一个本人实名的学习账号。", "T"),
    _tf("学员可以委托同事代为登录学习。", "F"),
    _tf("选修课由学员根据工作需要和个人兴趣自主选学。", "T"),
    _tf("学员和所在单位人事部门可以随时查询电子学习档案。", "T"),
    _tf("市州委组织部可以开发本地区的地方课程。", "T"),
    _tf("学员请人代学被查实后，当年年度考核仍可评为优秀。", "F"),
    _tf("各单位可以从课程库中选课，组织网上专题培训班。", "T"),
]
