"""The command line of SPEC §6, run through Flask's CLI runner against the test database."""

from zoneinfo import ZoneInfo

import pytest
from conftest import PASSWORD, add_enterprise, make_usci
from werkzeug.security import check_password_hash

from logbook import accounts, demo, demo_city, enterprises, inspections, rules
from logbook.db import rows, value

HUAWEI = "914403001922038216"
XIAOMI = "91110108551385082Q"
ALIBABA = "91330100799655058B"
TABLES = ("agencies", "items", "enterprises", "users", "limit_rules", "inspections", "inspection_agencies",
          "inspection_inspectors", "inspection_items", "journal", "refusals", "tasks", "task_steps", "photos", "statements",
          "rectifications", "inspection_checkpoints")


@pytest.fixture
def cli(app):
    """Run a `flask` command; keyword arguments go to CliRunner.invoke (env, input)."""
    runner = app.test_cli_runner()

    def run(*args, **kwargs):
        return runner.invoke(args=list(args), **kwargs)
    return run


def counts(store):
    """The number of rows in every table the commands write."""
    return {table: value(store, f"SELECT count(*) FROM {table}") for table in TABLES}


def write(tmp_path, text, name="enterprises.csv", encoding="utf-8"):
    """A file with this text; returns its path as a string."""
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


# ---- init-db and demo -----------------------------------------------------------------------------

def test_init_db_can_run_twice_and_keeps_the_data(cli, store):
    assert cli("agencies", "add", "SCJG", "市场监督管理局").exit_code == 0
    for _ in range(2):
        result = cli("init-db")
        assert result.exit_code == 0, result.output
        assert "Database ready" in result.stdout
    assert rows(store, "SELECT code, name FROM agencies") == [{"code": "SCJG", "name": "市场监督管理局"}]
    assert rows(store, "SELECT max, target, window FROM limit_rules") == [{"max": 2, "target": "all", "window": "year"}]


def test_demo_prints_its_logins_and_a_scan_url(app, cli, store):
    result = cli("demo")
    assert result.exit_code == 0, result.output
    assert demo.PASSWORD in result.stdout
    for username, _, _, _, _, _ in demo.PEOPLE:
        assert username in result.stdout
    first = enterprises.by_usci(store, demo.demo_usci(demo.ENTERPRISES[0][0]))
    assert f"https://logbook.example/q/{first['qr_token']}" in result.stdout
    user = accounts.authenticate(store, "zhang.wei", demo.PASSWORD, inspections.utcnow())
    assert user["agency"] == "SCJG"


def test_demo_twice_changes_nothing(cli, store):
    assert cli("demo").exit_code == 0
    once = counts(store)
    tokens = rows(store, "SELECT usci, qr_token FROM enterprises ORDER BY usci")
    result = cli("demo")
    assert result.exit_code == 0, result.output
    assert counts(store) == once
    assert rows(store, "SELECT usci, qr_token FROM enterprises ORDER BY usci") == tokens
    city_users = value(store, "SELECT count(*) FROM users WHERE username LIKE 'qy%'")  # the city's firms' own users
    assert (once["agencies"], once["enterprises"], once["users"], once["limit_rules"]) == (
        len(demo.AGENCIES), len(demo.ENTERPRISES) + demo_city.FIRMS, len(demo.PEOPLE) + len(demo_city.STAFF) + city_users, 1)
    assert 150 < city_users < 300
    assert once["inspections"] > 1000  # the city's last year and this year
    assert of_the_cast(store, "inspections") == 3  # by 王强, one started from a task, one walked with photos
    assert of_the_cast(store, "tasks", "source != 'draw'") == len(demo.TASKS) + 1  # and an expired one
    assert once["photos"] == 2 and once["statements"] >= 1 and once["rectifications"] == 1
    assert value(store, "SELECT count(*) FROM tasks WHERE source = 'draw'") == 2


def of_the_cast(store, table, where="1"):
    """Rows of the table at the demo's own five firms (the city around them has its own)."""
    uscis = [demo.demo_usci(e[0]) for e in demo.ENTERPRISES]
    return value(store, f"""SELECT count(*) FROM {table} WHERE {where} AND enterprise_id IN
        (SELECT id FROM enterprises WHERE usci IN ({','.join('?' * len(uscis))}))""", uscis)


# ---- agencies and items ---------------------------------------------------------------------------

def test_agencies_add_stores_an_upper_case_code(cli, store):
    result = cli("agencies", "add", "scjg", "市场监督管理局")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Agency SCJG saved.\n"
    assert rows(store, "SELECT code, name, active FROM agencies") == [
        {"code": "SCJG", "name": "市场监督管理局", "active": 1}]


def test_agencies_add_with_an_existing_code_renames_it(cli, store):
    cli("agencies", "add", "SCJG", "旧名称")
    assert cli("agencies", "add", "SCJG", "市场监督管理局").exit_code == 0
    assert rows(store, "SELECT code, name FROM agencies") == [{"code": "SCJG", "name": "市场监督管理局"}]


@pytest.mark.parametrize("args, exit_code", [(["SCJG", " "], 1), (["SCJG"], 2), ([], 2)])
def test_agencies_add_without_a_code_and_name_is_refused(cli, store, args, exit_code):
    result = cli("agencies", "add", *args)
    assert result.exit_code == exit_code
    assert value(store, "SELECT count(*) FROM agencies") == 0


def test_items_add_stores_the_item_with_its_legal_basis(cli, store):
    cli("agencies", "add", "SCJG", "市场监督管理局")
    result = cli("items", "add", "SCJG", "SCJG-001", "食品经营许可检查", "--basis", "食品安全法第三十五条")
    assert result.exit_code == 0, result.output
    assert rows(store, "SELECT a.code AS agency, i.code, i.name, i.basis FROM items i "
                       "JOIN agencies a ON a.id = i.agency_id") == [
        {"agency": "SCJG", "code": "SCJG-001", "name": "食品经营许可检查", "basis": "食品安全法第三十五条"}]


def test_items_add_without_basis_leaves_it_empty(cli, store):
    cli("agencies", "add", "SCJG", "市场监督管理局")
    assert cli("items", "add", "SCJG", "SCJG-001", "食品经营许可检查").exit_code == 0
    assert value(store, "SELECT basis FROM items WHERE code = 'SCJG-001'") is None


@pytest.mark.parametrize("args, message", [
    (["XXXX", "X-1", "某事项"], "unknown agency XXXX"),
    (["YJGL", "SCJG-001", "抢注的事项"], "item code SCJG-001 already belongs to another agency"),
])
def test_items_add_is_refused_for_an_unknown_agency_or_another_agencys_code(cli, store, args, message):
    cli("agencies", "add", "SCJG", "市场监督管理局")
    cli("agencies", "add", "YJGL", "应急管理局")
    cli("items", "add", "SCJG", "SCJG-001", "食品经营许可检查")
    result = cli("items", "add", *args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert rows(store, "SELECT i.code, i.name, a.code AS agency FROM items i JOIN agencies a ON a.id = i.agency_id") \
        == [{"code": "SCJG-001", "name": "食品经营许可检查", "agency": "SCJG"}]


# ---- users ----------------------------------------------------------------------------------------

@pytest.fixture
def directory(cli, store):
    """One agency and one enterprise, made through the commands."""
    cli("agencies", "add", "SCJG", "市场监督管理局")
    return add_enterprise(store, usci=HUAWEI, name="华为技术有限公司")


def test_users_add_creates_an_inspector_with_the_password_from_the_environment(cli, store, directory):
    result = cli("users", "add", "ann", "--role", "inspector", "--name", "安娜", "--agency", "SCJG",
                 "--cert-no", "43020001", "--cert-expires", "2027-06-30", env={"LOGBOOK_PASSWORD": PASSWORD})
    assert result.exit_code == 0, result.output
    assert result.stdout == "User ann (inspector) added.\n"
    user = accounts.user_by_username(store, "ann")
    assert (user["role"], user["name"], user["agency"], user["cert_no"], user["cert_expires_on"]) == \
        ("inspector", "安娜", "SCJG", "43020001", "2027-06-30")
    stored = value(store, "SELECT password_hash FROM users WHERE username = 'ann'")
    assert check_password_hash(stored, PASSWORD)


def test_users_add_creates_a_firm_user_for_the_enterprise(cli, store, directory):
    result = cli("users", "add", "firm1", "--role", "firm", "--usci", HUAWEI.lower(),
                 env={"LOGBOOK_PASSWORD": PASSWORD})
    assert result.exit_code == 0, result.output
    assert accounts.user_by_username(store, "firm1")["enterprise_id"] == directory["id"]


def test_users_add_prompts_for_the_password_when_the_environment_has_none(cli, store, directory):
    result = cli("users", "add", "super", "--role", "supervisor", input=f"{PASSWORD}\n{PASSWORD}\n",
                 env={"LOGBOOK_PASSWORD": None})
    assert result.exit_code == 0, result.output
    assert check_password_hash(value(store, "SELECT password_hash FROM users WHERE username = 'super'"), PASSWORD)


@pytest.mark.parametrize("args, exit_code, message", [
    (["ann", "--role", "inspector", "--agency", "NOPE", "--cert-no", "1", "--cert-expires", "2027-01-01"],
     1, "unknown agency NOPE"),
    (["ann", "--role", "inspector", "--cert-no", "1", "--cert-expires", "2027-01-01"], 1, "belongs to an agency"),
    (["ann", "--role", "inspector", "--agency", "SCJG", "--cert-no", "1"], 1, "both the certificate number"),
    (["ann", "--role", "inspector", "--agency", "SCJG", "--cert-no", "1", "--cert-expires", "31/12/2027"],
     1, "--cert-expires must be a date as YYYY-MM-DD"),
    (["firm1", "--role", "firm"], 1, "a firm user acts for one enterprise (--usci USCI)"),
    (["firm1", "--role", "firm", "--usci", XIAOMI], 1, f"no enterprise with USCI {XIAOMI}"),
    (["boss", "--role", "owner"], 2, "Invalid value for '--role'"),
    (["boss"], 2, "Missing option '--role'"),
    (["two words", "--role", "admin"], 1, "without spaces"),
    (["taken", "--role", "admin"], 1, "username taken is taken"),
])
def test_users_add_refuses_bad_input_and_adds_nobody(cli, store, directory, args, exit_code, message):
    cli("users", "add", "taken", "--role", "admin", env={"LOGBOOK_PASSWORD": PASSWORD})
    result = cli("users", "add", *args, env={"LOGBOOK_PASSWORD": PASSWORD})
    assert result.exit_code == exit_code
    assert message in result.stderr
    assert rows(store, "SELECT username FROM users") == [{"username": "taken"}]


def test_users_add_refuses_a_short_password(cli, store, directory):
    result = cli("users", "add", "admin", "--role", "admin", env={"LOGBOOK_PASSWORD": "short"})
    assert result.exit_code == 1
    assert "at least 8 characters" in result.stderr
    assert value(store, "SELECT count(*) FROM users") == 0


# ---- enterprises import ---------------------------------------------------------------------------

VALID_CSV = (
    "usci,name,address,industry,risk_level,lat,lon\n"
    f"{HUAWEI},华为技术有限公司,深圳市龙岗区坂田华为总部办公楼,制造业,b,22.65,114.06\n"
    f"{XIAOMI.lower()}, 小米科技有限责任公司 ,,,,,\n"
)


@pytest.mark.parametrize("bom", ["", "\ufeff"])
def test_enterprises_import_reads_utf8_with_or_without_bom(cli, store, tmp_path, bom):
    result = cli("enterprises", "import", write(tmp_path, bom + VALID_CSV))
    assert result.exit_code == 0, result.output
    assert "Imported 2 enterprises: 2 new, 0 updated." in result.stdout
    assert rows(store, "SELECT usci, name, address, industry, risk_level, lat, lon FROM enterprises ORDER BY usci") == [
        {"usci": XIAOMI, "name": "小米科技有限责任公司", "address": None, "industry": None, "risk_level": None,
         "lat": None, "lon": None},
        {"usci": HUAWEI, "name": "华为技术有限公司", "address": "深圳市龙岗区坂田华为总部办公楼",
         "industry": "制造业", "risk_level": "B", "lat": 22.65, "lon": 114.06},
    ]
    tokens = [r["qr_token"] for r in rows(store, "SELECT qr_token FROM enterprises")]
    assert len(set(tokens)) == 2 and all(len(t) >= 22 for t in tokens)


def test_enterprises_import_accepts_only_the_required_columns(cli, store, tmp_path):
    result = cli("enterprises", "import", write(tmp_path, f"name,usci\r\n华为技术有限公司,{HUAWEI}\r\n"))
    assert result.exit_code == 0, result.output
    assert rows(store, "SELECT usci, name FROM enterprises") == [{"usci": HUAWEI, "name": "华为技术有限公司"}]


def test_enterprises_import_updates_an_existing_enterprise_and_keeps_its_qr_token(cli, store, tmp_path):
    before = add_enterprise(store, usci=HUAWEI, name="华为旧名", risk_level="A")
    result = cli("enterprises", "import", write(tmp_path, VALID_CSV))
    assert result.exit_code == 0, result.output
    assert "2 new" not in result.stdout and "1 new, 1 updated" in result.stdout
    after = enterprises.by_usci(store, HUAWEI)
    assert (after["id"], after["qr_token"]) == (before["id"], before["qr_token"])
    assert (after["name"], after["risk_level"]) == ("华为技术有限公司", "B")


BAD_CSV = (
    "usci,name,risk_level,lat,lon\n"                    # line 1
    f"{HUAWEI},华为技术有限公司,B,,\n"                    # line 2: fine
    "914403001922038217,校验位错误,B,,\n"                 # line 3: bad check character
    f"{XIAOMI},,B,,\n"                                   # line 4: empty name
    f"{ALIBABA},阿里巴巴（中国）有限公司,E,,\n"             # line 5: bad risk level
    f"{HUAWEI.lower()},华为重复,A,,\n"                     # line 6: duplicate of line 2
    f"{make_usci(9001)},坐标错误,C,95.5,113.1\n"          # line 7: lat out of range
    f"{make_usci(9002)},\"多行\n地址企业\",C,,\n"           # lines 8-9: fine, a quoted line break
    "\n"                                                 # line 10: blank
    f"{make_usci(9003)},纬度不是数字,C,north,113.1\n"      # line 11: lat not a number
)
BAD_LINES = [
    ("line 3:", "the check character should be 6, not 7"),
    ("line 4:", "name is empty"),
    ("line 5:", "risk_level must be A, B, C or D"),
    ("line 6:", f"usci {HUAWEI} already on line 2"),
    ("line 7:", "lat must be between -90 and 90"),
    ("line 11:", "lat must be a number"),
]


def test_enterprises_import_with_bad_rows_reports_every_one_and_changes_nothing(cli, store, tmp_path):
    existing = add_enterprise(store, usci=HUAWEI, name="华为旧名")
    before = counts(store)
    result = cli("enterprises", "import", write(tmp_path, BAD_CSV))
    assert result.exit_code == 1
    reported = [line for line in result.stderr.splitlines() if line.startswith("line ")]
    assert len(reported) == len(BAD_LINES), result.stderr
    for line, (prefix, reason) in zip(reported, BAD_LINES):
        assert line.startswith(prefix) and reason in line, line
    assert "6 bad line(s); nothing was imported" in result.stderr
    assert "Imported" not in result.stdout
    assert counts(store) == before
    assert enterprises.by_usci(store, HUAWEI) == existing


@pytest.mark.parametrize("text, message", [
    ("code,name\n", "line 1: missing column usci; unknown column code"),
    ("usci,name\n", "line 2: the file has no enterprises"),
    ("", "line 1: missing column usci; missing column name"),
    (f"usci,name\n{HUAWEI},华为技术有限公司,多余\n", "line 2: more fields than the header has"),
])
def test_enterprises_import_refuses_a_malformed_file(cli, store, tmp_path, text, message):
    result = cli("enterprises", "import", write(tmp_path, text))
    assert result.exit_code == 1
    assert message in result.stderr
    assert value(store, "SELECT count(*) FROM enterprises") == 0


@pytest.mark.parametrize("encoding", ["gbk", "utf-16"])
def test_enterprises_import_refuses_a_file_that_is_not_utf8_cleanly(cli, store, tmp_path, encoding):
    result = cli("enterprises", "import", write(tmp_path, VALID_CSV, encoding=encoding))
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "not UTF-8" in result.stderr
    assert "Traceback" not in result.output
    assert value(store, "SELECT count(*) FROM enterprises") == 0


def test_enterprises_import_of_a_missing_file_is_a_usage_error(cli, tmp_path):
    result = cli("enterprises", "import", str(tmp_path / "missing.csv"))
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


# ---- enterprises url and rotate -------------------------------------------------------------------

@pytest.mark.parametrize("typed", [HUAWEI, HUAWEI.lower(), f" {HUAWEI[:9]} {HUAWEI[9:]} "])
def test_enterprises_url_prints_the_scan_url(cli, store, typed):
    enterprise = add_enterprise(store, usci=HUAWEI, name="华为技术有限公司")
    result = cli("enterprises", "url", typed)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"https://logbook.example/q/{enterprise['qr_token']}\n"


@pytest.mark.parametrize("typed", [XIAOMI, "not-a-code"])
def test_enterprises_url_of_an_unknown_usci_exits_1_with_nothing_on_stdout(cli, store, typed):
    add_enterprise(store, usci=HUAWEI, name="华为技术有限公司")
    result = cli("enterprises", "url", typed)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert f"no enterprise with USCI {typed}" in result.stderr


def test_enterprises_rotate_prints_the_new_url_and_retires_the_old_token(cli, store):
    enterprise = add_enterprise(store, usci=HUAWEI, name="华为技术有限公司")
    result = cli("enterprises", "rotate", HUAWEI)
    assert result.exit_code == 0, result.output
    token = enterprises.by_usci(store, HUAWEI)["qr_token"]
    assert token != enterprise["qr_token"]
    assert result.stdout == f"https://logbook.example/q/{token}\n"
    assert enterprises.by_qr_token(store, enterprise["qr_token"]) == (enterprises.by_id(store, enterprise["id"]), True)


# ---- rules ----------------------------------------------------------------------------------------

RULE_COLUMNS = "SELECT l.max, a.code AS agency, l.target, l.target_value, l.window FROM limit_rules l " \
               "LEFT JOIN agencies a ON a.id = l.agency_id ORDER BY l.id"


@pytest.mark.parametrize("args, stored", [
    (["--max", "3"], {"max": 3, "agency": None, "target": "all", "target_value": None, "window": "year"}),
    (["--max", "1", "--window", "days:30"],
     {"max": 1, "agency": None, "target": "all", "target_value": None, "window": "days:30"}),
    (["--max", "0", "--usci", HUAWEI.lower()],
     {"max": 0, "agency": None, "target": "enterprise", "target_value": HUAWEI, "window": "year"}),
    (["--max", "1", "--agency", "scjg", "--risk", "a"],
     {"max": 1, "agency": "SCJG", "target": "risk", "target_value": "A", "window": "year"}),
    (["--max", "4", "--industry", "餐饮"],
     {"max": 4, "agency": None, "target": "industry", "target_value": "餐饮", "window": "year"}),
])
def test_rules_add_stores_the_rule_with_the_year_window_by_default(cli, store, directory, args, stored):
    result = cli("rules", "add", *args)
    assert result.exit_code == 0, result.output
    assert result.stdout == "Rule 2 added.\n"
    assert rows(store, RULE_COLUMNS)[1:] == [stored]


@pytest.mark.parametrize("args, exit_code, message", [
    (["--max", "1", "--risk", "A", "--industry", "餐饮"], 1, "name at most one of --risk, --industry and --usci"),
    (["--max", "1", "--risk", "A", "--usci", HUAWEI], 1, "name at most one of --risk, --industry and --usci"),
    (["--max", "1", "--window", "month"], 1, "window must be 'year' or 'days:N'"),
    (["--max", "1", "--window", "days:0"], 1, "window must be 'year' or 'days:N'"),
    (["--max", "1", "--risk", "E"], 1, "risk level must be A, B, C or D"),
    (["--max", "1", "--usci", "914403001922038217"], 1, "usci: the check character should be 6"),
    (["--max", "1", "--agency", "NOPE"], 1, "unknown agency NOPE"),
    (["--max", "-1"], 2, "Invalid value for '--max'"),
    (["--window", "year"], 2, "Missing option '--max'"),
])
def test_rules_add_refuses_bad_input_and_adds_nothing(cli, store, directory, args, exit_code, message):
    result = cli("rules", "add", *args)
    assert result.exit_code == exit_code
    assert message in result.stderr
    assert value(store, "SELECT count(*) FROM limit_rules") == 1


def test_rules_list_describes_every_active_rule(cli, store, directory):
    cli("rules", "add", "--max", "0", "--usci", HUAWEI)
    cli("rules", "add", "--max", "1", "--agency", "SCJG", "--window", "days:30")
    result = cli("rules", "list")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "rule 1: max 2 per calendar year, all agencies, all enterprises",
        f"rule 2: max 0 per calendar year, all agencies, enterprise {HUAWEI}",
        "rule 3: max 1 per 30 days, SCJG, all enterprises",
    ]


def test_a_rolling_window_rule_added_on_the_command_line_refuses_the_next_inspection(cli, store, world):
    store.execute("UPDATE limit_rules SET active = 0")
    store.conn.commit()
    assert cli("rules", "add", "--max", "1", "--window", "days:30").exit_code == 0
    ann = accounts.user_by_username(store, "ann")
    request = {"qr_token": world["enterprise"]["qr_token"], "kind": "routine", "inspectors": ["bob"],
               "items": ["SCJG-001"]}
    now, tz = inspections.utcnow(), ZoneInfo("Asia/Shanghai")
    inspections.record_inspection(store, ann, inspections.StartRequest(**request), now, tz)
    with pytest.raises(rules.CapReached) as refused:
        inspections.record_inspection(store, ann, inspections.StartRequest(**request), now, tz)  # the same second counts too
    assert (refused.value.rule.window, refused.value.used, refused.value.max) == ("days:30", 1, 1)
    assert value(store, "SELECT count(*) FROM inspections") == 1
    assert value(store, "SELECT count(*) FROM refusals") == 1


# ---- journal --------------------------------------------------------------------------------------

def test_journal_verify_exits_0_on_a_fresh_database(cli):
    result = cli("journal", "verify")
    assert result.exit_code == 0
    assert result.stdout.startswith("Journal intact: 0 entries")


def test_every_command_has_help_text(cli):
    result = cli("--help")
    for command in ("init-db", "demo", "agencies", "items", "users", "enterprises", "rules", "journal"):
        assert command in result.stdout
    for group, command in [("agencies", "add"), ("items", "add"), ("users", "add"), ("enterprises", "import"),
                           ("enterprises", "url"), ("rules", "add"), ("rules", "list"), ("journal", "verify")]:
        help_text = cli(group, command, "--help")
        assert help_text.exit_code == 0
        assert "Usage:" in help_text.stdout and len(help_text.stdout.splitlines()) > 3
