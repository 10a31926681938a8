"""Demo data: agencies, item lists, enterprises and people, so `make run` shows a working product; and a city of
300 firms with last year's and this year's inspections (demo_city), so the supervisor's pages tell the reform's story.

The cast below (the demo firm 明辉机械 with its logins, tasks in every state and a checklist inspection with photos)
is what the browser tests and the README walk through; the city's firms and their history are kept apart from it.
"""

import io
from datetime import timedelta

from PIL import Image, ImageDraw
from werkzeug.security import generate_password_hash

from . import accounts, agencies, checkpoints, demo_city, draws, enterprises, feedback, inspections, photos, tasks, usci
from .db import rows, value

PASSWORD = "demo-pass-2026"

AGENCIES = [("SCJG", "市场监督管理局"), ("YJGL", "应急管理局"), ("XFJY", "消防救援支队"), ("STHJ", "生态环境局"),
            ("ZJJ", "住房和城乡建设局"), ("WJW", "卫生健康委员会")]
ITEMS = [
    ("SCJG", "SCJG-001", "食品经营许可情况检查", "《中华人民共和国食品安全法》第三十五条"),
    ("SCJG", "SCJG-002", "特种设备使用登记检查", "《中华人民共和国特种设备安全法》第三十三条"),
    ("SCJG", "SCJG-003", "产品质量监督抽查", "《中华人民共和国产品质量法》第十五条"),
    ("YJGL", "YJGL-001", "安全生产责任制落实情况", "《中华人民共和国安全生产法》第二十二条"),
    ("YJGL", "YJGL-002", "危险化学品储存检查", "《危险化学品安全管理条例》第二十四条"),
    ("XFJY", "XFJY-001", "消防设施器材检查", "《中华人民共和国消防法》第十六条"),
    ("XFJY", "XFJY-002", "人员密集场所消防安全检查", "《中华人民共和国消防法》第二十六条"),
    ("STHJ", "STHJ-001", "排污许可执行情况检查", "《排污许可管理条例》第二十六条"),
    ("STHJ", "STHJ-002", "危险废物贮存管理检查", "《中华人民共和国固体废物污染环境防治法》第八十一条"),
    ("ZJJ", "ZJJ-001", "建筑施工安全生产检查", "《建设工程安全生产管理条例》第二十一条"),
    ("ZJJ", "ZJJ-002", "城镇燃气经营安全检查", "《城镇燃气管理条例》第十九条"),
    ("WJW", "WJW-001", "公共场所卫生检查", "《公共场所卫生管理条例》第三条"),
    ("WJW", "WJW-002", "医疗机构依法执业检查", "《医疗机构管理条例》第二十四条"),
]
# checkpoints (检查要点) of the demo items: (item code, what to look at, the standard)
CHECKPOINTS = [
    ("SCJG-001", "食品经营许可证是否在有效期内并在经营场所显著位置悬挂", "许可证在有效期内，载明事项与实际一致"),
    ("SCJG-001", "从业人员是否持有有效健康证明", "接触直接入口食品的从业人员每年进行健康检查"),
    ("SCJG-001", "食品原料进货查验记录是否完整", "记录保存期限不少于产品保质期满后六个月"),
    ("SCJG-001", "食品贮存是否分区、离地离墙", "生熟分开，离地离墙不少于 10 厘米"),
    ("SCJG-002", "特种设备是否办理使用登记", "使用登记证与设备一一对应"),
    ("SCJG-002", "特种设备是否在检验有效期内", "定期检验合格标志在有效期内"),
    ("SCJG-002", "作业人员是否持证上岗", "特种设备作业人员证书在有效期内"),
    ("SCJG-003", "产品是否标注生产者名称、地址和合格证明", "标识齐全、真实"),
    ("SCJG-003", "是否留存抽检样品及检验报告", "报告与批次对应"),
    ("YJGL-001", "是否建立全员安全生产责任制", "责任制覆盖所有岗位并公示"),
    ("YJGL-001", "主要负责人和安全管理人员是否经考核合格", "持有有效的安全生产知识和管理能力考核合格证明"),
    ("YJGL-001", "是否开展隐患排查治理并建立台账", "台账记录隐患、整改措施、责任人和完成时间"),
    ("YJGL-002", "危险化学品是否储存在专用仓库", "专库专储，双人收发、双人保管"),
    ("YJGL-002", "是否配备相应的消防和应急器材", "器材数量、型号符合标准，定期检查"),
    ("XFJY-001", "消防设施是否完好有效", "灭火器压力正常，消火栓水压满足要求"),
    ("XFJY-001", "疏散通道和安全出口是否畅通", "无占用、堵塞、封闭"),
    ("XFJY-001", "应急照明和疏散指示标志是否完好", "断电后应急照明持续时间不少于 30 分钟"),
    ("STHJ-001", "是否按排污许可证规定排放污染物", "排放浓度和总量不超过许可限值"),
    ("STHJ-001", "自行监测数据是否按时公开", "按许可证要求的频次监测并公开"),
    ("XFJY-002", "消防安全责任人和管理人是否明确", "书面确定并公示"),
    ("XFJY-002", "是否按规定开展防火巡查", "营业期间至少每两小时巡查一次并记录"),
    ("STHJ-002", "危险废物是否分类贮存并设置识别标志", "贮存场所防渗、防漏，标志清晰"),
    ("STHJ-002", "是否如实填写危险废物转移联单", "联单与台账一致"),
    ("ZJJ-001", "脚手架搭设是否符合专项方案", "连墙件、剪刀撑设置齐全"),
    ("ZJJ-001", "特种作业人员是否持证上岗", "证书在有效期内且与人员一致"),
    ("ZJJ-001", "施工现场临边洞口是否防护到位", "防护栏杆高度不低于 1.2 米"),
    ("ZJJ-002", "燃气管道和设施是否定期巡检", "巡检记录完整，隐患及时处置"),
    ("ZJJ-002", "是否向用户开展安全用气宣传", "每年至少入户安检一次"),
    ("WJW-001", "卫生许可证和从业人员健康证明是否有效", "证照齐全并公示"),
    ("WJW-001", "公共用品用具是否清洗消毒", "一客一换一消毒，有消毒记录"),
    ("WJW-002", "医疗机构执业许可证是否在有效期内", "诊疗科目与许可一致"),
    ("WJW-002", "医疗废物是否分类收集并交接登记", "交接记录保存三年"),
]
# (first 16 characters of the USCI: characters 3-8 are the district, GB 32100; name, address, industry, risk level)
ENTERPRISES = [
    ("91430202MA4L0001", "株洲市荷塘区明辉机械制造有限公司", "株洲市荷塘区金山路 18 号", "制造业", "B"),
    ("91430211MA4L0002", "株洲湘江食品有限公司", "株洲市天元区黄河南路 66 号", "食品", "A"),
    ("91430203MA4L0003", "株洲市芦淞区恒通化工贸易有限公司", "株洲市芦淞区建设南路 3 号", "化工", "C"),
    ("91430204MA4L0004", "株洲云龙物流有限公司", "株洲市石峰区响田路 120 号", "物流", "B"),
    ("91430204MA4L0005", "株洲市石峰区星辰餐饮店", "株洲市石峰区田心大道 9 号", "餐饮", "D"),
]
PEOPLE = [
    # username, role, name, agency, certificate number, certificate valid for days from today
    ("zhang.wei", "inspector", "张伟", "SCJG", "43020001", 700),
    ("li.na", "inspector", "李娜", "SCJG", "43020002", 700),
    ("wang.qiang", "inspector", "王强", "YJGL", "43020101", 700),
    ("zhao.min", "inspector", "赵敏", "YJGL", "43020102", 700),
    ("chen.jie", "inspector", "陈杰", "SCJG", "43020003", -30),
    ("firm.minghui", "firm", "明辉机械 办公室", None, None, None),
    ("head.scjg", "head", "市场监督管理局 刘局长", "SCJG", None, None),
    ("head.yjgl", "head", "应急管理局 孙局长", "YJGL", None, None),
    ("head.xfjy", "head", "消防救援支队 周支队长", "XFJY", None, None),
    ("head.sthj", "head", "生态环境局 吴局长", "STHJ", None, None),
    ("head.zjj", "head", "住房和城乡建设局 邹局长", "ZJJ", None, None),
    ("head.wjw", "head", "卫生健康委员会 胡主任", "WJW", None, None),
    ("supervisor", "supervisor", "司法局执法监督科", None, None, None),
    ("admin", "admin", "系统管理员", None, None, None),
]


def demo_usci(first16):
    """A valid USCI from the first 16 characters, padding with 0 and adding the check character."""
    first17 = (first16 + "0")[:17]
    return first17 + usci.check_character(first17)


def load(db, today, now, tz, hash_method="scrypt", photo_store=None):
    """Load the demo data; existing rows are left alone, so running it twice changes nothing. Returns the logins."""
    for code, name in AGENCIES:
        agencies.add_agency(db, code, name)
    for agency, code, name, basis in ITEMS:
        agencies.add_item(db, agency, code, name, basis)
    listed = {r["code"] for r in rows(db, """SELECT DISTINCT i.code FROM checkpoints c JOIN items i ON i.id = c.item_id
                                             WHERE c.active = 1""")}
    if any(code not in listed for _, code, _, _ in ITEMS):
        checkpoints.import_checkpoints(db, [
            {"agency": agency, "code": code, "name": name, "basis": basis,
             "checkpoints": [(text, standard) for item, text, standard in CHECKPOINTS if item == code]}
            for agency, code, name, basis in ITEMS if code not in listed])
    enterprises.import_enterprises(db, [
        enterprises.parse_row({"usci": demo_usci(code), "name": name, "address": address, "industry": industry,
                               "risk_level": risk}) for code, name, address, industry, risk in ENTERPRISES])
    first = enterprises.by_usci(db, demo_usci(ENTERPRISES[0][0]))
    add_user = user_maker(db, hash_method)
    logins = []
    for username, role, name, agency, cert_no, days in PEOPLE:
        add_user(username, role, name=name, agency=agency, cert_no=cert_no,
                 cert_expires_on=(today + timedelta(days=days)).isoformat() if cert_no else None,
                 usci_code=first["usci"] if role == "firm" else None)
        logins.append((username, role, name))
    if not demo_city.is_loaded(db):
        demo_city.load(db, today, now, tz, add_user, accounts.user_by_username(db, "supervisor"))
    if not value(db, "SELECT count(*) FROM inspections WHERE enterprise_id = ?", [first["id"]]):
        caller = accounts.user_by_username(db, "wang.qiang")
        inspections.record_inspection(db, caller, inspections.StartRequest(
            qr_token=first["qr_token"], kind="routine", inspectors=["zhao.min"], items=["YJGL-001"]), now, tz)
    if not value(db, "SELECT count(*) FROM draws"):  # the draw is the last of the demo's tasks
        load_tasks(db, today, now, tz)
    if photo_store and not value(db, "SELECT count(*) FROM photos"):
        load_evidence(db, photo_store, first, today, now, tz)
    return logins


def user_maker(db, hash_method):
    """add_user(username, role, **fields): a demo user unless the username exists. Every demo login has the one
    published password, so it is hashed once and the hash shared (scrypt costs a third of a second a user here)."""
    hashed = []

    def add_user(username, role, **fields):
        if value(db, "SELECT 1 FROM users WHERE username = ?", [username]):
            return
        if not hashed:
            hashed.append(generate_password_hash(PASSWORD, method=hash_method))
        user = accounts.prepare_user(username, PASSWORD, role, hash_method="pbkdf2:sha256:1", **fields)
        accounts.insert_user(db, user | {"password_hash": hashed[0]})
    return add_user


# (agency's inspector, co-inspector, enterprise index, item, first day and last day from today, notice, what happens)
TASKS = [
    ("zhang.wei", "li.na", 0, "SCJG-001", 5, 15, True, "approve"),       # announced: the demo firm's notice
    ("wang.qiang", "zhao.min", 0, "YJGL-001", 8, 20, True, "approve"),   # overlaps the one above: a match (拼团)
    ("zhang.wei", "li.na", 1, "SCJG-003", 0, 7, False, "approve"),       # covers today: start it at the door
    ("li.na", "zhang.wei", 2, "SCJG-002", 10, 30, True, None),           # waiting for the head's approval
    ("wang.qiang", "zhao.min", 3, "YJGL-002", 3, 10, False, "reject"),
    ("zhao.min", "wang.qiang", 4, "YJGL-001", 2, 12, False, "cancel"),
    ("zhang.wei", "li.na", 2, "SCJG-001", 0, 3, False, "start"),         # started from the task: done
]


def load_tasks(db, today, now, tz):
    """Tasks in every state for the demo: announced, matched, waiting, rejected, cancelled, done, expired, drawn."""
    heads = {a: accounts.user_by_username(db, f"head.{a.lower()}") for a in ("SCJG", "YJGL")}
    for inspector, colleague, index, item, first, last, notice, then in TASKS:
        caller = accounts.user_by_username(db, inspector)
        firm = enterprises.by_usci(db, demo_usci(ENTERPRISES[index][0]))
        task_id = tasks.draft_task(db, caller, tasks.TaskRequest(
            kind="routine", window_start=today + timedelta(days=first), window_end=today + timedelta(days=last),
            usci=firm["usci"], items=[item], inspectors=[colleague], notice=notice,
            reason="年度行政检查计划" if first else "群众反映后的日常检查"), now, today)
        head = heads[caller["agency"]]
        if then in ("approve", "start"):
            tasks.approve_task(db, task_id, head, "同意", now, today, 0 if not notice else 3)
        elif then == "reject":
            tasks.reject_task(db, task_id, head, "检查依据不充分，请补充后重新提交", now, today)
        elif then == "cancel":
            tasks.cancel_task(db, task_id, caller, "企业已停业", now, today)
        if then == "start":
            inspections.record_inspection(db, caller, inspections.StartRequest(
                kind="", task_id=task_id, qr_token=firm["qr_token"]), now, tz)
    # an approved task whose window has passed: expired (drafted and approved as if ten days ago)
    earlier = today - timedelta(days=10)
    caller, firm = accounts.user_by_username(db, "zhang.wei"), enterprises.by_usci(db, demo_usci(ENTERPRISES[3][0]))
    task_id = tasks.draft_task(db, caller, tasks.TaskRequest(
        kind="special", window_start=earlier, window_end=earlier + timedelta(days=5), usci=firm["usci"],
        items=["SCJG-002"], inspectors=["li.na"], reason="特种设备专项检查"), now, earlier)
    tasks.approve_task(db, task_id, heads["SCJG"], "同意", now, earlier, 0)
    # a published random draw (双随机一公开): two firms and their pairs, from a seed anyone can check
    draws.draw(db, heads["SCJG"], 2, now, today, 3, seed="株洲-2026-双随机-示例")


def demo_photo(wall, badge):
    """A photo for the demo, drawn: a certificate on a wall, with a tag in the corner (a phone's real photo in use)."""
    image = Image.new("RGB", (960, 720), wall)
    draw = ImageDraw.Draw(image)
    draw.rectangle((260, 150, 700, 560), fill=(250, 248, 240), outline=(120, 90, 60), width=14)
    for y in range(230, 500, 45):
        draw.line((310, y, 650, y), fill=(150, 150, 150), width=8)
    draw.ellipse((560, 420, 660, 520), outline=(200, 30, 30), width=10)
    draw.rectangle((40, 40, 200, 110), fill=badge)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def load_evidence(db, store, firm, today, now, tz):
    """At the demo firm, a complaint inspection walked with its checklist: a failed checkpoint with its photo, the
    result `rectify`; the firm's statement and its rectification report, so the recheck is offered."""
    zhang, li = accounts.user_by_username(db, "zhang.wei"), accounts.user_by_username(db, "li.na")
    inspection_id = inspections.record_inspection(db, zhang, inspections.StartRequest(
        qr_token=firm["qr_token"], kind="complaint", inspectors=["li.na"], items=["SCJG-001"],
        reference="投诉-2026-0117"), now, tz)
    checklist = inspections.inspection(db, inspection_id)["checkpoints"]
    photos.add_photo(db, store, inspection_id, li, demo_photo((188, 196, 204), (230, 160, 0)), checklist[1]["id"], now)
    checks = [{"checkpoint": c["id"], "outcome": "pass"} for c in checklist]
    checks[1] = {"checkpoint": checklist[1]["id"], "outcome": "fail", "note": "2 名接触直接入口食品的员工健康证明已过期"}
    checks[3] = {"checkpoint": checklist[3]["id"], "outcome": "na", "note": "该企业无食品贮存场所"}
    inspections.close_inspection(db, inspection_id, zhang, "rectify", "从业人员健康证明过期，责令限期整改",
                                 today + timedelta(days=14), now, tz, checks)
    owner = accounts.user_by_username(db, "firm.minghui")
    feedback.make_statement(db, inspection_id, owner, "两名员工系新入职，体检已预约，健康证明将于一周内补办。", now)
    feedback.report_rectification(db, store, inspection_id, owner, "两名员工已完成体检并取得健康证明，复印件已存档。",
                                  [demo_photo((214, 222, 210), (40, 150, 70))], now)


def is_loaded(db):
    """True when the demo agencies exist."""
    return bool(value(db, "SELECT 1 FROM agencies WHERE code = 'SCJG'"))


