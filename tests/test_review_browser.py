"""The review app in a real browser (Debian's headless chromium through chromedriver): sign in
as a supervisor, open a flagged call, click an utterance and see the audio position move,
highlight evidence, override an item, see the new score and the call marked reviewed.
Screenshots of the queue, the call page and the dashboard go to ``test-artifacts/``."""

from __future__ import annotations

import re
import shutil
import threading
import time
from pathlib import Path

import pytest
from ports import free_port
from review_fixtures import PASSWORD, build_store

from pipeline.config import Settings
from review.app import create_app

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium not installed")
if not (CHROMIUM and DRIVER):
    pytest.skip("Debian's chromium and chromium-driver are not installed",
                allow_module_level=True)

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


@pytest.fixture
def live_app(settings: Settings):
    import uvicorn

    store = build_store(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, store, host="127.0.0.1"),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", store
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1400,1100", "--autoplay-policy=no-user-gesture-required",
                 "--mute-audio"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=DRIVER),
                              options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _shot(driver, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1400, min(max(height + 40, 900), 4000))
    driver.save_screenshot(str(ARTIFACTS / name))
    driver.set_window_size(1400, 1100)


def test_supervisor_reviews_a_flagged_call_in_the_browser(live_app, browser) -> None:
    base, _store = live_app
    wait = WebDriverWait(browser, 15)
    browser.get(f"{base}/queue")
    assert "/login" in browser.current_url  # not signed in yet
    browser.find_element(By.NAME, "username").send_keys("sup1")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form.login button").click()
    wait.until(lambda d: d.current_url.startswith(f"{base}/queue"))
    links = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "table.queue a")]
    assert "zh-forbidden-phrase" in links and "zh-model-call" not in links  # team t1 only
    _shot(browser, "queue.png")

    browser.find_element(By.LINK_TEXT, "zh-forbidden-phrase").click()
    wait.until(lambda d: d.find_elements(By.ID, "player"))
    wait.until(lambda d: d.execute_script(
        "return document.getElementById('player').readyState") >= 1)
    turns = [t for t in browser.find_elements(By.CSS_SELECTOR, ".turn[data-start]")
             if float(t.get_attribute("data-start") or 0) > 5]
    target = turns[len(turns) // 2]
    start = float(target.get_attribute("data-start"))
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", target)
    target.click()
    wait.until(lambda d: abs(d.execute_script(
        "return document.getElementById('player').currentTime") - start) < 1.5)
    browser.execute_script("document.getElementById('player').pause()")

    evidence = browser.find_elements(By.CSS_SELECTOR, "button.evidence")
    assert evidence, "no evidence to highlight"
    browser.execute_script("arguments[0].click()", evidence[0])
    wanted = evidence[0].get_attribute("data-turns").split(",")
    lit = [t.get_attribute("data-idx") for t in
           browser.find_elements(By.CSS_SELECTOR, ".turn.highlight")]
    assert set(lit) == set(wanted)

    before = browser.find_element(By.ID, "qa-score").text
    failed = [row for row in browser.find_elements(By.CSS_SELECTOR, "tr.item")
              if row.find_element(By.CSS_SELECTOR, ".outcome").text == "fail"
              and row.find_elements(By.TAG_NAME, "select")]
    assert failed, "the flagged (fatal) call has no failed item to override"
    failed.sort(key=lambda row: not row.find_elements(By.CSS_SELECTOR, ".tag.fatal"))
    Select(failed[0].find_element(By.TAG_NAME, "select")).select_by_value("pass")
    browser.find_element(By.NAME, "comment").send_keys("the agent did this; ASR missed it")
    browser.find_element(By.ID, "save-review").click()
    wait.until(lambda d: d.find_elements(By.ID, "reviewed-badge"))
    after = browser.find_element(By.ID, "qa-score").text
    assert float(after) > float(before)
    assert browser.find_element(By.ID, "ai-score").text == before  # the AI's answer is kept
    assert "reviewed by sup1" in browser.find_element(By.ID, "reviewed-badge").text
    _shot(browser, "call.png")

    browser.get(f"{base}/queue?reviewed=yes")
    assert "zh-forbidden-phrase" in browser.page_source
    browser.get(f"{base}/dashboard?date=2026-11-20")
    assert re.search(r"Top 3 problem areas", browser.page_source)
    _shot(browser, "dashboard.png")
