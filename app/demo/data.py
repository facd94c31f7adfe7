"""Names and shapes of the demo data (fictional organisations and people)."""

from __future__ import annotations

DEMO_DISTRICTS = {"110105": "chaoyang", "110108": "haidian"}
DEMO_DISTRICT_NAMES = {"110105": "朝阳区", "110108": "海淀区"}

# (kind, name) per district; a partner row names its regional center by index in this list.
DEMO_PROVIDERS = {
    "110105": [
        ("institution", "朝阳区颐康养老院"),
        ("institution", "朝阳区福寿苑护理院"),
        ("regional_center", "朝阳区双井街道区域养老服务中心"),
        ("partner", "北京安心助浴服务有限公司", 2),
        ("partner", "北京康复到家健康科技有限公司", 2),
        ("station", "朝阳区劲松社区养老服务驿站"),
        ("station", "朝阳区望京花园社区养老服务驿站"),
        ("station", "朝阳区团结湖社区养老服务驿站"),
        ("home_care_company", "北京乐龄居家养老服务有限公司"),
        ("assessment_agency", "朝阳区老年人能力评估中心"),
    ],
    "110108": [
        ("institution", "海淀区万寿颐养中心"),
        ("institution", "海淀区西山康养院"),
        ("regional_center", "海淀区学院路街道区域养老服务中心"),
        ("partner", "北京悦心助餐配送有限公司", 2),
        ("station", "海淀区中关村社区养老服务驿站"),
        ("station", "海淀区甘家口社区养老服务驿站"),
        ("station", "海淀区清河社区养老服务驿站"),
        ("home_care_company", "北京智慧陪护网络科技有限公司"),
        ("assessment_agency", "海淀区老年人能力综合评估站"),
    ],
}

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
GIVEN_CHARS = "淑秀桂兰英玉珍凤华芳春梅丽敏静淑德福寿贵国建志明文永海庆宝金成荣玉林振俊德义山"

# Region codes of elders' ID numbers that are not from Beijing (permit holders, institution residents).
OTHER_PROVINCE_REGIONS = ["130102", "370102", "410105", "210102", "140105", "230102"]

# The published demo tokens (development only).
DEMO_STAFF = [
    ("city_admin", None, "市级管理员(演示)", "demo-city-admin"),
    ("auditor", None, "审计员(演示)", "demo-auditor"),
    ("district_civil", "110105", "朝阳区民政局(演示)", "demo-chaoyang-civil"),
    ("district_finance", "110105", "朝阳区财政局(演示)", "demo-chaoyang-finance"),
    ("district_civil", "110108", "海淀区民政局(演示)", "demo-haidian-civil"),
    ("district_finance", "110108", "海淀区财政局(演示)", "demo-haidian-finance"),
]

# Items a demo provider of each kind sells, with a typical price in fen (kept at or below the
# catalogue's reference maximum, so that price warnings come only from the planted patterns).
DEMO_SALES = {
    "institution": [(2, 650000), (3, 18000), (4, 9000)],
    "regional_center": [(4, 8000), (11, 30000), (29, 9000)],
    "partner": [(11, 30000), (10, 12000), (33, 10000)],
    "station": [(7, 600), (17, 1500), (22, 4500), (38, 1200), (46, 1200)],
    "home_care_company": [(5, 20000), (6, 50000), (22, 4500), (29, 8500)],
}

# The district where last month's supervision examples are planted, and its providers by their
# index in DEMO_PROVIDERS["110105"].
SUPERVISED_DISTRICT = "110105"
NIGHT_PROVIDER = 8  # 北京乐龄居家养老服务有限公司: home cleaning at night; gets a rectification order
PRICE_PROVIDER = 6  # 望京花园驿站: 洗发 far above the reference maximum
BUSY_DAY_PROVIDER = 7  # 团结湖驿站: thirteen services to one elder in a day
# Two elders each served by two providers fifteen minutes apart: (provider index, item, amount).
OVERLAPPING_SERVICES = (
    ((5, 45, 1500), (3, 11, 30000)),  # 劲松驿站 上门探访, then 安心助浴 上门洗浴
    ((5, 38, 1200), (8, 29, 9000)),  # 劲松驿站 药物喂服, then 乐龄 陪同就医
)

# Demo applicants, drawn with these weights (or, for benefits, each with this percent chance).
ELDER_RESIDENCIES = [("beijing_hukou", 80), ("residence_permit", 12), ("institution_resident", 8)]
ELDER_LEVELS = [("moderate", 35), ("severe", 30), ("complete", 15), ("mild", 15), ("intact", 5)]
ELDER_BENEFITS = [
    ("ltci", 15),
    ("disability_care_allowance", 7),
    ("destitute_support", 3),
    ("basic_service_upgrade", 2),
    ("hardship_institution_subsidy", 2),
]
