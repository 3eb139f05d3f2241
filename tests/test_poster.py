"""`vertrouwd poster`: an A4 SVG with the organisation, what the adviser is for, the web
chat's address and a QR code of it, in one language or two."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import segno

from bot.texts.catalog import Texts
from tests.conftest import run_cli, write_config

SVG = "{http://www.w3.org/2000/svg}"
URL = "https://praat.voorbeeldstad.nl"


def poster(tmp_path: Path, *args: str, web: str = f'public_url = "{URL}"\n'):
    config = write_config(
        tmp_path, f'[organisation]\nname = "Gemeente Voorbeeldstad"\n[web]\nenabled = true\n{web}'
    )
    out = tmp_path / "poster.svg"
    result = run_cli(["poster", "--config", str(config), "--out", str(out), *args])
    return result, out


def words(root: ET.Element) -> str:
    return " ".join(" ".join(t.itertext()) for t in root.iter(f"{SVG}text"))


def test_a_two_language_poster_has_the_name_both_texts_the_url_and_its_qr_code(
    tmp_path: Path, en: Texts, nl: Texts
):
    result, out = poster(tmp_path, "--lang", "nl,en")
    assert result.returncode == 0, result.stderr
    root = ET.fromstring(out.read_text())
    assert (root.get("width"), root.get("height")) == ("210mm", "297mm")
    text = " ".join(words(root).split())
    assert "Gemeente Voorbeeldstad" in text and URL in text
    for t in (nl, en):
        for key in ("web.poster_title", "web.poster_what", "web.poster_how"):
            assert " ".join(t(key).split()) in text, key
    # The QR code is the one for the URL (and for nothing else).
    [path] = [p for p in root.iter(f"{SVG}path")]
    expected = segno.make(URL, error="m").svg_inline(scale=1, border=0, omitsize=True)
    assert f'd="{path.get("d")}"' in expected
    assert f'd="{path.get("d")}"' not in segno.make(URL + "x", error="m").svg_inline(
        scale=1, border=0, omitsize=True
    )


def test_the_default_poster_is_in_the_default_language(tmp_path: Path, en: Texts, nl: Texts):
    result, out = poster(tmp_path)
    assert result.returncode == 0, result.stderr
    text = " ".join(words(ET.fromstring(out.read_text())).split())
    assert " ".join(nl("web.poster_what").split()) in text
    assert " ".join(en("web.poster_what").split()) not in text


def test_without_a_public_url_the_poster_says_what_is_missing(tmp_path: Path):
    result, out = poster(tmp_path, web="")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "web.public_url" in result.stderr
    assert not out.exists()


def test_the_poster_offers_112_and_the_adviser_s_own_phone(tmp_path: Path):
    config = write_config(
        tmp_path,
        '[web]\nenabled = true\npublic_url = "https://praat.example.nl"\n'
        '[[advisers]]\nid = "eva"\nname = "Eva"\nphone = "030 123 45 67"\n',
    )
    out = tmp_path / "poster.svg"
    result = run_cli(["poster", "--config", str(config), "--out", str(out)])
    assert result.returncode == 0, result.stderr
    text = " ".join(words(ET.fromstring(out.read_text())).split())
    assert "Liever bellen of mailen? Eva: 030 123 45 67" in text
    assert "In nood? Bel 112." in text
