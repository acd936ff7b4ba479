"""The status page in a real browser: ``airflow standalone`` with this repo's plugins, headless
Chromium driven through chromedriver (W3C WebDriver over HTTP, no extra package).

The test logs in through Airflow's own login page (the plugin sends a browser without a session
there), reads the table and figures as Chromium renders them, uses the form, opens a receipt,
and finds the page in the Airflow UI's nav. Chromium comes from Debian
(``scripts/ensure-chromium.sh``); without it the test is skipped, or fails when CI=true.
Set BAOCAO_STATUS_SCREENSHOT=/path.png to keep a screenshot of the page.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from support import HEALTH_TIMEOUT, ROOT, free_port, stop_process_tree, wait_for
from test_status_page import PAGE_TEXT, PERIOD, expected_statuses, seed_warehouse

# airflow standalone's start (minutes on a loaded machine) counts in the test's time
pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.timeout(900)]
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


class WebDriverError(RuntimeError):
    pass


def _wait(what: str, check, timeout: float, every: float = 0.5):
    return wait_for(what, check, timeout, every, errors=(WebDriverError,))


class Browser:
    """The few W3C WebDriver commands the test needs."""

    def __init__(self, driver_url: str) -> None:
        self.http = httpx.Client(base_url=driver_url, timeout=60)
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1000", "--lang=vi-VN"]}}}}
        self.session = self._call("POST", "/session", caps)["sessionId"]

    def _call(self, method: str, path: str, body: dict | None = None):
        r = self.http.request(method, path, json=body)
        value = r.json().get("value")
        if r.status_code >= 400:
            raise WebDriverError(f"{method} {path}: {value}")
        return value

    def cmd(self, method: str, path: str, body: dict | None = None):
        return self._call(method, f"/session/{self.session}{path}", body)

    def go(self, url: str) -> None:
        self.cmd("POST", "/url", {"url": url})

    @property
    def url(self) -> str:
        return self.cmd("GET", "/url")

    def js(self, script: str, *args):
        return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find(self, css: str) -> dict:
        return self.cmd("POST", "/element", {"using": "css selector", "value": css})

    def click(self, element: dict) -> None:
        self.cmd("POST", f"/element/{_ref(element)}/click", {})

    def type(self, element: dict, text: str) -> None:
        self.cmd("POST", f"/element/{_ref(element)}/value", {"text": text})

    def frame(self, element: dict | None) -> None:
        self.cmd("POST", "/frame", {"id": element})

    def screenshot(self) -> bytes:
        return base64.b64decode(self.cmd("GET", "/screenshot"))

    def quit(self) -> None:
        try:
            self.cmd("DELETE", "")
        finally:
            self.http.close()


def _ref(element: dict) -> str:
    return next(iter(element.values()))


@pytest.fixture(scope="module")
def chromium():
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        message = f"{CHROMIUM} and {CHROMEDRIVER} are needed: run scripts/ensure-chromium.sh"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="module")
def seeded(programme, tmp_path_factory):
    base = tmp_path_factory.mktemp("status-browser")
    url, bucket = f"sqlite:///{base / 'wh.sqlite'}", f"file://{base / 'bucket'}"
    return url, bucket, seed_warehouse(programme, url, bucket)


@pytest.fixture(scope="module")
def airflow(seeded, tmp_path_factory):
    """``airflow standalone`` on a free port with its own home; (base URL, admin password)."""
    url, bucket, _roles = seeded
    home = tmp_path_factory.mktemp("standalone")
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "BAOCAO_"))}
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "GX_ANALYTICS_ENABLED": "False",
        "BAOCAO_WAREHOUSE_URL": url,
        "BAOCAO_BUCKET_URL": bucket,
        "BAOCAO_OUTBOX_URL": f"file://{home / 'outbox'}",
    })
    venv_bin = Path(sys.executable).parent  # standalone starts its parts as `airflow ...`
    env["PATH"] = f"{venv_bin}{os.pathsep}{env.get('PATH', '')}"
    log = (home / "standalone.log").open("wb")
    started = time.monotonic()
    proc = subprocess.Popen([str(venv_bin / "airflow"), "standalone"], env=env, cwd=home,
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        def healthy():
            output = (home / "standalone.log").read_text(errors="replace")
            if proc.poll() is not None or "Exception in thread api-server" in output:
                raise AssertionError(f"airflow standalone failed:\n{output[-3000:]}")
            r = httpx.get(f"{base}/api/v2/monitor/health", timeout=5)
            return r.status_code == 200

        _wait("/api/v2/monitor/health", healthy, HEALTH_TIMEOUT, every=1)
        print(f"airflow standalone healthy after {time.monotonic() - started:.1f} s")
        passwords = home / "simple_auth_manager_passwords.json.generated"
        password = _wait("the generated admin password", lambda: json.loads(
            passwords.read_text())["admin"], 30)
        yield base, password
    finally:
        stop_started = time.monotonic()
        stop_process_tree(proc, grace=30)
        log.close()
        print(f"airflow standalone stopped in {time.monotonic() - stop_started:.1f} s")


@pytest.fixture(scope="module")
def browser(chromium, tmp_path_factory):
    port = free_port()
    logs = tmp_path_factory.mktemp("chromedriver")
    driver = subprocess.Popen([CHROMEDRIVER, f"--port={port}", f"--log-path={logs / 'log'}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        _wait("chromedriver", lambda: httpx.get(f"http://127.0.0.1:{port}/status")
              .json()["value"]["ready"], 30)
        b = Browser(f"http://127.0.0.1:{port}")
        try:
            yield b
        finally:
            b.quit()
    finally:
        stop_process_tree(driver, grace=10)


ROWS_JS = """return Array.from(document.querySelectorAll('#units tbody tr')).map(tr =>
  [tr.dataset.unit, tr.dataset.status, tr.cells[4].innerText.trim(),
   tr.cells[5].innerText.trim()]);"""
FIGURES_JS = """return Object.fromEntries(Array.from(document.querySelectorAll('#figures li'))
  .map(li => [li.dataset.figure, li.querySelector('.n').innerText.trim()]));"""


def test_status_page_in_chromium(airflow, browser, seeded, programme):
    base, password = airflow
    _url, _bucket, roles = seeded
    page = f"{base}/baocao/status?programme=lang-son&period={PERIOD}"

    # without a session the plugin sends the browser to Airflow's login page, and back
    browser.go(page)
    _wait("the login page", lambda: "/auth/login" in browser.url, 30)
    _wait("the login form", lambda: browser.find("input[name=username]"), 30)
    browser.type(browser.find("input[name=username]"), "admin")
    browser.type(browser.find("input[name=password]"), password)
    browser.click(browser.find("button[type=submit]"))
    _wait("the status page after login", lambda: browser.url.startswith(f"{base}/baocao/status")
          and browser.js("return document.querySelectorAll('#units tbody tr').length"), 30)

    rows = browser.js(ROWS_JS)
    want = expected_statuses(programme, roles)
    assert [r[0] for r in rows] == list(want)
    assert {r[0]: r[1] for r in rows} == want
    assert {r[0]: r[2] for r in rows} == {c: PAGE_TEXT[s] for c, s in want.items()}
    received = {r[0]: r[3] for r in rows}
    assert received[roles["late"]] == "21/06/2026 10:00"
    assert received[roles["on_time"]] == "18/06/2026 09:00"
    expected = len(want)
    figures = browser.js(FIGURES_JS)
    assert {k: figures[k] for k in ("expected", "received", "on_time", "late", "missing")} == {
        "expected": str(expected), "received": "3", "on_time": "2", "late": "1",
        "missing": str(expected - 3)}
    assert figures["completeness"] == f"{300 / expected:.1f}".replace(".", ",") + "%"
    text = browser.js("return document.body.innerText")
    assert "Tình hình gửi báo cáo của các đơn vị" in text and "<img" in text  # shown as text
    browser.js("document.querySelector(`tr[data-unit='${arguments[0]}']`)"
               ".scrollIntoView({block: 'center'})", roles["late"])
    _screenshot(browser, "")

    # the last receipt of the rejected unit opens from its row (among the first: problems
    # come first; scrolled clear of the sticky header)
    link = browser.find(f"tr[data-unit='{roles['rejected']}'] a")
    browser.js("arguments[0].scrollIntoView({block: 'center'})", link)
    browser.click(link)
    _wait("the receipt", lambda: "/baocao/receipts/" in browser.url, 30)
    assert "BỊ TỪ CHỐI" in browser.js("return document.body.innerText")

    # the form: another period of the same programme (nobody has reported for it)
    browser.go(page)
    browser.click(browser.find("#period option[value='2026-Y']"))
    browser.click(browser.find("form button[type=submit]"))
    _wait("the 2026-Y page", lambda: "period=2026-Y" in browser.url, 30)
    rows = browser.js(ROWS_JS)
    assert len(rows) == len(programme.expected_units(programme.period("2026-Y")))
    assert {r[2] for r in rows} == {"Chưa nộp"}

    # the Airflow UI lists the page in its nav and shows it in a frame
    browser.go(f"{base}/")
    nav = _wait("the nav entry", lambda: browser.find("a[href$='plugin/baocao-status']"), 60)
    assert browser.js("return arguments[0].getAttribute('aria-label')", nav) == "Báo cáo"
    assert browser.js("return arguments[0].innerText", nav).strip() == "Báo cáo"
    # shown whole: no element of the nav entry overflows (a cut label ends in "…")
    assert browser.js("return Array.from(arguments[0].querySelectorAll('*')).every("
                      "e => e.scrollWidth <= e.clientWidth + 1)", nav)
    browser.click(nav)
    frame = _wait("the plugin frame", lambda: browser.find("iframe[src*='baocao/status']"), 60)
    browser.frame(frame)
    try:
        framed = _wait("the table in the frame", lambda: browser.js(ROWS_JS), 30)
        period = browser.js("return document.querySelector('#period option[selected]').value")
        assert len(framed) == len(programme.expected_units(programme.period(period)))
    finally:
        browser.frame(None)
    _screenshot(browser, "-airflow-ui")


def _screenshot(browser: Browser, suffix: str) -> None:
    """Check a screenshot can be taken; keep it if BAOCAO_STATUS_SCREENSHOT names a file."""
    shot = browser.screenshot()
    assert shot.startswith(b"\x89PNG")
    if target := os.environ.get("BAOCAO_STATUS_SCREENSHOT"):
        path = Path(target)
        path.with_name(f"{path.stem}{suffix}{path.suffix}").write_bytes(shot)

