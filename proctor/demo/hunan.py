"""Hunan's geography for the demo: real cities/prefectures and counties with GB/T 2260 codes.

Only a few counties of each city are included (the demo does not need all 122); the names
and codes are the real ones, so identity numbers generated from them look genuine.
"""

from __future__ import annotations

from dataclasses import dataclass

PROVINCE = ("湖南省", "43")


@dataclass(frozen=True)
class City:
    """A prefecture-level city (or autonomous prefecture) and some of its counties."""

    name: str
    code: str
    short: str  # used in staff usernames (e.g. "cs" for 长沙市)
    counties: tuple[tuple[str, str], ...]


CITIES: tuple[City, ...] = (
    City(
        "长沙市",
        "4301",
        "cs",
        (
            ("芙蓉区", "430102"),
            ("天心区", "430103"),
            ("岳麓区", "430104"),
            ("开福区", "430105"),
            ("浏阳市", "430181"),
        ),
    ),
    City(
        "株洲市",
        "4302",
        "zz",
        (("荷塘区", "430202"), ("芦淞区", "430203"), ("天元区", "430211"), ("醴陵市", "430281")),
    ),
    City(
        "湘潭市",
        "4303",
        "xt",
        (
            ("雨湖区", "430302"),
            ("岳塘区", "430304"),
            ("湘潭县", "430321"),
            ("湘乡市", "430381"),
            ("韶山市", "430382"),
        ),
    ),
    City(
        "衡阳市",
        "4304",
        "hy",
        (("珠晖区", "430405"), ("雁峰区", "430406"), ("衡阳县", "430421"), ("耒阳市", "430481")),
    ),
    City(
        "邵阳市",
        "4305",
        "sy",
        (("双清区", "430502"), ("大祥区", "430503"), ("隆回县", "430524"), ("武冈市", "430581")),
    ),
    City(
        "岳阳市",
        "4306",
        "yy",
        (("岳阳楼区", "430602"), ("君山区", "430611"), ("平江县", "430626"), ("汨罗市", "430681")),
    ),
    City(
        "常德市",
        "4307",
        "cd",
        (("武陵区", "430702"), ("鼎城区", "430703"), ("澧县", "430723"), ("津市市", "430781")),
    ),
    City(
        "张家界市",
        "4308",
        "zjj",
        (("永定区", "430802"), ("武陵源区", "430811"), ("慈利县", "430821"), ("桑植县", "430822")),
    ),
    City(
        "益阳市",
        "4309",
        "yiy",
        (("资阳区", "430902"), ("赫山区", "430903"), ("安化县", "430923"), ("沅江市", "430981")),
    ),
    City(
        "郴州市",
        "4310",
        "cz",
        (("北湖区", "431002"), ("苏仙区", "431003"), ("宜章县", "431022"), ("资兴市", "431081")),
    ),
    City(
        "永州市",
        "4311",
        "yz",
        (("零陵区", "431102"), ("冷水滩区", "431103"), ("道县", "431124"), ("祁阳市", "431181")),
    ),
    City(
        "怀化市",
        "4312",
        "hh",
        (
            ("鹤城区", "431202"),
            ("中方县", "431221"),
            ("芷江侗族自治县", "431228"),
            ("洪江市", "431281"),
        ),
    ),
    City(
        "娄底市",
        "4313",
        "ld",
        (
            ("娄星区", "431302"),
            ("双峰县", "431321"),
            ("新化县", "431322"),
            ("冷水江市", "431381"),
            ("涟源市", "431382"),
        ),
    ),
    City(
        "湘西土家族苗族自治州",
        "4331",
        "xx",
        (("吉首市", "433101"), ("泸溪县", "433122"), ("凤凰县", "433123"), ("永顺县", "433127")),
    ),
)

# Provincial departments belong to no city, but the org tree has exactly four levels
# (province -> city -> county -> unit) and scope, reports and target groups rely on that.
# So they sit under a pseudo-city "省直机关" (4300) and a pseudo-county "省直单位" (430000):
# GB/T 2260 leaves the "00" city and county slots unused, so the codes cannot collide.
PROVINCIAL_CITY = ("省直机关", "4300")
PROVINCIAL_COUNTY = ("省直单位", "430000")
PROVINCIAL_DEPARTMENTS: tuple[str, ...] = (
    "湖南省发展和改革委员会",
    "湖南省教育厅",
    "湖南省财政厅",
    "湖南省人力资源和社会保障厅",
    "湖南省自然资源厅",
    "湖南省交通运输厅",
    "湖南省农业农村厅",
    "湖南省卫生健康委员会",
    "湖南省审计厅",
    "湖南省应急管理厅",
)

# County-level government departments; a unit's code is its county's code plus the
# department's number here, so the same department has the same suffix everywhere.
COUNTY_DEPARTMENTS: tuple[tuple[str, str], ...] = (
    ("001", "财政局"),
    ("002", "教育局"),
    ("003", "卫生健康局"),
    ("004", "人力资源和社会保障局"),
    ("005", "自然资源局"),
    ("006", "交通运输局"),
    ("007", "农业农村局"),
    ("008", "住房和城乡建设局"),
    ("009", "市场监督管理局"),
    ("010", "应急管理局"),
    ("011", "民政局"),
    ("012", "审计局"),
    ("013", "发展和改革局"),
    ("014", "司法局"),
)
# Every county has these, so demo logins (e.g. the 芙蓉区财政局 liaison) always exist.
CORE_DEPARTMENTS = 2


def all_county_codes() -> list[str]:
    """Every real county code of the demo tree (region codes for identity numbers)."""
    return [code for city in CITIES for _, code in city.counties]
