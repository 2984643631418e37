"""The session's one tab (conftest `page`) is handed to each test as a newly opened one: nothing
the test before left in it (cookies, stored site data, size, other tabs) reaches the next."""

from tests.e2e.conftest import PHONE, VIEWPORT, wait_for_app

LEFT = "left-by-the-test-before"


def test_a_test_leaves_cookies_site_data_a_size_and_a_second_tab(app_server, page):
    page.goto(app_server.url)
    wait_for_app(page)
    page.evaluate(f"localStorage.setItem('{LEFT}', '1'); sessionStorage.setItem('{LEFT}', '1')")
    page.context.add_cookies([{"name": LEFT, "value": "1", "url": app_server.url}])
    page.set_viewport_size(PHONE)
    page.context.new_page()


def test_the_next_test_finds_none_of_it(app_server, page):
    assert page.url == "about:blank" and page.context.pages == [page]
    assert page.context.cookies() == [] and page.viewport_size == VIEWPORT
    page.goto(app_server.url)
    wait_for_app(page)
    assert page.evaluate(f"[localStorage.getItem('{LEFT}'), sessionStorage.getItem('{LEFT}')]") == [None, None]
