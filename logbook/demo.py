"""Demo data: a few agencies, item lists, enterprises and people, so `make run` shows a working product."""

from datetime import timedelta

from . import accounts, agencies, enterprises, inspections, usci
from .db import value

PASSWORD = "demo-pass-2026"

AGENCIES = [("SCJG", "市场监督管理局"), ("YJGL", "应急管理局"), ("XFJY", "消防救援支队"), ("STHJ", "生态环境局")]
ITEMS = [
    ("SCJG", "SCJG-001", "食品经营许可情况检查", "《中华人民共和国食品安全法》第三十五条"),
    ("SCJG", "SCJG-002", "特种设备使用登记检查", "《中华人民共和国特种设备安全法》第三十三条"),
    ("SCJG", "SCJG-003", "产品质量监督抽查", "《中华人民共和国产品质量法》第十五条"),
    ("YJGL", "YJGL-001", "安全生产责任制落实情况", "《中华人民共和国安全生产法》第二十二条"),
    ("YJGL", "YJGL-002", "危险化学品储存检查", "《危险化学品安全管理条例》第二十四条"),
    ("XFJY", "XFJY-001", "消防设施器材检查", "《中华人民共和国消防法》第十六条"),
    ("STHJ", "STHJ-001", "排污许可执行情况检查", "《排污许可管理条例》第二十六条"),
]
# (first 17 characters of the USCI, name, address, industry, risk level)
ENTERPRISES = [
    ("91430200MA4L0001", "株洲市荷塘区明辉机械制造有限公司", "株洲市荷塘区金山路 18 号", "制造业", "B"),
    ("91430200MA4L0002", "株洲湘江食品有限公司", "株洲市天元区黄河南路 66 号", "食品", "A"),
    ("91430200MA4L0003", "株洲市芦淞区恒通化工贸易有限公司", "株洲市芦淞区建设南路 3 号", "化工", "C"),
    ("91430200MA4L0004", "株洲云龙物流有限公司", "株洲市石峰区响田路 120 号", "物流", "B"),
    ("91430200MA4L0005", "株洲市石峰区星辰餐饮店", "株洲市石峰区田心大道 9 号", "餐饮", "D"),
]
PEOPLE = [
    # username, role, name, agency, certificate number, certificate valid for days from today
    ("zhang.wei", "inspector", "张伟", "SCJG", "43020001", 700),
    ("li.na", "inspector", "李娜", "SCJG", "43020002", 700),
    ("wang.qiang", "inspector", "王强", "YJGL", "43020101", 700),
    ("zhao.min", "inspector", "赵敏", "YJGL", "43020102", 700),
    ("chen.jie", "inspector", "陈杰", "SCJG", "43020003", -30),
    ("firm.minghui", "firm", "明辉机械 办公室", None, None, None),
    ("supervisor", "supervisor", "司法局执法监督科", None, None, None),
    ("admin", "admin", "系统管理员", None, None, None),
]


def demo_usci(first16):
    """A valid USCI from the first 16 characters, padding with 0 and adding the check character."""
    first17 = (first16 + "0")[:17]
    return first17 + usci.check_character(first17)


def load(db, today, now, tz, hash_method="scrypt"):
    """Load the demo data; existing rows are left alone, so running it twice changes nothing. Returns the logins."""
    for code, name in AGENCIES:
        agencies.add_agency(db, code, name)
    for agency, code, name, basis in ITEMS:
        agencies.add_item(db, agency, code, name, basis)
    enterprises.import_enterprises(db, [
        enterprises.parse_row({"usci": demo_usci(code), "name": name, "address": address, "industry": industry,
                               "risk_level": risk}) for code, name, address, industry, risk in ENTERPRISES])
    first = enterprises.by_usci(db, demo_usci(ENTERPRISES[0][0]))
    logins = []
    for username, role, name, agency, cert_no, days in PEOPLE:
        if not value(db, "SELECT 1 FROM users WHERE username = ?", [username]):
            accounts.add_user(db, username, PASSWORD, role, name=name, agency=agency, cert_no=cert_no,
                              cert_expires_on=(today + timedelta(days=days)).isoformat() if cert_no else None,
                              usci_code=first["usci"] if role == "firm" else None, hash_method=hash_method)
        logins.append((username, role, name))
    if not value(db, "SELECT count(*) FROM inspections WHERE enterprise_id = ?", [first["id"]]):
        caller = accounts.user_by_username(db, "wang.qiang")
        inspections.record_inspection(db, caller, inspections.StartRequest(
            qr_token=first["qr_token"], kind="routine", inspectors=["zhao.min"], items=["YJGL-001"]), now, tz)
    return logins


def is_loaded(db):
    """True when the demo agencies exist."""
    return bool(value(db, "SELECT 1 FROM agencies WHERE code = 'SCJG'"))


