"""QR codes and posters: what is printed decodes to the scan URL, and only the right people can print it."""

import io
import re
import xml.etree.ElementTree as ET

import PIL.Image
import pytest
import zxingcpp
from conftest import add_enterprise, add_user, login

from logbook import enterprises, qr
from logbook.db import rows

BASE_URL = "https://logbook.example"
SVG = "{http://www.w3.org/2000/svg}"


def decode(png):
    """Every QR code zxing-cpp finds in PNG bytes."""
    return zxingcpp.read_barcodes(PIL.Image.open(io.BytesIO(png)))


@pytest.mark.parametrize("url", [
    "https://logbook.example/q/AbCdEfGhIjKlMnOpQrStUv",
    pytest.param(f"https://example.org/q/{enterprises.new_qr_token()}", id="https://example.org/q/<new token>"),
    "http://127.0.0.1:5000/q/-_-_-_-_-_-_-_-_-_-_-_",
])
@pytest.mark.parametrize("box_size", [10, 20])
def test_the_png_decodes_to_exactly_the_url_at_error_correction_q(url, box_size):
    found = decode(qr.png(url, box_size=box_size))
    assert [(r.text, r.format, r.ec_level, r.valid) for r in found] == [(url, zxingcpp.BarcodeFormat.QRCode, "Q", True)]


def test_the_svg_is_one_path_on_one_background_rect():
    root = ET.fromstring(qr.svg("https://logbook.example/q/AbCdEfGhIjKlMnOpQrStUv"))
    assert root.tag == f"{SVG}svg"
    shapes = [child.tag for child in root.iter() if child is not root]
    assert sorted(shapes) == [f"{SVG}path", f"{SVG}rect"]
    background = root.find(f"{SVG}rect")
    assert (background.get("fill"), background.get("width"), background.get("height")) == ("white", "100%", "100%")


def test_the_svg_is_sized_in_millimetres_with_the_quiet_zone():
    root = ET.fromstring(qr.svg("https://example.org/q/AbCdEfGhIjKlMnOpQrStUv"))
    # a 44-character URL at ECC Q is version 4: 33 modules plus 4 of quiet zone on each side
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == ("41mm", "41mm", "0 0 41 41")
    drawn = [int(n) for n in re.findall(r"M(\d+),(\d+)", root.find(f"{SVG}path").get("d")) for n in n]
    assert min(drawn) == 4 and max(drawn) == 36


def test_the_svg_draws_the_same_modules_as_the_png():
    url = "https://logbook.example/q/AbCdEfGhIjKlMnOpQrStUv"
    path = ET.fromstring(qr.svg(url)).find(f"{SVG}path").get("d")
    drawn = {(int(x), int(y)) for x, y in re.findall(r"M(\d+),(\d+)", path)}
    image = PIL.Image.open(io.BytesIO(qr.png(url, box_size=1))).convert("L")
    dark = {(x, y) for x in range(image.width) for y in range(image.height) if image.getpixel((x, y)) < 128}
    assert drawn == dark


# ---- the poster and image routes ------------------------------------------------------------------

def scan_url(enterprise):
    return f"{BASE_URL}/q/{enterprise['qr_token']}"


def test_the_poster_shows_the_name_the_usci_and_an_inline_svg(client, world):
    enterprise = world["enterprise"]
    login(client, "admin")
    response = client.get(f"/admin/enterprises/{enterprise['id']}/poster")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert enterprise["name"] in html
    assert enterprise["usci"] in html
    svg = html[html.index("<svg"):html.index("</svg>") + len("</svg>")]
    assert ET.fromstring(svg).find(f"{SVG}path") is not None


@pytest.mark.parametrize("username", ["admin", "firm1"])
def test_the_png_route_decodes_to_the_enterprises_scan_url(client, world, username):
    login(client, username)
    response = client.get(f"/admin/enterprises/{world['enterprise']['id']}/qr.png")
    assert (response.status_code, response.mimetype) == (200, "image/png")
    assert [(r.text, r.ec_level) for r in decode(response.data)] == [(scan_url(world["enterprise"]), "Q")]


def test_the_svg_route_serves_the_single_path_svg(client, world):
    login(client, "admin")
    response = client.get(f"/admin/enterprises/{world['enterprise']['id']}/qr.svg")
    assert (response.status_code, response.mimetype) == (200, "image/svg+xml")
    assert response.get_data(as_text=True) == qr.svg(scan_url(world["enterprise"]))


def test_a_firm_user_can_print_its_own_poster(client, world):
    login(client, "firm1")
    response = client.get(f"/admin/enterprises/{world['enterprise']['id']}/poster")
    assert response.status_code == 200
    assert world["enterprise"]["usci"] in response.get_data(as_text=True)


@pytest.mark.parametrize("username", ["other_firm", "ann", "super"])
@pytest.mark.parametrize("path", ["poster", "qr.png", "qr.svg"])
def test_a_poster_not_yours_is_not_found(client, store, world, username, path):
    other = add_enterprise(store, name="别家企业有限公司")
    add_user(store, "other_firm", "firm", usci_code=other["usci"])
    login(client, username)
    response = client.get(f"/admin/enterprises/{world['enterprise']['id']}/{path}")
    assert response.status_code == 404
    assert world["enterprise"]["usci"] not in response.get_data(as_text=True)


@pytest.mark.parametrize("enterprise_id", [999, 2**62, 2**70])
def test_a_poster_of_no_enterprise_is_not_found(client, world, enterprise_id):
    login(client, "admin")
    assert client.get(f"/admin/enterprises/{enterprise_id}/poster").status_code == 404


def test_an_anonymous_visitor_is_sent_to_log_in(client, world):
    response = client.get(f"/admin/enterprises/{world['enterprise']['id']}/poster")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


# ---- rotating the token ---------------------------------------------------------------------------

def test_a_rotated_code_answers_replaced_and_the_new_one_works(client, store, world):
    enterprise = world["enterprise"]
    old = enterprise["qr_token"]
    new = enterprises.rotate_qr_token(store, enterprise["id"])
    assert new != old and len(new) >= 22

    replaced = client.get(f"/q/{old}", headers={"Accept-Language": "en"})
    assert replaced.status_code == 410
    page = replaced.get_data(as_text=True)
    assert "replaced" in page and enterprise["name"] in page

    current = client.get(f"/q/{new}", headers={"Accept-Language": "en"})
    assert current.status_code == 200
    assert enterprise["name"] in current.get_data(as_text=True)
    assert "replaced" not in current.get_data(as_text=True)
    assert rows(store, "SELECT qr_token, enterprise_id FROM replaced_qr_tokens") == [
        {"qr_token": old, "enterprise_id": enterprise["id"]}]


def test_the_poster_after_rotation_carries_the_new_code(client, store, world):
    new = enterprises.rotate_qr_token(store, world["enterprise"]["id"])
    login(client, "admin")
    response = client.get(f"/admin/enterprises/{world['enterprise']['id']}/qr.png")
    assert [r.text for r in decode(response.data)] == [f"{BASE_URL}/q/{new}"]


def test_rotating_twice_retires_both_older_codes(client, store, world):
    first = world["enterprise"]["qr_token"]
    second = enterprises.rotate_qr_token(store, world["enterprise"]["id"])
    third = enterprises.rotate_qr_token(store, world["enterprise"]["id"])
    assert [client.get(f"/q/{token}").status_code for token in (first, second, third)] == [410, 410, 200]


def test_an_unknown_code_is_not_found(client, world):
    response = client.get("/q/NoSuchTokenAtAllNoSuch")
    assert response.status_code == 404
    assert world["enterprise"]["name"] not in response.get_data(as_text=True)
