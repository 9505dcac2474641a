"""Plausible Chinese names for demo people.

Surnames are weighted by their approximate frequency in Hunan (刘, 李, 陈 lead; 谭, 彭, 曾,
邓, 易, 廖 are far commoner there than nationally). Given names follow the fashions of the
person's birth decade, so a 1968-born cadre is 建国 or 秀英 and a 1996-born one 浩然 or 欣怡.
"""

from __future__ import annotations

import random

# (surname, weight in per mille of the population, roughly)
_SURNAMES: tuple[tuple[str, int], ...] = (
    ("刘", 78),
    ("李", 70),
    ("陈", 62),
    ("王", 55),
    ("张", 50),
    ("黄", 40),
    ("周", 36),
    ("彭", 33),
    ("罗", 32),
    ("谭", 31),
    ("杨", 30),
    ("邓", 28),
    ("唐", 28),
    ("胡", 27),
    ("曾", 26),
    ("肖", 25),
    ("吴", 22),
    ("易", 20),
    ("廖", 20),
    ("龙", 18),
    ("谢", 18),
    ("蒋", 17),
    ("向", 16),
    ("贺", 15),
    ("朱", 15),
    ("赵", 14),
    ("何", 14),
    ("田", 13),
    ("文", 13),
    ("许", 12),
    ("邹", 12),
    ("石", 12),
    ("颜", 11),
    ("宋", 11),
    ("钟", 11),
    ("袁", 10),
    ("曹", 10),
    ("毛", 10),
    ("徐", 10),
    ("孙", 9),
    ("马", 9),
    ("郭", 9),
    ("林", 9),
    ("高", 9),
    ("梁", 8),
    ("汤", 8),
    ("雷", 8),
    ("姚", 8),
    ("苏", 7),
    ("傅", 7),
    ("丁", 7),
    ("夏", 7),
    ("伍", 7),
    ("戴", 7),
    ("熊", 7),
    ("郑", 7),
    ("余", 6),
    ("舒", 6),
    ("聂", 6),
    ("邱", 5),
    ("冯", 5),
    ("卢", 5),
    ("尹", 5),
    ("段", 5),
    ("粟", 4),
    ("覃", 4),
    ("喻", 4),
    ("阳", 4),
    ("宁", 4),
    ("左", 4),
    ("严", 4),
    ("滕", 3),
    ("莫", 3),
    ("匡", 3),
    ("瞿", 3),
    ("欧阳", 3),
)
SURNAMES = tuple(s for s, _ in _SURNAMES)
_SURNAME_WEIGHTS = tuple(w for _, w in _SURNAMES)

# Given names by generation: (single-character share, one-character names, two-character names).
_Pool = tuple[float, tuple[str, ...], tuple[str, ...]]
_MALE: dict[str, _Pool] = {
    "1960s": (
        0.3,
        tuple("伟军勇平刚斌强华兵明"),
        (
            "建国",
            "建军",
            "建华",
            "建平",
            "国庆",
            "国华",
            "国平",
            "卫东",
            "卫国",
            "志强",
            "志刚",
            "志明",
            "明华",
            "新民",
            "立新",
            "德明",
            "光明",
            "海平",
            "正华",
            "长春",
            "运华",
            "利民",
        ),
    ),
    "1980s": (
        0.4,
        tuple("伟磊勇涛斌杰鹏超军强波辉刚健峰亮宇浩明剑凯"),
        (
            "海涛",
            "海峰",
            "志刚",
            "建伟",
            "晓东",
            "小军",
            "俊杰",
            "文斌",
            "国栋",
            "振宇",
            "永强",
            "立军",
            "卫华",
            "晓峰",
            "志勇",
            "红兵",
            "建新",
            "湘平",
            "湘军",
            "德华",
        ),
    ),
    "1990s": (
        0.2,
        tuple("浩宇晨杰帆鑫磊昊阳博凯"),
        (
            "俊杰",
            "浩然",
            "子豪",
            "宇航",
            "文博",
            "家豪",
            "天宇",
            "志豪",
            "嘉伟",
            "思远",
            "一鸣",
            "子健",
            "宇轩",
            "博文",
            "明轩",
            "鹏飞",
            "亦凡",
            "梓豪",
        ),
    ),
}
_FEMALE: dict[str, _Pool] = {
    "1960s": (
        0.3,
        tuple("艳梅英华芳萍琴霞红兰"),
        (
            "秀英",
            "桂英",
            "玉兰",
            "秀兰",
            "红梅",
            "桂兰",
            "凤英",
            "淑珍",
            "丽华",
            "美华",
            "建英",
            "冬梅",
            "春梅",
            "爱华",
            "小红",
            "红霞",
            "湘英",
            "志英",
        ),
    ),
    "1980s": (
        0.4,
        tuple("丽静敏燕艳娟霞芳婷洁玲丹琳萍慧莉颖"),
        (
            "晓燕",
            "丽娟",
            "海燕",
            "雪梅",
            "秀芳",
            "丽萍",
            "小燕",
            "春燕",
            "晓丽",
            "玉洁",
            "美玲",
            "婷婷",
            "丹丹",
            "慧敏",
            "湘君",
            "文静",
            "晓红",
            "利平",
        ),
    ),
    "1990s": (
        0.2,
        tuple("婷佳欣雪琪倩颖璐玥瑶"),
        (
            "欣怡",
            "佳怡",
            "梦琪",
            "思雨",
            "雨萱",
            "诗琪",
            "静怡",
            "佳琪",
            "雨婷",
            "紫涵",
            "心怡",
            "可欣",
            "晓雯",
            "雅婷",
            "婉婷",
            "思琪",
            "梦瑶",
            "子涵",
        ),
    ),
}


def _generation(birth_year: int) -> str:
    if birth_year < 1975:
        return "1960s"
    if birth_year < 1990:
        return "1980s"
    return "1990s"


def random_surname(rng: random.Random) -> str:
    """A surname drawn by its frequency."""
    return rng.choices(SURNAMES, weights=_SURNAME_WEIGHTS)[0]


def random_name(rng: random.Random, male: bool, birth_year: int = 1980) -> str:
    """A full name: surname plus a given name in the fashion of the birth decade."""
    single_share, singles, doubles = (_MALE if male else _FEMALE)[_generation(birth_year)]
    surname = random_surname(rng)
    given = rng.choice(singles) if rng.random() < single_share else rng.choice(doubles)
    return surname + given
