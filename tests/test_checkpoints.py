"""Checkpoints (检查要点): `flask items import` loads them all or nothing, names every bad line, replaces the
checkpoints of the items a file names, and an inspection keeps the checklist it started with."""

import pytest
from conftest import login, start

from logbook import checkpoints, errors
from logbook.db import rows, value

HEADER = "agency,item_code,item_name,basis,checkpoint,standard\n"
GOOD = HEADER + (
    "SCJG,SCJG-001,食品经营许可检查,食品安全法第三十五条,许可证是否在有效期内,在有效期内\n"
    "SCJG,SCJG-001,食品经营许可检查,食品安全法第三十五条,从业人员是否持健康证明,每年体检\n"
    "YJGL,YJGL-009,有限空间作业检查,工贸企业有限空间作业安全规定,是否先通风再检测后作业,\n")


def write(tmp_path, text):
    path = tmp_path / "items.csv"
    path.write_text(text, encoding="utf-8-sig")
    return str(path)


def test_a_good_file_loads_the_checkpoints_and_adds_the_items_it_does_not_know(app, store, world, tmp_path):
    result = app.test_cli_runner().invoke(args=["items", "import", write(tmp_path, GOOD)])
    assert result.exit_code == 0, result.output
    assert "Imported 3 checkpoints of 2 items" in result.output
    assert rows(store, """SELECT i.code, c.position, c.text, c.standard FROM checkpoints c JOIN items i ON i.id = c.item_id
                          ORDER BY i.code, c.position""") == [
        {"code": "SCJG-001", "position": 1, "text": "许可证是否在有效期内", "standard": "在有效期内"},
        {"code": "SCJG-001", "position": 2, "text": "从业人员是否持健康证明", "standard": "每年体检"},
        {"code": "YJGL-009", "position": 1, "text": "是否先通风再检测后作业", "standard": None}]
    assert value(store, "SELECT basis FROM items WHERE code = 'YJGL-009'") == "工贸企业有限空间作业安全规定"


@pytest.mark.parametrize("line, reason", [
    ("SCJG,SCJG-001,食品经营许可检查,,,\n", "checkpoint is empty"),
    ("NOPE,NOPE-001,某事项,,要点,\n", "unknown agency NOPE"),
    ("YJGL,SCJG-002,特种设备检查,,要点,\n", "item code SCJG-002 already belongs to another agency"),
    ("SCJG,SCJG-001,另一个名称,,要点,\n", "item SCJG-001 has another agency or name on line 2"),
    ("SCJG,SCJG-003," + "长" * 201 + ",,要点,\n", "item_name is longer than 200 characters"),
    ("SCJG,SCJG-003,某事项,,要点,,多余\n", "more fields than the header has"),
])
def test_every_bad_line_is_named_and_nothing_changes(app, store, world, tmp_path, line, reason):
    text = HEADER + "SCJG,SCJG-001,食品经营许可检查,,许可证是否在有效期内,\n" + line
    result = app.test_cli_runner().invoke(args=["items", "import", write(tmp_path, text)])
    assert result.exit_code == 1
    assert f"line 3: {reason}" in result.output
    assert value(store, "SELECT count(*) FROM checkpoints") == 0


def test_a_wrong_header_or_an_empty_file_is_refused(app, store, world, tmp_path):
    for text in ("usci,name\n", HEADER):
        result = app.test_cli_runner().invoke(args=["items", "import", write(tmp_path, text)])
        assert result.exit_code == 1 and "nothing was imported" in result.output


def test_a_new_file_replaces_an_items_checkpoints_but_an_inspection_keeps_its_own(store, world):
    checkpoints.import_checkpoints(store, checkpoints.parse_csv(store, GOOD))
    inspection_id = start(store, world["enterprise"])
    kept = [r["text"] for r in rows(store, """SELECT c.text FROM inspection_checkpoints ic
        JOIN checkpoints c ON c.id = ic.checkpoint_id WHERE ic.inspection_id = ? ORDER BY c.position""", [inspection_id])]
    assert kept == ["许可证是否在有效期内", "从业人员是否持健康证明"]
    checkpoints.import_checkpoints(store, checkpoints.parse_csv(
        store, HEADER + "SCJG,SCJG-001,食品经营许可检查,,是否公示许可证,\n"))
    assert [c["text"] for c in checkpoints.checkpoints_of(store, [1])] == ["是否公示许可证"]
    assert value(store, "SELECT count(*) FROM inspection_checkpoints WHERE inspection_id = ?", [inspection_id]) == 2
    later = start(store, world["enterprise"], kind="complaint", reference="投诉-1")
    assert value(store, "SELECT count(*) FROM inspection_checkpoints WHERE inspection_id = ?", [later]) == 1


def test_parse_errors_are_domain_errors(store, world):
    with pytest.raises(errors.ImportFailed):
        checkpoints.parse_csv(store, "agency\n")


def test_the_operator_sees_an_agencys_items_with_their_checkpoints(client, store, world):
    checkpoints.import_checkpoints(store, checkpoints.parse_csv(store, GOOD))
    login(client, "admin")
    page = client.get("/admin/agencies?agency=SCJG").get_data(as_text=True)
    assert "许可证是否在有效期内" in page and "从业人员是否持健康证明" in page and "是否先通风" not in page
