"""Long lists are paged: an enterprise inspected 170 times a year still has small pages for the firm, the
inspector at its door and the supervisor, newest first, every inspection reachable."""

import re

from conftest import login, start, token_for


def many_inspections(store, world, count):
    """`count` exempt inspections of the world's enterprise, oldest first; returns their ids."""
    return [start(store, world["enterprise"], kind="complaint", reference=f"投诉-{n:03d}") for n in range(count)]


def shown(html):
    """The references of the inspections listed on a page."""
    return re.findall(r"投诉-\d{3}", html.split('id="records"')[1])


def listed(html):
    """How many inspections a scan page lists (the inspector's rows show no reference)."""
    return html.split('id="records"')[1].count('class="badge exempt"')


def older_link(html):
    return html.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")


def test_the_firm_reads_its_year_twenty_at_a_time(client, store, world):
    many_inspections(store, world, 45)
    login(client, "firm1")
    first = client.get("/firm/").get_data(as_text=True)
    assert shown(first)[:20] == [f"投诉-{n:03d}" for n in range(44, 24, -1)]
    second = client.get(older_link(first)).get_data(as_text=True)
    third = client.get(older_link(second)).get_data(as_text=True)
    assert set(shown(second)) == {f"投诉-{n:03d}" for n in range(24, 4, -1)}
    assert set(shown(third)) == {f"投诉-{n:03d}" for n in range(5)}
    assert 'rel="next"' not in third and 'rel="prev"' in third


def test_the_scan_page_lists_the_latest_inspections_and_pages_the_rest(client, store, world):
    many_inspections(store, world, 25)
    login(client, "ann")
    page = client.get(f"/q/{world['enterprise']['qr_token']}").get_data(as_text=True)
    assert listed(page) == 20
    assert older_link(page) == f"/q/{world['enterprise']['qr_token']}?page=2#records"
    rest = client.get(older_link(page)).get_data(as_text=True)
    assert listed(rest) == 5
    assert 'id="start-inspection"' in rest  # every page of it is still the page at the door


def test_the_supervisor_pages_an_enterprises_year_fifty_at_a_time(client, store, world):
    many_inspections(store, world, 55)
    login(client, "super")
    first = client.get(f"/supervisor/enterprises/{world['enterprise']['id']}").get_data(as_text=True)
    assert len(set(shown(first))) == 50
    assert len(set(shown(client.get(older_link(first)).get_data(as_text=True)))) == 5


def test_the_scan_api_answers_the_latest_twenty_inspections_and_the_whole_quota(client, store, world):
    many_inspections(store, world, 25)
    answer = client.get(f"/api/v1/scan/{world['enterprise']['qr_token']}", headers=token_for(client, "ann")).get_json()
    assert [r["reference"] for r in answer["recent"]] == [f"投诉-{n:03d}" for n in range(24, 4, -1)]
    assert answer["quota"]["exempt"] == 25
