"""The page in a real browser: Debian's headless Chromium driven by Selenium through chromedriver (nothing downloads a
browser). Strokes are drawn with pointer events (mouse, pen, touch); the reading, #clear, undo, an upload, the
keyboard, a phone-sized screen and the browser console are checked, and screenshots are taken.

`scripts/services.sh` installs chromium and chromium-driver; without them these tests skip. The screenshots go to
$MNISTCLI_SCREENSHOTS when set (the README's come from `MNISTCLI_SCREENSHOTS=docs MNISTCLI_SERVE_RUN=<a cnn run>`),
else to a temporary folder. $MNISTCLI_SERVE_RUN serves that run instead of the session's tiny one.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

from serving import LiveServer, digit_png, serve_root, tiny_test_digits  # noqa: F401 - fixtures

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = [
    pytest.mark.skipif(
        not (CHROMIUM and CHROMEDRIVER),
        reason="no headless browser here: scripts/services.sh installs Debian's chromium and chromium-driver",
    ),
    pytest.mark.slow,
]
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.actions import interaction  # noqa: E402
from selenium.webdriver.common.actions.action_builder import ActionBuilder  # noqa: E402
from selenium.webdriver.common.actions.pointer_input import PointerInput  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

# Chromium as root on a machine without network: no sandbox, no GPU, and none of the calls home it makes at start.
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         "--disable-extensions", "--disable-default-apps", "--metrics-recording-only", "--mute-audio"]
DESKTOP = {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False}
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}

VERTICAL = [(0.5, 0.2 + 0.6 * i / 12) for i in range(13)]  # a "1" in the middle of the pad


def oval(cx: float, cy: float, rx: float = 0.09, ry: float = 0.3, n: int = 28) -> list[tuple[float, float]]:
    return [(cx + rx * math.sin(2 * math.pi * i / n), cy - ry * math.cos(2 * math.pi * i / n)) for i in range(n + 1)]


@pytest.fixture(scope="module")
def server(serve_root):
    run = os.environ.get("MNISTCLI_SERVE_RUN")
    live = LiveServer(serve_root, *(["--run", str(Path(run).resolve())] if run else []))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def browser():
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not look for drivers online
    profile = tempfile.mkdtemp(prefix="mnistcli-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", DESKTOP)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser, server):
    """The page, freshly loaded, with its runs listed; after the test, the console must hold no errors."""
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", DESKTOP)
    browser.get(server.url)
    WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#run option"))
    yield browser
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


def draw(driver, points, kind: str = "mouse", step_ms: int = 20) -> None:
    """One stroke through `points` (fractions of the pad's width and height), as real pointer events."""
    pad = driver.find_element(By.ID, "pad")
    width, height = pad.size["width"], pad.size["height"]
    pointer = PointerInput({"mouse": interaction.POINTER_MOUSE, "pen": interaction.POINTER_PEN,
                            "touch": interaction.POINTER_TOUCH}[kind], kind)
    actions = ActionBuilder(driver, mouse=pointer, duration=step_ms)

    def at(x: float, y: float) -> tuple[int, int]:  # offsets from the pad's centre
        return round((x - 0.5) * width), round((y - 0.5) * height)

    actions.pointer_action.move_to(pad, *at(*points[0])).pointer_down()
    for point in points[1:]:
        actions.pointer_action.move_to(pad, *at(*point))
    actions.pointer_action.pointer_up()
    actions.perform()


def reading(driver, timeout: float = 20) -> str:
    """The number #result shows once no reading is pending ("" when it shows none)."""
    result = driver.find_element(By.ID, "result")
    WebDriverWait(driver, timeout).until(lambda d: result.get_attribute("data-pending") == "false")
    return result.get_attribute("data-number") or ""


def ink_on_pad(driver) -> int:
    return driver.execute_script(
        "const p = document.getElementById('pad');"
        "const d = p.getContext('2d').getImageData(0, 0, p.width, p.height).data;"
        "let n = 0; for (let i = 0; i < d.length; i += 4) n += d[i] > 128; return n;"
    )


def screenshot(driver, name: str, tmp_path_factory) -> Path:
    """A screenshot, made small (a palette PNG), in $MNISTCLI_SCREENSHOTS or a temporary folder."""
    folder = Path(os.environ.get("MNISTCLI_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    driver.save_screenshot(str(path))
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(path, optimize=True)
    return path


def test_the_page_lists_the_runs_and_says_which_reads(page, server):
    options = page.find_elements(By.CSS_SELECTOR, "#run option")
    health = json.loads(urllib.request.urlopen(server.url + "api/health", timeout=30).read())
    assert page.find_element(By.ID, "run").get_attribute("value") == health["run"]
    assert len(options) >= 1
    info = page.find_element(By.ID, "run-info").text
    assert "trained on mnist" in info and "test accuracy" in info, info
    assert page.find_element(By.ID, "result").get_attribute("data-state") == "empty"
    assert page.find_element(By.ID, "undo").get_attribute("disabled") and page.find_element(By.ID, "clear").get_attribute("disabled")


def test_a_vertical_stroke_reads_1_and_clear_empties_the_pad(page):
    draw(page, VERTICAL)
    assert reading(page) == "1"
    result = page.find_element(By.ID, "result")
    assert result.find_element(By.ID, "number").text == "1"
    assert len(result.find_elements(By.CSS_SELECTOR, ".bars dt")) == 10  # a probability bar per class
    assert len(result.find_elements(By.CSS_SELECTOR, ".digit canvas")) == 1  # the 28x28 input the model saw
    assert ink_on_pad(page) > 0
    page.find_element(By.ID, "clear").click()
    assert reading(page) == "" and result.get_attribute("data-state") == "empty"
    assert ink_on_pad(page) == 0
    assert "Draw on the pad" in result.text


def test_the_reading_is_live_but_no_request_storm(page):
    """A slow 3-second stroke: readings come while it is drawn, a few a second at most, never one per move."""
    points = [(0.5 + 0.3 * math.sin(i / 12), 0.2 + 0.6 * i / 100) for i in range(101)]
    started = time.monotonic()
    draw(page, points, step_ms=30)
    drawing = time.monotonic() - started
    reading(page)
    asked = page.execute_script(
        "return performance.getEntriesByType('resource').filter(e => e.name.includes('/api/predict')).length")
    assert drawing > 2.5, drawing
    assert 3 <= asked <= drawing / 0.45 + 2, (asked, drawing)  # live: MAX_WAIT_MS; no storm: one in flight


def test_undo_takes_back_the_last_stroke(page):
    draw(page, VERTICAL, kind="pen")
    assert reading(page) == "1"
    draw(page, [(0.2, 0.5), (0.8, 0.5)])  # a stray line across
    reading(page)
    page.find_element(By.ID, "undo").click()
    assert reading(page) == "1"
    page.find_element(By.ID, "undo").click()
    assert reading(page) == "" and ink_on_pad(page) == 0


def test_a_1_and_a_0_side_by_side_read_10(page, server):
    draw(page, [(0.3, 0.2 + 0.6 * i / 12) for i in range(13)], kind="pen")
    assert reading(page) == "1"
    draw(page, oval(0.62, 0.5), kind="touch")
    assert reading(page) == "10"
    assert len(page.find_elements(By.CSS_SELECTOR, "#result .digit")) == 2


def test_an_uploaded_image_is_read(page, tiny_test_digits, tmp_path):
    images, labels = tiny_test_digits
    path = tmp_path / "my digit.png"
    path.write_bytes(digit_png(images[0], size=200))
    draw(page, VERTICAL)
    reading(page)
    page.find_element(By.ID, "file").send_keys(str(path))
    assert reading(page) == str(labels[0])
    assert "read from my digit.png" in page.find_element(By.ID, "result").text
    assert ink_on_pad(page) == 0  # the upload replaced the drawing


def test_an_upload_that_is_not_an_image_says_so(browser, server, tmp_path):
    browser.get(server.url)
    WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#run option"))
    path = tmp_path / "notes.png"
    path.write_text("not a picture")
    browser.find_element(By.ID, "file").send_keys(str(path))
    reading(browser)
    result = browser.find_element(By.ID, "result")
    assert result.get_attribute("data-state") == "error"
    assert "notes.png: not an image" in result.find_element(By.CSS_SELECTOR, "[role=alert]").text
    logged = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert all("status of 422" in m for m in logged), logged  # the refused upload, and nothing else


def press(driver, *keys: str) -> None:
    """Keys pressed on whatever has the focus (an element's send_keys would type a path into a file input)."""
    chain = ActionChains(driver)
    for key in keys[:-1]:
        chain.key_down(key)
    chain.send_keys(keys[-1])
    for key in reversed(keys[:-1]):
        chain.key_up(key)
    chain.perform()


def tab_order(driver, start: str, steps: int) -> list[str]:
    """The controls Tab moves through from #start: their ids (or tag names)."""
    driver.execute_script("document.getElementById(arguments[0]).focus()", start)
    seen = []
    for _ in range(steps):
        press(driver, Keys.TAB)
        active = driver.switch_to.active_element
        seen.append(active.get_attribute("id") or active.tag_name)
    return seen


def test_the_controls_work_from_the_keyboard(page):
    for control in ("run", "undo", "clear", "file"):
        labelled = page.find_elements(By.CSS_SELECTOR, f"label[for={control}]") or page.find_element(By.ID, control).text
        assert labelled, f"#{control} has no label"
    assert tab_order(page, "run", 2) == ["file", "a"]  # nothing drawn: Undo and Clear are disabled, skipped
    draw(page, VERTICAL)
    draw(page, [(0.2, 0.5), (0.8, 0.5)])
    reading(page)
    assert tab_order(page, "run", 3) == ["undo", "clear", "file"]
    press(page, Keys.CONTROL, "z")  # undo the stray line from the keyboard
    assert reading(page) == "1"
    press(page, Keys.ESCAPE)  # Esc clears
    assert reading(page) == "" and ink_on_pad(page) == 0
    draw(page, VERTICAL)
    reading(page)
    tab_order(page, "undo", 1)
    press(page, Keys.ENTER)  # the Clear button, pressed with Enter
    assert reading(page) == "" and ink_on_pad(page) == 0


def test_screenshots_desktop_and_phone(page, tmp_path_factory):
    draw(page, [(0.26, 0.26), (0.44, 0.26)])  # a 7: the bar...
    draw(page, [(0.44, 0.26), (0.39, 0.47), (0.34, 0.78)])  # ...and the stem
    draw(page, [(0.66, 0.24 + 0.54 * i / 12) for i in range(13)])  # and a 1 beside it: a number
    assert reading(page)
    desktop = screenshot(page, "serve-desktop.png", tmp_path_factory)
    page.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    time.sleep(0.3)  # the pad is redrawn at its new size
    sizes = page.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth, document.getElementById('pad').clientWidth,"
        " document.getElementById('number').getBoundingClientRect().bottom];"
    )
    assert sizes[0] <= sizes[1], f"the page is wider than a phone's screen: {sizes}"
    assert sizes[2] >= 0.75 * sizes[1], f"the pad is too narrow on a phone: {sizes}"
    assert sizes[3] <= PHONE["height"], f"the number read is below the fold on a phone: {sizes}"
    assert ink_on_pad(page) > 0  # the drawing survived the resize
    phone = screenshot(page, "serve-phone.png", tmp_path_factory)
    for path in (desktop, phone):
        assert path.stat().st_size < 150_000, path


def test_the_api_docs_render_offline(browser, server):
    browser.get(server.url + "docs")
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock-summary-path"))
    paths = {e.text.replace("\u200b", "") for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}
    assert {"/api/predict", "/api/runs", "/api/health"} <= paths, paths
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
