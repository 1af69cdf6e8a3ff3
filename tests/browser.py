"""A real headless Chromium for the web pages' tests: Debian's `chromium`, driven by
Selenium through Debian's `chromium-driver` (/usr/bin/chromedriver), with nothing
downloaded: the driver's path is given, so Selenium Manager never runs, and it is
told to stay offline all the same.

A browser that cannot be started is a failure where `CI=1` (.ci/run sets it and
installs both packages), and a skip that says why elsewhere."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

CHROMIUM = Path(os.environ.get("CANDOR_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("CANDOR_CHROMEDRIVER", "/usr/bin/chromedriver"))
T = TypeVar("T")


def _no_browser(why: str) -> None:
    message = (
        f"no headless Chromium for the browser tests: {why} (install Debian's chromium and"
        " chromium-driver: apt-get install -y chromium chromium-driver)"
    )
    if os.environ.get("CI") == "1":
        pytest.fail(message + "; CI=1 needs one")
    pytest.skip(message)


def start(downloads: Path) -> Any:
    """A headless Chromium saving downloads in `downloads`, or the test fails (CI) or
    skips, saying why."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            _no_browser(f"{path} is missing")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager: never to the network
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as error:
        _no_browser(f"Selenium is not installed ({error})")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI containers run as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1100,1400",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ):
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    try:
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    except Exception as error:  # the driver's or the browser's own message, whatever it is
        _no_browser(f"it did not start: {str(error).strip().splitlines()[0]}")
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    return driver


class Browser:
    """The driver's blocking calls, run off the event loop that serves the pages."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    async def run(self, call: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(call, *args)

    async def get(self, url: str) -> None:
        await self.run(self.driver.get, url)

    async def find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By

        return await self.run(self.driver.find_element, By.CSS_SELECTOR, css)

    async def find_all(self, css: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return await self.run(self.driver.find_elements, By.CSS_SELECTOR, css)

    async def click(self, css: str) -> None:
        element = await self.find(css)
        await self.run(element.click)

    async def wait_for(self, check: Callable[[], T], what: str, seconds: float = 60) -> T:
        """Until `check()` gives something true (polled: a condition, not a sleep
        racing the work), at most `seconds` (generous, for a loaded machine)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            found = await self.run(check)
            if found:
                return found
            if loop.time() > deadline:
                raise AssertionError(f"waited {seconds} s for {what}")
            await asyncio.sleep(0.1)
