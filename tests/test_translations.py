"""Every user-facing string exists in Spanish and English."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


def catalog(lang):
    with open(ROOT / "app" / "translations" / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=lang)


def source_strings() -> set[str]:
    method_map = [
        ("app/**.py", "python"),
        ("app/templates/**.html", "jinja2"),
        ("app/templates/**.txt", "jinja2"),
    ]
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=method_map, keywords=KEYWORDS
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_source_string_has_a_spanish_translation():
    spanish = catalog("es")
    missing = sorted(s for s in source_strings() if s not in spanish or not spanish[s].string)
    assert not missing, f"untranslated (run `make messages`, then edit es/messages.po): {missing}"


def test_no_spanish_translation_is_fuzzy():
    fuzzy = [m.id for m in catalog("es") if m.id and m.fuzzy]
    assert not fuzzy


def test_placeholders_survive_translation():
    import re

    def placeholders(text):
        return set(re.findall(r"%\(\w+\)[sd]", text))

    for message in catalog("es"):
        if not message.id or not message.string:
            continue
        source = message.id[0] if isinstance(message.id, tuple) else message.id
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        for form in forms:
            assert placeholders(form) == placeholders(source), source


def test_the_english_catalog_exists():
    assert len(catalog("en")) > 0


def test_every_plural_form_is_translated():
    for message in catalog("es"):
        if message.id and isinstance(message.id, tuple):
            assert all(message.string), f"{message.id[0]!r} lacks a plural form: {message.string}"
