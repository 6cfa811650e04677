"""The real thing in Chromium: pages render, switch language, work by keyboard, pass axe-core."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.clock(tick=True)]


@pytest.fixture
def site(seeded, live_server):
    return live_server.url


def test_home_page_in_spanish_without_console_errors(page, site):
    page.goto(site + "/")
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.get_by_role("heading", level=1).inner_text() == "Servicios de gobierno sin hacer fila"
    assert page.get_by_role("link", name="Certificación de individuo").is_visible()
    assert page.errors == []


def test_language_switcher_changes_and_remembers_english(page, site):
    page.goto(site + "/agencies/dtop")
    page.get_by_role("link", name="English").click()
    page.wait_for_url(site + "/agencies/dtop")
    assert page.locator("html").get_attribute("lang") == "en"
    page.goto(site + "/")
    assert page.get_by_role("heading", level=1).inner_text() == "Government services without the line"
    assert page.errors == []


def test_english_browser_gets_english(browser, site):
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.goto(site + "/")
    assert page.locator("html").get_attribute("lang") == "en"
    context.close()


def test_skip_link_is_the_first_stop_for_the_keyboard(page, site):
    page.goto(site + "/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Saltar al contenido principal"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main-content"


def test_staff_can_log_in_with_the_keyboard_only(page, site, seeded):
    page.goto(site + "/staff/login")
    page.get_by_label("Correo electrónico").focus()
    page.keyboard.type("clerk@dtop.demo.ventanilla.pr")
    page.keyboard.press("Tab")
    page.keyboard.type(seeded["clerk@dtop.demo.ventanilla.pr"])
    page.keyboard.press("Enter")
    page.wait_for_url(site + "/staff/")
    assert page.get_by_role("heading", level=1).inner_text() == "Agenda de hoy"
    assert page.errors == []


def test_menu_works_on_a_phone(phone_page, site):
    phone_page.goto(site + "/")
    menu = phone_page.get_by_role("button", name="Menú")
    assert menu.is_visible()
    menu.click()
    assert phone_page.get_by_role("link", name="English").is_visible()
    assert phone_page.errors == []


@pytest.mark.parametrize(
    "path", ["/", "/agencies/dtop", "/services/certificaciones-vehiculos", "/staff/login", "/no-such-page"]
)
@pytest.mark.parametrize("viewport", [(1280, 900), (375, 740)])
def test_pages_have_no_serious_accessibility_violations(browser, site, axe, path, viewport):
    context = browser.new_context(locale="es-PR", viewport={"width": viewport[0], "height": viewport[1]})
    page = context.new_page()
    page.goto(site + path)
    violations = axe(page)
    context.close()
    assert violations == []


def test_failed_login_page_is_accessible(page, site, axe):
    page.goto(site + "/staff/login")
    page.get_by_label("Correo electrónico").fill("nobody@example.com")
    page.get_by_label("Contraseña").fill("wrong")
    page.get_by_role("button", name="Iniciar sesión").click()
    assert page.get_by_role("alert").inner_text().strip() == "Correo electrónico o contraseña incorrectos."
    assert axe(page) == []
