"""The viewer page in a real headless browser (Debian's chromium through chromedriver and Selenium).

Upload an image, see every landmark drawn where the API put it (checked on screen, in the page's own
pixels), named, with its confidence on hover, and a JSON download that is the API's answer. Skips when
no browser or driver is installed; CI's ``.ci/run`` installs ``chromium chromium-driver``.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

pytest.importorskip("selenium", reason="selenium is not installed (pip install -e '.[dev]')")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
if not (CHROMIUM and DRIVER):
    pytest.skip("no chromium/chromedriver (apt-get install chromium chromium-driver)", allow_module_level=True)

ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,1000",
        "--disable-dev-shm-usage")


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ARGS:
        options.add_argument(arg)
    try:
        driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    except WebDriverException as exc:  # e.g. a driver that does not match the browser
        pytest.skip(f"chromium could not be started through chromedriver: {exc.msg}")
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def wait(driver, condition, timeout=60):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)


def upload(driver, url: str, path: Path) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{url}/")
    wait(driver, lambda d: "tiny ceph" in d.find_element(By.ID, "model-line").text)
    driver.find_element(By.ID, "file").send_keys(str(path))
    driver.find_element(By.ID, "submit").click()
    wait(driver, lambda d: d.find_element(By.ID, "status").text.startswith(("Done", "Error", "Request failed")))


def test_upload_draws_names_hovers_and_downloads(browser, server, predictor, images, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    path = images["jpeg"]
    upload(browser, server, path)
    assert browser.find_element(By.ID, "status").text.startswith("Done"), browser.find_element(By.ID, "status").text
    expected = predictor.predict(path)
    w, h = expected["width"], expected["height"]
    # the browser shows the file itself at its own size, not a re-encoded copy
    natural = browser.execute_script(
        "const i = document.getElementById('image'); return [i.naturalWidth, i.naturalHeight];")
    assert natural == [w, h]

    markers = browser.find_elements(By.CSS_SELECTOR, "#overlay g.lm")
    assert [m.get_attribute("data-symbol") for m in markers] == list(expected["landmarks"])
    assert [m.find_element(By.TAG_NAME, "text").text for m in markers] == list(expected["landmarks"])

    # on screen: each dot's centre sits at the landmark's pixel centre of the displayed image
    geometry = browser.execute_script("""
        const img = document.getElementById('image').getBoundingClientRect();
        return [img.left, img.top, img.width, img.height,
                [...document.querySelectorAll('#overlay g.lm .dot')].map(c => {
                    const r = c.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })];""")
    left, top, shown_w, shown_h, centres = geometry
    assert shown_w > 100 and shown_h > 100
    for (cx, cy), lm in zip(centres, expected["landmarks"].values()):
        assert cx == pytest.approx(left + (lm["x"] + 0.5) * shown_w / w, abs=1.0)
        assert cy == pytest.approx(top + (lm["y"] + 0.5) * shown_h / h, abs=1.0)

    # hover: the tooltip names the landmark and gives its confidence
    inside = [s for s, lm in expected["landmarks"].items() if 0 <= lm["x"] < w and 0 <= lm["y"] < h]
    assert inside, "no landmark inside the image to hover"
    for symbol in inside[:3]:
        marker = browser.find_element(By.CSS_SELECTOR, f'#overlay g.lm[data-symbol="{symbol}"] .dot')
        ActionChains(browser).move_to_element(marker).perform()
        tooltip = browser.find_element(By.ID, "tooltip")
        wait(browser, lambda d, tip=tooltip, sym=symbol: tip.is_displayed() and tip.text.startswith(sym), timeout=5)
        lm = expected["landmarks"][symbol]
        assert f"confidence {lm['confidence']:.3f}" in tooltip.text
        names = dict(zip(predictor.symbols, browser.execute_script(
            "return fetch('v1/model').then(r => r.json()).then(m => m.landmark_names);")))
        assert names[symbol] in tooltip.text
    ActionChains(browser).move_by_offset(0, 0).move_to_element(browser.find_element(By.TAG_NAME, "h1")).perform()
    wait(browser, lambda d: not d.find_element(By.ID, "tooltip").is_displayed(), timeout=5)

    # the table lists every landmark with its confidence
    rows = browser.find_elements(By.CSS_SELECTOR, "#landmark-table tbody tr")
    assert len(rows) == len(expected["landmarks"])
    first = rows[0].find_elements(By.TAG_NAME, "td")
    assert first[0].text == "S" and first[1].text == "Sella"
    assert first[4].text.startswith(f"{expected['landmarks']['S']['confidence']:.3f}")

    # the download is the API's answer, a predictions file
    link = browser.find_element(By.ID, "download")
    assert link.get_attribute("href").startswith("blob:")
    assert link.get_attribute("download") == "ceph.landmarks.json"
    downloaded = browser.execute_async_script(
        "const done = arguments[0]; fetch(document.getElementById('download').href).then(r => r.json()).then(done);")
    (entry,) = downloaded["predictions"]
    assert downloaded["model"]["name"] == "tiny ceph" and entry["image"] == path.name
    for symbol, lm in expected["landmarks"].items():
        assert entry["landmarks"][symbol]["x"] == pytest.approx(lm["x"], abs=1e-3)
        assert entry["landmarks"][symbol]["confidence"] == pytest.approx(lm["confidence"], abs=1e-4)
    if entry.get("analysis") and "measurements" in entry["analysis"]:
        assert browser.find_element(By.ID, "analysis").is_displayed()

    # offline: the page loaded nothing from anywhere but this server
    resources = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name);")
    assert resources and all(r.startswith((server, "blob:", "data:")) for r in resources), resources
    shots = os.environ.get("ZOO_SCREENSHOT_DIR")
    if shots:
        browser.save_screenshot(str(Path(shots) / "viewer.png"))


def test_sixteen_bit_png_is_shown(browser, server, predictor, images):
    from selenium.webdriver.common.by import By

    upload(browser, server, images["png16"])
    assert browser.find_element(By.ID, "status").text.startswith("Done")
    expected = predictor.predict(images["png16"])
    assert len(browser.find_elements(By.CSS_SELECTOR, "#overlay g.lm")) == len(expected["landmarks"])
    assert browser.execute_script("return document.getElementById('image').naturalWidth;") == expected["width"]


def test_errors_are_shown_to_the_user(browser, server, tmp_path):
    from selenium.webdriver.common.by import By

    bad = tmp_path / "notes.png"
    bad.write_text("not an image at all")
    upload(browser, server, bad)
    status = browser.find_element(By.ID, "status")
    assert status.text.startswith("Error 415") and "notes.png" in status.text and "not a JPEG" in status.text
    assert "error" in status.get_attribute("class")
