"""Plausible Chinese names: common surnames weighted by frequency, given names by gender."""

from __future__ import annotations

import random

SURNAMES = "王李张刘陈杨黄赵周吴徐孙朱马胡郭林何高罗郑梁谢宋唐许邓冯韩曹曾彭萧蔡潘田董袁于余叶蒋杜苏魏程吕丁沈任姚卢傅钟姜崔谭廖范汪陆金石戴贾韦夏邱方侯邹熊孟秦白江阎薛尹段雷黎史龙陶贺顾毛郝龚邵万钱严覃武"
_WEIGHTS = [max(1, 60 - i) for i in range(len(SURNAMES))]
MALE = "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林欢阳建国志文海峰亮东晨"
FEMALE = "芳娜敏静丽艳娟霞燕玲丹萍红琳婷雪慧莉颖洁琴云倩佳玉梅兰秀英晶蓉瑶怡"


def random_name(rng: random.Random, male: bool) -> str:
    """A surname and a one- or two-character given name."""
    surname = rng.choices(SURNAMES, weights=_WEIGHTS)[0]
    pool = MALE if male else FEMALE
    given = rng.choice(pool) if rng.random() < 0.35 else rng.choice(pool) + rng.choice(pool)
    return surname + given
