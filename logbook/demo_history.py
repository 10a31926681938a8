"""The demo city's history, written as it would have happened: last year before the caps, this year under them.

Every record is written by the domain's own functions, in the order it happened, on a simulated clock: an
inspection is started by `record_inspection` with `now` at its start, confirmed by the firm's user during the visit,
closed with its checklist an hour or two later, rated and complained about afterwards; tasks are drafted, approved
and joined by the heads before their joint visit. So the counters, the warnings, the refusals and the journal are
what the product would have recorded had it run all along, and `flask journal verify` finds the chain intact.
Nothing is inserted behind the domain's back (bench/scale.py does that for ten million rows, at the price of a
journal that does not verify and counters rebuilt by `stats.recount`).

Last year is the year before the caps: the limit rules are lifted while it is written, as they were not yet in
force, and are in force again from this year's first day, so this year's inspections over the cap are refused at
the door (and the refusals recorded). The caller (demo_city.load) runs all of it in one transaction, each domain
step a savepoint inside it: it is fast, and a failure halfway leaves neither half a history nor lifted rules behind.
"""

import heapq
import random
from datetime import UTC, datetime, time, timedelta

from . import accounts, alerts, enterprises, feedback, followups, inspections, limits, rules, tasks, thresholds
from .db import now_text, rows, value
from .errors import Invalid

SEED = 2027  # the same history every time
CREW = {"SCJG": ("zhang.wei", "li.na", "liu.yang", "he.jing"), "YJGL": ("wang.qiang", "zhao.min", "sun.hao"),
        "XFJY": ("zhou.lei", "wu.ting", "xu.fan"), "STHJ": ("deng.hui", "tang.yu"), "ZJJ": ("luo.jun", "xie.fang"),
        "WJW": ("peng.li", "cao.yan")}
# which items fit which industries (an item not listed here fits every industry)
ITEM_INDUSTRIES = {
    "SCJG-001": {"餐饮", "食品", "住宿"}, "SCJG-002": {"制造业", "物流", "化工", "燃气"},
    "SCJG-003": {"批发和零售业", "服装", "医药", "食品", "制造业"},
    "YJGL-001": {"制造业", "化工", "燃气", "物流", "建筑业", "食品"}, "YJGL-002": {"化工", "燃气"},
    "XFJY-002": {"餐饮", "住宿", "批发和零售业", "服装", "医疗"},
    "STHJ-001": {"制造业", "化工", "食品"}, "STHJ-002": {"化工", "制造业", "医疗"},
    "ZJJ-001": {"建筑业"}, "ZJJ-002": {"燃气"}, "WJW-001": {"住宿"}, "WJW-002": {"医疗", "医药"},
}
FINDINGS = {
    "SCJG": ("2 名从业人员健康证明过期", "进货查验记录不完整", "特种设备超期未检验", "产品标签未标注生产者地址"),
    "YJGL": ("安全生产责任制未公示", "隐患排查治理台账缺失", "危险化学品未专库储存"),
    "XFJY": ("灭火器压力不足 3 具", "疏散通道堆放杂物", "应急照明灯损坏 2 处"),
    "STHJ": ("自行监测数据未按时公开", "危险废物贮存场所标识不全"),
    "ZJJ": ("脚手架连墙件缺失", "特种作业人员未持证上岗", "燃气管道未按期巡检"),
    "WJW": ("公共用品用具消毒记录不全", "医疗废物交接记录缺失"),
}
EXEMPT = (("complaint", "12345 热线工单 第{n}号"), ("referral", "株政办交〔{y}〕{n}号"), ("monitoring", "监测线索 {y}-{n}"),
          ("licensing", "许可受理 第{y}{n}号"), ("firm_request", "企业申请 {y}-{n}"), ("emergency", "突发事件 {y}-{n}"))
COMPLAINTS = {"too_frequent": "今年已被多个部门检查，检查内容重复，影响正常生产经营。",
              "misconduct": "检查人员未出示执法证件，态度生硬。", "no_scan": "检查人员未扫码即进入车间检查。",
              "other": "整改期限过短，希望延长。"}
COMMENTS = {5: "检查规范，指导到位", 4: "态度很好", 3: "一般", 2: "一个月内来了几次，影响生产", 1: "未出示证件"}
OFFICE = (27.8352, 113.1517)  # the ZJJ office, where two scans were made from (a far_from_site warning)


class History:
    """The simulated clock and the people of the city: a queue of things to do at given instants, done in order."""

    def __init__(self, db, firms, today, now, tz, supervisor):
        self.db, self.today, self.now, self.tz, self.supervisor = db, today, now, tz, supervisor
        self.rng = random.Random(SEED)
        self.year = today.year
        self.new_year = datetime.combine(today.replace(month=1, day=1), time(), tz).astimezone(UTC)
        self.firms = [enterprises.by_usci(db, f["usci"]) for f in firms]
        self.users = {}
        self.firm_users = {r["enterprise_id"]: r["username"] for r in rows(db, """SELECT enterprise_id, username
            FROM users WHERE role = 'firm' AND username LIKE 'qy%' AND active = 1""")}
        self.items = {}  # agency code: its active item codes, in order
        for r in rows(db, """SELECT a.code AS agency, i.code FROM items i JOIN agencies a ON a.id = i.agency_id
                             WHERE i.active = 1 ORDER BY i.code"""):
            if r["agency"] in CREW:
                self.items.setdefault(r["agency"], []).append(r["code"])
        self.scripted = {f["id"] for f in self.firms[1:9]}  # their year is written by hand (plan_stories)
        self.queue, self.serial, self.references = [], 0, 0

    # ---- the clock ------------------------------------------------------------------------------------

    def at(self, when, action, *args):
        """Do `action(when, *args)` at the instant `when` (dropped when it lies after the real now)."""
        if when <= self.now:
            self.serial += 1
            heapq.heappush(self.queue, (when, self.serial, action, args))

    def run_until(self, until):
        """Do what is due before `until`, in the order of the clock."""
        while self.queue and self.queue[0][0] < until:
            when, _, action, args = heapq.heappop(self.queue)
            action(when, *args)

    def live(self):
        """Plan both years, then let them happen: last year with the caps lifted, this year with them in force."""
        self.plan_last_year()
        self.plan_this_year()
        self.plan_stories()
        lifted = [r.id for r in limits.active_rules(self.db)]
        for rule_id in lifted:
            limits.deactivate_rule(self.db, rule_id)
        self.run_until(self.new_year)
        self.db.execute(f"UPDATE limit_rules SET active = 1 WHERE id IN ({','.join('?' * len(lifted))})", lifted)
        self.run_until(self.now + timedelta(seconds=1))
        self.follow_up()

    def user(self, username):
        """The active user with this username (read once)."""
        if username not in self.users:
            self.users[username] = accounts.user_by_username(self.db, username)
        return self.users[username]

    def moment(self, day, earliest=8.5, latest=16.5):
        """An instant of a working day (local time) as UTC."""
        hours = self.rng.uniform(earliest, latest)
        local = datetime.combine(day, time(int(hours), int(hours * 60) % 60, self.rng.randrange(60)), self.tz)
        return local.astimezone(UTC)

    def workday(self, first, last):
        """A random Monday-to-Friday between two dates."""
        while True:
            day = first + timedelta(days=self.rng.randrange((last - first).days + 1))
            if day.weekday() < 5:
                return day

    def reference(self, kind, year):
        """A fresh reference of the kind's sort: a hotline ticket, a document number."""
        self.references += 1
        pattern = dict(EXEMPT)[kind] if kind != "recheck" else "整改复查 {y}-{n}"
        return pattern.format(y=year, n=f"{self.references:04d}")

    # ---- plans ----------------------------------------------------------------------------------------

    def agencies_for(self, firm):
        """The agencies with an item that fits the firm's industry (fire safety fits everyone)."""
        return sorted(a for a, codes in self.items.items() if any(self.fits(c, firm) for c in codes))

    def items_for(self, firm, agency):
        """The agency's items that fit the firm (its first item if none does)."""
        return [c for c in self.items[agency] if self.fits(c, firm)] or self.items[agency][:1]

    @staticmethod
    def fits(code, firm):
        """True when the item fits the firm's industry."""
        return firm["industry"] in ITEM_INDUSTRIES.get(code, {firm["industry"]})

    def visit(self, firm, agencies, kind, started, **more):
        """Plan one inspection: who comes, for which items; `more` says what happens then (see `start`)."""
        crew = []
        for agency in agencies:
            people = CREW[agency]
            crew += self.rng.sample(people, 2) if len(agencies) == 1 else [self.rng.choice(people)]
        items = [self.rng.choice(self.items_for(firm, a)) for a in agencies]
        year = started.astimezone(self.tz).year
        plan = {"firm": firm, "agencies": agencies, "kind": kind, "crew": crew, "items": items, "started": started,
                "reference": self.reference(kind, year) if rules.is_exempt(kind) else None} | more
        self.at(started + plan.get("late", timedelta()), self.start, plan)

    def plan_last_year(self):
        """Before the caps: several counted inspections a firm, by one agency after another (多头检查、重复检查)."""
        new_year = self.new_year.astimezone(self.tz).date()
        first, last = new_year.replace(year=self.year - 1), new_year - timedelta(days=1)
        counted = {"A": (0, 1, 1, 2), "B": (1, 2, 2, 3), "C": (2, 3, 4, 4, 5), "D": (4, 5, 6, 7)}
        for n, firm in enumerate(self.firms):
            agencies = self.agencies_for(firm)
            times = 16 if n == 0 else self.rng.choice(counted[firm["risk_level"]])
            turns = self.rng.sample(agencies, len(agencies))  # one agency after another, then round again
            for k in range(times):
                together = self.rng.random() < 0.05 and len(agencies) > 1
                agency = turns[k % len(turns)]
                chosen = [agency, self.rng.choice([a for a in agencies if a != agency])] if together else [agency]
                self.visit(firm, chosen, self.rng.choice(("routine",) * 4 + ("special",)),
                           self.moment(self.workday(first, last)), confirm=0.35)
            for _ in range(8 if n == 0 else self.rng.choice((0, 0, 0, 1, 1, 2))):
                self.visit(firm, [self.rng.choice(agencies)], self.rng.choice([k for k, _ in EXEMPT]),
                           self.moment(self.workday(first, last)), confirm=0.35)
        for _ in range(8):  # service visits (入企服务): recorded, never inspections
            self.service(self.rng.choice(self.firms), self.moment(self.workday(first, last)))

    def plan_this_year(self):
        """Under the caps: at most two counted inspections a firm (a few agencies try a third and are refused at the
        door), joint visits planned as tasks, and the fire brigade's visits coming as exempt kinds."""
        first, last = self.new_year.astimezone(self.tz).date(), self.today.replace(month=12, day=31)
        counted = {"A": (1, 2, 2, 2), "B": (1, 2, 2, 2, 2), "C": (2,), "D": (2,)}
        for n, firm in enumerate(self.firms):
            if firm["id"] in self.scripted:
                continue
            agencies = self.agencies_for(firm)
            chosen = self.rng.choices(agencies, [0.5 if a == "XFJY" else 1 for a in agencies],
                                      k=self.rng.choice(counted[firm["risk_level"]]))
            days = sorted(self.workday(first, last) for _ in chosen)
            if len(set(chosen)) > 1 and self.rng.random() < 0.15:  # both come together, planned as tasks
                self.joint_by_tasks(firm, chosen, days[0])
                chosen = []
            kinds = []
            for agency, day in zip(chosen, days):
                kind = self.rng.choice(("routine",) * 4 + ("special",))
                if agency == "XFJY" and self.rng.random() < 0.75:  # the brigade's visits come as complaints now
                    kind = self.rng.choice(("complaint", "complaint", "emergency"))
                together = self.rng.random() < 0.12 and len(agencies) > 1
                pair = [agency, self.rng.choice([a for a in agencies if a != agency])] if together else [agency]
                self.visit(firm, pair, kind, self.moment(day), confirm=0.8, **self.flags())
                kinds.append(kind)
            full = sum(k in rules.COUNTED_KINDS for k in kinds) == 2
            for _ in range(2 if n == 0 else int(full and self.rng.random() < 0.15)):  # one more: refused
                day = self.workday(days[-1] + timedelta(days=3), days[-1] + timedelta(days=60))
                self.visit(firm, [self.rng.choice(agencies)], "routine", self.moment(day), confirm=0.8)
            for _ in range(5 if n == 0 else self.rng.choice((0, 0, 0, 0, 0, 1))):
                self.visit(firm, [self.rng.choice(agencies)], self.rng.choice([k for k, _ in EXEMPT]),
                           self.moment(self.workday(first, last)), confirm=0.8)
        for _ in range(25):
            self.service(self.rng.choice(self.firms), self.moment(self.workday(first, last)))

    def flags(self):
        """Now and then a late entry (the network was down at the door) or a manual one (the poster was torn)."""
        roll = self.rng.random()
        if roll < 0.02:
            return {"late": timedelta(days=self.rng.randint(1, 6), hours=self.rng.randint(0, 5)),
                    "reason": "现场无网络信号，返回后补录"}
        if roll < 0.05:
            return {"entry": "manual"}
        return {}

    def service(self, firm, started):
        """A service visit (政策宣讲) by one inspector: recorded and closed, never an inspection."""
        agency = self.rng.choice(sorted(CREW))
        self.at(started, self.start, {"firm": firm, "agencies": [agency], "kind": rules.VISIT,
                                      "crew": [self.rng.choice(CREW[agency])], "items": [], "started": started,
                                      "reference": None})

    def plan_stories(self):
        """This year's cases a supervisor should be warned about, a few days or weeks before today."""
        ago = lambda days: self.moment(self.today - timedelta(days=days))  # noqa: E731
        week, opened, far = self.firms[1], self.firms[2:5], self.firms[5:7]
        self.visit(week, ["SCJG"], "routine", ago(12), confirm=1, story=True)  # one firm three times in five days
        self.visit(week, ["XFJY"], "complaint", ago(10), confirm=1, story=True)
        self.visit(week, ["SCJG"], "complaint", ago(8), confirm=1, story=True)
        for days, firm, agency in zip((9, 11, 15), opened, ("YJGL", "ZJJ", "YJGL")):  # never closed
            self.visit(firm, [agency], "routine", ago(days), result="open", confirm=1, story=True)
        for days, firm in zip((20, 6), far):  # scanned from the office, not at the site
            self.visit(firm, ["ZJJ"], "special", ago(days), location=OFFICE, confirm=0.5, story=True)
        for days, firm in zip((6, 5), self.firms[7:9]):  # tasks waiting for their head's approval for days
            self.at(ago(days), self.draft_waiting, firm)

    # ---- what happens -----------------------------------------------------------------------------------

    def start(self, when, plan):
        """Start a planned inspection at the door (or enter it late), and plan what follows."""
        firm, caller = plan["firm"], self.user(plan["crew"][0])
        lat, lon = plan.get("location") or (firm["lat"] + self.rng.uniform(-3e-4, 3e-4),
                                             firm["lon"] + self.rng.uniform(-3e-4, 3e-4))
        manual, by_task = plan.get("entry") == "manual", plan.get("task_id") is not None
        request = inspections.StartRequest(
            kind=plan["kind"], qr_token=None if manual else firm["qr_token"], usci=firm["usci"] if manual else None,
            agencies=plan["agencies"], inspectors=[] if by_task else plan["crew"][1:],
            items=[] if by_task else plan["items"], reference=plan["reference"], reason=plan.get("reason"),
            recheck_of=plan.get("recheck_of"), started_at=plan["started"] if plan.get("late") else None,
            location=None if manual else {"lat": lat, "lon": lon}, task_id=plan.get("task_id"))
        try:
            plan["id"] = self.record(caller, request, when)
        except rules.CapReached:  # refused at the door, and the refusal recorded for the supervisor
            return
        if plan.get("late"):  # entered afterwards, and closed with it
            return self.at(when + timedelta(minutes=5), self.close, plan)
        if plan["kind"] != rules.VISIT and not plan.get("story") and self.rng.random() < 0.015:  # a wrong scan
            return self.at(when + timedelta(minutes=8), self.void, plan)
        owner = self.firm_users.get(firm["id"])
        if owner and plan["kind"] != rules.VISIT and self.rng.random() < plan.get("confirm", 0):
            self.at(when + timedelta(minutes=self.rng.randint(15, 50)), self.confirm, plan, owner)
        if plan.get("result") != "open":
            self.at(when + timedelta(minutes=self.rng.randint(60, 180)), self.close, plan)

    def record(self, caller, request, when):
        """record_inspection at `when`; three clean visits in a row by an agency ask for a reason, which is given."""
        try:
            return inspections.record_inspection(self.db, caller, request, when, self.tz)
        except Invalid as e:
            if set(e.fields) != {"reason"}:
                raise
            request.reason = "上次检查后收到新的风险线索，需再次核查"
            return inspections.record_inspection(self.db, caller, request, when, self.tz)

    def void(self, when, plan):
        """The inspector voids a wrong scan at once."""
        inspections.void_inspection(self.db, plan["id"], self.user(plan["crew"][0]), "扫错企业二维码", when, self.tz)

    def confirm(self, when, plan, owner):
        """The firm's user confirms the visit with the code on the inspector's screen."""
        code = value(self.db, "SELECT confirm_code FROM inspections WHERE id = ?", [plan["id"]])
        feedback.confirm_inspection(self.db, plan["id"], self.user(owner), code, when, self.tz)

    def close(self, when, plan):
        """Close with the checklist answered: most find nothing, some order a rectification, a few file a case."""
        agency = plan["agencies"][0]
        targeted = when >= self.new_year  # fewer inspections, better aimed: they find more
        result = plan.get("result") or ("no_issue" if plan["kind"] == rules.VISIT else self.rng.choices(
            ("no_issue", "rectify", "case_filed"), (55, 38, 7) if targeted else (72, 24, 4))[0])
        findings = self.rng.choice(FINDINGS[agency]) if result != "no_issue" else None
        checks = [{"checkpoint": r[0], "outcome": "pass"} for r in self.db.execute(
            "SELECT checkpoint_id FROM inspection_checkpoints WHERE inspection_id = ?", [plan["id"]]).fetchall()]
        if findings and checks:
            checks[self.rng.randrange(len(checks))] |= {"outcome": "fail", "note": findings}
        deadline = when.astimezone(self.tz).date() + timedelta(days=self.rng.choice((15, 30)))
        inspections.close_inspection(self.db, plan["id"], self.user(plan["crew"][0]), result, findings, deadline, when,
                                     self.tz, checks)
        owner = self.firm_users.get(plan["firm"]["id"])
        if owner and plan["kind"] != rules.VISIT and self.rng.random() < 0.3:
            self.at(when + timedelta(days=self.rng.randint(1, 4), hours=2), self.rate, plan, owner, result)
        if owner and result != "no_issue" and self.rng.random() < 0.15:
            self.at(when + timedelta(days=2), self.state, plan, owner)
        if owner and plan["kind"] in rules.COUNTED_KINDS and self.rng.random() < 0.04:
            self.at(when + timedelta(days=3, hours=1), self.complain, plan, owner)
        if result == "rectify" and self.rng.random() < 0.3:
            day = self.workday(deadline, deadline + timedelta(days=10))
            self.at(self.moment(day), self.start, {
                "firm": plan["firm"], "agencies": [agency], "kind": "recheck", "crew": self.rng.sample(CREW[agency], 2),
                "items": self.items_for(plan["firm"], agency)[:1], "started": None, "recheck_of": plan["id"],
                "confirm": plan.get("confirm", 0), "reference": self.reference("recheck", day.year),
                "result": "no_issue"})

    def rate(self, when, plan, owner, result):
        """The firm's rating: lower after a finding, lowest at the fire brigade's complaint visits."""
        low = (result != "no_issue") + (plan["agencies"][0] == "XFJY")
        rating = self.rng.choices((5, 4, 3, 2, 1), (50 - 15 * low, 30, 12 + 5 * low, 6 + 5 * low, 2 + 5 * low))[0]
        feedback.evaluate(self.db, plan["id"], self.user(owner), rating,
                          COMMENTS[rating] if self.rng.random() < 0.5 else None, when)

    def state(self, when, plan, owner):
        """The firm answers the findings (陈述申辩)."""
        feedback.make_statement(self.db, plan["id"], self.user(owner), "对检查发现无异议，已安排专人整改，整改完成后将提交报告。",
                                when)

    def complain(self, when, plan, owner):
        """A firm complains; most complaints are answered within a week, some wait longer."""
        category = self.rng.choices(list(COMPLAINTS), (6, 2, 1, 1))[0]
        complaint_id = feedback.file_complaint(self.db, self.user(owner), category, COMPLAINTS[category], plan["id"],
                                               when)
        if self.rng.random() < 0.8:
            self.at(when + timedelta(days=self.rng.randint(2, 6)), self.answer, complaint_id)

    def answer(self, when, complaint_id):
        """The supervisor answers a complaint."""
        feedback.answer_complaint(self.db, complaint_id, self.supervisor, "resolved",
                                  "已转相关执法部门核实，并督促其合并检查事项、减少重复检查。", when)

    # ---- joint visits planned as tasks (拼团) ----------------------------------------------------------------

    def joint_by_tasks(self, firm, agencies, day):
        """Two agencies' tasks for one firm, drafted twelve days before the visit, approved by their heads the same
        day and joined the next; the joint visit starts on `day` and counts once."""
        drafted = self.moment(day - timedelta(days=12), latest=12)
        if drafted + timedelta(days=2) < self.now:  # all of it before today, or none of it
            self.at(drafted, self.draft_pair, firm, agencies, day)

    def draft_pair(self, when, firm, agencies, day):
        """Each agency's inspector drafts a task for the firm around `day`."""
        today = when.astimezone(self.tz).date()
        crews = [self.rng.sample(CREW[a], 2) for a in agencies]
        ids = [tasks.draft_task(self.db, self.user(crew[0]), tasks.TaskRequest(
            kind="routine", window_start=day - timedelta(days=3), window_end=day + timedelta(days=7), usci=firm["usci"],
            items=self.items_for(firm, agency)[:1], inspectors=crew[1:], reason="年度检查计划"), when, today)
            for agency, crew in zip(agencies, crews)]
        self.at(when + timedelta(hours=3), self.approve_pair, agencies, ids)
        self.at(when + timedelta(days=1), self.join_pair, agencies, ids)
        started = self.moment(day)
        self.at(started, self.start, {"firm": firm, "agencies": agencies, "kind": "routine", "crew": crews[0],
                                      "items": [], "started": started, "reference": None, "task_id": ids[0],
                                      "confirm": 0.9})

    def approve_pair(self, when, agencies, ids):
        """Each agency's head approves its task."""
        for agency, task_id in zip(agencies, ids):
            tasks.approve_task(self.db, task_id, self.user(f"head.{agency.lower()}"), "同意", when,
                               when.astimezone(self.tz).date(), 0)

    def join_pair(self, when, agencies, ids):
        """The first agency's head joins the two tasks into one visit."""
        tasks.join_tasks(self.db, ids[0], ids[1], self.user(f"head.{agencies[0].lower()}"), when,
                         when.astimezone(self.tz).date())

    def draft_waiting(self, when, firm):
        """A task its head has not decided for days (approval_overdue)."""
        today = when.astimezone(self.tz).date()
        tasks.draft_task(self.db, self.user("he.jing"), tasks.TaskRequest(
            kind="special", window_start=today + timedelta(days=10), window_end=today + timedelta(days=25),
            usci=firm["usci"], items=["SCJG-003"], inspectors=["liu.yang"], reason="产品质量专项抽查"), when, today)

    # ---- the supervisor's follow-ups (督办) ----------------------------------------------------------------

    def follow_up(self):
        """One follow-up in each state, each created after what it is about: accepted, answered, returned (and past its
        deadline since), open."""
        found = {}
        for w in alerts.warnings_of(self.db, self.year, self.now, self.tz, thresholds.DEFAULTS):
            if w["kind"] not in found or w["period"] == "week":
                found[w["kind"]] = w
        answers = {"answer": "已核查，相关检查均有依据；今后同类事项将与其他部门合并检查。",
                   "return": "答复未说明逾期未结案的原因，请限期办结并报告。", "accept": "答复属实，予以办结。"}
        wanted = [  # agency, what it is about, created days ago, days given to answer, steps taken since, what is asked
            ("SCJG", found.get("frequent"), 7, 10, ("answer", "accept"), "同一企业一周内被检查三次，请说明检查必要性。"),
            ("SCJG", "complaint", 6, 14, ("answer",), "请核查企业反映的问题并答复。"),
            ("YJGL", found.get("open_too_long"), 4, 3, ("answer", "return"), "多起检查开启超过 7 日仍未结束，请限期办结。"),
            ("XFJY", found.get("high_exempt_share"), 2, 12, (), "请说明今年免于计数的检查占比明显偏高的原因。"),
        ]
        for agency, about, ago, days, steps, text in wanted:
            created = self.now - timedelta(days=ago)
            complaint_id = value(self.db, "SELECT id FROM complaints WHERE created_at < ? ORDER BY created_at DESC LIMIT 1",
                                 [now_text(created)]) if about == "complaint" else None
            if about is None or about == "complaint" and complaint_id is None:
                continue  # early in the year: nothing of the kind yet
            agency = about != "complaint" and about.get("agency") or agency
            day = created.astimezone(self.tz).date()
            followup_id = followups.create_followup(
                self.db, self.supervisor, agency, text, day + timedelta(days=days), day, created,
                warning_key=about["key"] if complaint_id is None else None, complaint_id=complaint_id)
            for n, step in enumerate(steps, 1):
                by = self.user(f"head.{agency.lower()}") if step == "answer" else self.supervisor
                followups.step_followup(self.db, followup_id, by, step, answers[step], created + timedelta(hours=20 * n))
