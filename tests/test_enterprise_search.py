"""Manual entry finds an enterprise by the start of its USCI or by part of its name."""

from conftest import add_enterprise

from logbook import enterprises


def test_the_start_of_a_usci_finds_the_enterprise(store):
    found = add_enterprise(store, name="株洲星辰餐饮店")
    assert [e["id"] for e in enterprises.search(store, found["usci"][:12].lower())] == [found["id"]]


def test_part_of_a_name_finds_the_enterprise(store):
    found = add_enterprise(store, name="株洲星辰餐饮店")
    add_enterprise(store, name="别的公司")
    assert [e["id"] for e in enterprises.search(store, "星辰")] == [found["id"]]


def test_wildcards_in_the_text_are_taken_literally(store):
    add_enterprise(store, name="百分百公司")
    add_enterprise(store, name="1000满意公司")
    percent = add_enterprise(store, name="100%满意公司")
    assert [e["id"] for e in enterprises.search(store, "0%满")] == [percent["id"]]
    assert enterprises.search(store, "0_满") == []
    assert enterprises.search(store, "%") == enterprises.search(store, "“”") == []  # punctuation alone finds nothing


def test_any_two_characters_of_a_name_find_it_wherever_they_are(store):
    first = add_enterprise(store, name="株洲星辰餐饮店")
    second = add_enterprise(store, name="长沙星辰 Foods 有限公司")
    add_enterprise(store, name="星城餐饮")
    assert {e["id"] for e in enterprises.search(store, "星辰")} == {first["id"], second["id"]}
    assert [e["id"] for e in enterprises.search(store, "饮店")] == [first["id"]]  # the last two characters
    assert [e["id"] for e in enterprises.search(store, "foods")] == [second["id"]]  # any case
    assert [e["id"] for e in enterprises.search(store, "辰餐饮")] == [first["id"]]
    assert enterprises.search(store, "辰饮") == []  # both pairs' characters are there, but not side by side


def test_one_character_finds_the_names_that_start_with_it(store):
    found = add_enterprise(store, name="株洲星辰餐饮店")
    add_enterprise(store, name="别的株洲公司")
    assert [e["id"] for e in enterprises.search(store, "株")] == [found["id"]]


def test_digits_that_start_no_usci_are_looked_for_in_names(store):
    found = add_enterprise(store, name="第1234567号商店")
    assert [e["id"] for e in enterprises.search(store, "1234567")] == [found["id"]]


def test_the_name_index_follows_renames_and_imports(store):
    found = add_enterprise(store, name="旧名字公司")
    store.execute("UPDATE enterprises SET name = '新名字公司' WHERE id = ?", [found["id"]])
    assert enterprises.search(store, "旧名") == []
    assert [e["id"] for e in enterprises.search(store, "新名")] == [found["id"]]
    enterprises.import_enterprises(store, enterprises.parse_csv(f"usci,name\n{found['usci']},再改的公司\n"))
    assert [e["id"] for e in enterprises.search(store, "再改")] == [found["id"]]


def test_words_apart_each_must_be_in_the_name_in_any_order(store):
    both = add_enterprise(store, name="株洲星辰餐饮店")
    add_enterprise(store, name="株洲明辉机械有限公司")
    assert [e["id"] for e in enterprises.search(store, "星辰 株洲")] == [both["id"]]
    assert [e["id"] for e in enterprises.search(store, " 餐饮  星辰 ")] == [both["id"]]
    assert enterprises.search(store, "星辰 机械") == []


def test_a_search_reads_at_most_the_candidates_it_is_allowed(store, monkeypatch):
    for n in range(5):
        add_enterprise(store, name=f"测试企业{n}号")
    monkeypatch.setattr(enterprises, "CANDIDATES", 3)
    assert len(enterprises.search(store, "测试企业")) == 3  # five names match; the first three read are shown
