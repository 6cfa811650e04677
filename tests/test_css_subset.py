"""The pages load only the USWDS rules they use (issue 10, item 20): scripts/vendor-assets.sh builds
the subset with PurgeCSS (scripts/purgecss.config.cjs). Every USWDS class that a template, a
browser module or the Python code writes must still be in the stylesheet the app serves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.apps import demo_app

ROOT = Path(__file__).resolve().parent.parent
FULL_CSS = ROOT / "node_modules/@uswds/uswds/dist/css/uswds.min.css"
SERVED_CSS = ROOT / "app/static/vendor/uswds/css/uswds.min.css"

CLASS_ATTRIBUTE = re.compile(r'\bclass="((?:\{\{.*?\}\}|\{%.*?%\}|[^"{])*)"', re.S)
JINJA_OUTPUT = re.compile(r"(\S*)\{\{(.*?)\}\}(\S*)", re.S)
JINJA_TAG = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.S)
STRING_LITERAL = re.compile(r"'([^']*)'|\"([^\"]*)\"")
# Class names the browser modules set: className = "…", classList.add("…", "…"), ".usa-…" selectors.
JS_CLASS_STRINGS = re.compile(r"(?:className\s*=\s*|classList\.\w+\(|querySelector(?:All)?\()([^;]*)")
# What uswds.min.js sets on the header's mobile menu (the only USWDS component with JavaScript here).
ADDED_BY_USWDS_JS = {"usa-js-mobile-nav--active", "is-visible"}
# Attributes and elements that USWDS styles and no page of ours has: rules that need them may go.
NOT_IN_OUR_MARKUP = (
    "aria-disabled",
    "data-indeterminate",
    "data-sortable",
    "data-sort-active",
    "aria-sort",
    "[multiple]",
    "tfoot",
)
CSS_CLASS = re.compile(r"\.((?:[A-Za-z_-]|\\.)(?:[A-Za-z0-9_-]|\\.)*)")


def css_classes(css: str) -> set[str]:
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    css = re.sub(r"url\([^)]*\)", "", css)  # "../img/x.svg" is not a class
    return {re.sub(r"\\(.)", r"\1", name) for name in CSS_CLASS.findall(css)}


def selectors(css: str) -> set[str]:
    """Every selector of every rule (inside @media too), as written in the minified file."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    found = set()
    for prelude in re.findall(r"([^{}]+)\{", css):
        if not prelude.lstrip().startswith("@"):
            found.update(part.strip() for part in prelude.split(","))
    return found


def classes_in_attribute(value: str) -> set[str]:
    """The classes an attribute can hold: literal words, and a word glued to a Jinja expression
    (usa-alert--{{ 'error' if … else 'info' }}) once for each string literal in the expression."""
    value = JINJA_TAG.sub(" ", value)
    found: set[str] = set()
    for prefix, expression, suffix in JINJA_OUTPUT.findall(value):
        for single, double in STRING_LITERAL.findall(expression):
            found.add(prefix + (single or double) + suffix)
    found.update(JINJA_OUTPUT.sub(" ", value).split())
    return found


def template_classes() -> dict[str, set[str]]:
    used: dict[str, set[str]] = {}
    for path in sorted((ROOT / "app/templates").rglob("*.html")):
        for value in CLASS_ATTRIBUTE.findall(path.read_text()):
            for name in classes_in_attribute(value):
                used.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return used


def script_classes() -> dict[str, set[str]]:
    used: dict[str, set[str]] = {}
    for path in sorted((ROOT / "app/static/js").rglob("*.js")):
        for arguments in JS_CLASS_STRINGS.findall(path.read_text()):
            for single, double in STRING_LITERAL.findall(arguments):
                for word in re.split(r"[\s,]+", single or double):
                    name = word.lstrip(".").split(":")[0] if word.startswith(".") else word
                    if name:
                        used.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return used


@pytest.fixture(scope="module")
def full_css() -> str:
    if not FULL_CSS.exists():
        pytest.fail("node_modules is missing: run `make assets` (npm ci, then scripts/vendor-assets.sh)")
    return FULL_CSS.read_text()


@pytest.fixture(scope="module")
def served_css(tmp_path_factory, demo_database) -> str:
    """The USWDS stylesheet exactly as the home page links it and the app serves it."""
    app = demo_app(tmp_path_factory.mktemp("css"), demo_database)
    client = app.test_client()
    home = client.get("/").get_data(as_text=True)
    url = re.search(r'href="(/static/vendor/uswds/css/uswds\.min\.css\?v=[0-9a-f]+)"', home).group(1)
    response = client.get(url, headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_class_parser_sees_the_classes_chosen_in_jinja():
    value = (
        "usa-alert usa-alert--{{ 'warning' if x != 'completed' else 'success' }}"
        "{% if y %} usa-alert--slim{% endif %}"
    )
    assert classes_in_attribute(value) >= {
        "usa-alert",
        "usa-alert--warning",
        "usa-alert--success",
        "usa-alert--slim",
    }
    assert {"tablet:grid-col-6", "usa-button"} <= css_classes(r".tablet\:grid-col-6{x:1}.usa-button{y:2}")


def test_every_rule_for_the_classes_the_templates_and_scripts_use_is_served(full_css, served_css):
    """A rule of the full stylesheet all of whose classes some template or script uses (or USWDS's
    JavaScript adds) is in the served one. (A rule such as `.usa-footer--slim .usa-footer__logo`
    goes: nothing has the logo, so it could never apply.)"""
    templates, scripts = template_classes(), script_classes()
    assert {"usa-button", "usa-alert--warning", "desktop:grid-col-4", "margin-y-3"} <= set(templates)
    assert {"usa-alert--warning", "usa-input--error", "usa-form-group--error"} <= set(scripts)
    used = set(templates) | set(scripts) | ADDED_BY_USWDS_JS
    served = selectors(served_css)
    applicable = {
        s
        for s in selectors(full_css)
        if css_classes(s) and css_classes(s) <= used and not any(word in s for word in NOT_IN_OUR_MARKUP)
    }
    assert len(applicable) > 300
    missing = sorted(applicable - served)
    assert missing == [], f"rules for classes in use were purged: {missing[:20]}"


def test_every_uswds_class_in_use_that_a_rule_styles_is_served(full_css, served_css):
    used = set(template_classes()) | set(script_classes())
    styled = set().union(
        *(css_classes(s) for s in selectors(full_css) if css_classes(s) <= used | ADDED_BY_USWDS_JS)
    )
    assert used & styled <= css_classes(served_css)


def test_the_attributes_and_elements_whose_rules_may_go_are_in_no_template_or_script():
    for path in [*(ROOT / "app/templates").rglob("*.html"), *(ROOT / "app/static/js").rglob("*.js")]:
        source = path.read_text()
        for word in NOT_IN_OUR_MARKUP:
            assert word.strip("[]") not in source, f"{path} uses {word}: its USWDS rules are purged"


def test_classes_uswds_javascript_adds_are_kept(served_css):
    served = css_classes(served_css)
    assert ADDED_BY_USWDS_JS <= served


def test_the_served_stylesheet_is_a_small_part_of_the_full_one(served_css):
    assert len(served_css.encode()) < FULL_CSS.stat().st_size / 5
    assert "sourceMappingURL" not in served_css  # USWDS's map describes the full file
    assert "@font-face" in served_css and ".usa-button{" in served_css
