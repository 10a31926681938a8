"""The demo's city: 300 firms of Zhuzhou in its five districts, the other agencies' inspectors and the firms' own
users; their inspections of last year and of this year until today are written by demo_history, so that the
supervisor's dashboard tells the reform's story (SPEC §1: Zhuzhou reports a drop of more than 40%).

The firms are the same every time (a fixed seed): realistic names, industries and risk levels, and USCIs whose
characters 3-8 are the district (GB 32100), so the dashboard groups them without extra data.
"""

import random
from datetime import timedelta

from . import demo_history, enterprises, usci
from .db import value

SEED = 2026  # the same city every time
FIRMS = 300
# division code (characters 3-8 of a USCI: GB 32100), name, centre (lat, lon), streets
DISTRICTS = {
    "430202": ("荷塘区", 27.856, 113.168, ("新华西路", "红旗北路", "金山路", "茨菇塘路", "戴家岭路"), 22),
    "430203": ("芦淞区", 27.791, 113.155, ("建设南路", "董家塅大道", "车站路", "人民中路", "芦淞大道"), 25),
    "430204": ("石峰区", 27.874, 113.118, ("田心大道", "响田东路", "北环路", "清霞路", "铜霞路"), 18),
    "430211": ("天元区", 27.826, 113.083, ("黄河北路", "长江南路", "珠江北路", "泰山路", "株洲大道"), 25),
    "430212": ("渌口区", 27.700, 113.145, ("渌江路", "湘江路", "南洲路", "伏波大道"), 10),
}
# industry: weight, risk levels A-D weights, name patterns ({z} a trade name, {d} the district)
INDUSTRIES = {
    "制造业": (22, (10, 45, 35, 10), ("株洲{z}机械制造有限公司", "株洲{z}精密零部件有限公司", "株洲{z}电机有限公司",
                                    "株洲{z}硬质合金有限公司", "株洲{z}轨道交通配件有限公司", "湖南{z}新材料科技有限公司")),
    "餐饮": (15, (15, 45, 30, 10), ("株洲市{d}{z}餐馆", "株洲{z}餐饮管理有限公司", "株洲市{d}{z}米粉店", "株洲{z}酒楼有限公司")),
    "批发和零售业": (12, (30, 50, 15, 5), ("株洲{z}商贸有限公司", "株洲市{d}{z}便利超市", "株洲{z}五金建材有限公司")),
    "服装": (8, (25, 50, 20, 5), ("株洲市芦淞区{z}服饰商行", "株洲{z}服装有限公司", "湖南{z}制衣有限公司")),
    "食品": (6, (10, 40, 40, 10), ("株洲{z}食品有限公司", "株洲{z}粮油贸易有限公司", "株洲{z}酱菜厂")),
    "化工": (5, (0, 20, 50, 30), ("株洲{z}化工有限公司", "株洲{z}涂料有限公司")),
    "建筑业": (8, (5, 35, 45, 15), ("湖南{z}建设工程有限公司", "株洲{z}建筑劳务有限公司")),
    "物流": (6, (15, 50, 30, 5), ("株洲{z}物流有限公司", "株洲{z}供应链管理有限公司")),
    "住宿": (5, (15, 50, 30, 5), ("株洲{z}酒店有限公司", "株洲市{d}{z}宾馆")),
    "医药": (5, (20, 50, 25, 5), ("株洲{z}大药房有限公司", "株洲{z}医疗器械有限公司")),
    "医疗": (3, (10, 40, 40, 10), ("株洲市{d}{z}诊所", "株洲{z}口腔门诊部有限公司")),
}
TRADE_FIRST = "华湘恒鑫金瑞鼎盛泰宏联诚信达丰源隆昌荣兴博远创润祥福佳云晨凯旺顺益康嘉德宇汇亿和安正永洪炎"
TRADE_SECOND = "达盛兴源通泰丰瑞祥隆昌华利鑫诚信远创宇发顺安和力科邦成新美欣"
USCI_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"

# the other agencies' people: (username, name, agency, certificate number); not printed among the demo's logins
STAFF = [
    ("liu.yang", "刘洋", "SCJG", "43020004"), ("he.jing", "何静", "SCJG", "43020005"),
    ("sun.hao", "孙浩", "YJGL", "43020103"),
    ("zhou.lei", "周磊", "XFJY", "43020201"), ("wu.ting", "吴婷", "XFJY", "43020202"), ("xu.fan", "徐帆", "XFJY", "43020203"),
    ("deng.hui", "邓辉", "STHJ", "43020301"), ("tang.yu", "唐雨", "STHJ", "43020302"),
    ("luo.jun", "罗军", "ZJJ", "43020401"), ("xie.fang", "谢芳", "ZJJ", "43020402"),
    ("peng.li", "彭莉", "WJW", "43020501"), ("cao.yan", "曹燕", "WJW", "43020502"),
]
def city_firms():
    """The 300 firms (deterministic): [{usci, name, address, industry, risk_level, lat, lon}], the gas company first."""
    rng = random.Random(SEED)
    codes, names, firms = set(), set(), []
    districts = list(DISTRICTS)
    industries = list(INDUSTRIES)
    while len(firms) < FIRMS:
        if not firms:  # SPEC §1's gas company: the most inspected firm in town before the reform
            district, industry, risk, pattern = "430202", "燃气", "D", "株洲{z}燃气有限公司"
        else:
            district = rng.choices(districts, [d[4] for d in DISTRICTS.values()])[0]
            industry = rng.choices(industries, [i[0] for i in INDUSTRIES.values()])[0]
            risk = rng.choices("ABCD", INDUSTRIES[industry][1])[0]
            pattern = rng.choice(INDUSTRIES[industry][2])
            if industry == "服装" and "芦淞区" in pattern:
                district = "430203"
        place, lat, lon, streets, _ = DISTRICTS[district]
        name = pattern.format(z=rng.choice(TRADE_FIRST) + rng.choice(TRADE_SECOND), d=place)
        first17 = "91" + district + "MA4" + "".join(rng.choice(USCI_ALPHABET) for _ in range(6))
        if name in names or first17 in codes:
            continue
        names.add(name)
        codes.add(first17)
        firms.append({"usci": first17 + usci.check_character(first17), "name": name, "industry": industry,
                      "address": f"株洲市{place}{rng.choice(streets)} {rng.randint(1, 388)} 号", "risk_level": risk,
                      "lat": f"{lat + rng.gauss(0, 0.012):.5f}", "lon": f"{lon + rng.gauss(0, 0.012):.5f}"})
    return firms


def is_loaded(db):
    """True when the city's firms have their history (its first firm, the gas company, is inspected every year)."""
    return bool(value(db, """SELECT 1 FROM inspections WHERE enterprise_id =
        (SELECT id FROM enterprises WHERE usci = ?) LIMIT 1""", [city_firms()[0]["usci"]]))


def load(db, today, now, tz, add_user, supervisor):
    """Load the firms, the staff, the firms' users and their two years (demo_history) in one transaction, so a
    failure halfway leaves nothing behind; `add_user(username, role, **fields)` adds a user unless it exists."""
    firms = city_firms()
    db.execute("BEGIN IMMEDIATE")
    try:
        enterprises.import_enterprises(db, [enterprises.parse_row(f) for f in firms])
        for username, name, agency, cert_no in STAFF:
            add_user(username, "inspector", name=name, agency=agency, cert_no=cert_no,
                     cert_expires_on=(today + timedelta(days=900)).isoformat())
        rng = random.Random(SEED)
        for n, firm in enumerate(firms):  # three firms in four have activated their account
            if rng.random() < 0.75:
                add_user(f"qy{n + 1:03d}", "firm", name=f"{firm['name']} 办公室", usci_code=firm["usci"])
        demo_history.History(db, firms, today, now, tz, supervisor).live()
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
