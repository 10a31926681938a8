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
    percent = add_enterprise(store, name="100%满意公司")
    assert [e["id"] for e in enterprises.search(store, "%")] == [percent["id"]]
    assert enterprises.search(store, "_") == []
