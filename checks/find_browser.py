"""Find a Chrome or Chromium and a ChromeDriver of the same major version for checks/browser.py.

The driver is found first, then the first browser of its major version (Selenium drives a browser
only through a driver of its major version):

- driver: ``$ANNLIB_CHROMEDRIVER``; then ``chromedriver`` in ``$CHROMEWEBDRIVER`` (the directory
  GitHub's runner images name), then ``chromedriver`` / ``chromium-driver`` on the PATH;
- browsers, in order: ``$ANNLIB_BROWSER``, ``$CHROME_BIN``; on the PATH ``google-chrome``,
  ``google-chrome-stable``, ``chrome`` (Google's packages; GitHub's Ubuntu images, whose driver
  is Chrome's), then ``chromium`` (Debian) and ``chromium-browser``; then macOS's applications.

A browser that prints no version (Ubuntu's ``chromium-browser`` stub that asks for the snap) or
that is a snap (its private /tmp hides the profile Selenium gives it) is passed over. When no
browser matches the driver, the message lists every one found with its version. Standard library
only. Usage::

    python checks/find_browser.py     # prints the pair and exits 0, or says what is missing and exits 1
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

BROWSER_NAMES = ("google-chrome", "google-chrome-stable", "chrome", "chromium", "chromium-browser")
MAC_BROWSERS = ("/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
                "/Applications/Chromium.app/Contents/MacOS/Chromium")
DRIVER_NAMES = ("chromedriver", "chromium-driver")
INSTALL = ("install a pair: on Debian `apt-get install -y chromium chromium-driver`; on Ubuntu Google Chrome "
           "and a chromedriver of its version (GitHub's runner images have both); on macOS Google Chrome and "
           "`npx @puppeteer/browsers install chromedriver@<its version>`; or point ANNLIB_BROWSER and "
           "ANNLIB_CHROMEDRIVER at the executables")


class NotFound(Exception):
    """No usable browser and driver; the message says what was tried and how to get one."""


def _executable(path: str | os.PathLike | None) -> str | None:
    if path and Path(path).is_file() and os.access(path, os.X_OK):
        return str(path)
    return None


def _from_variable(variable: str, what: str) -> str | None:
    value = os.environ.get(variable)
    if not value:
        return None
    if found := _executable(Path(value).expanduser()):
        return found
    raise NotFound(f"${variable} is {value!r}, which is not an executable file; it must name the {what}")


def browsers() -> list[str]:
    """Every Chrome or Chromium executable there is, in the order of preference, without repeats."""
    found = [_from_variable("ANNLIB_BROWSER", "Chrome or Chromium executable"),
             _executable(os.environ.get("CHROME_BIN"))]
    found += [shutil.which(name) for name in BROWSER_NAMES] + [_executable(path) for path in MAC_BROWSERS]
    unique = []
    for path in found:
        if path and path not in unique and not _is_snap(path):
            unique.append(path)
    return unique


def _is_snap(path: str) -> bool:
    real = os.path.realpath(path)
    return real.startswith("/snap/") or os.path.basename(real) == "snap"


def driver() -> str:
    """The path of a ChromeDriver executable."""
    if found := _from_variable("ANNLIB_CHROMEDRIVER", "ChromeDriver executable"):
        return found
    if directory := os.environ.get("CHROMEWEBDRIVER"):
        if found := _executable(Path(directory) / "chromedriver"):
            return found
    for name in DRIVER_NAMES:
        if found := shutil.which(name):
            return found
    raise NotFound(f"no ChromeDriver found (tried $ANNLIB_CHROMEDRIVER, $CHROMEWEBDRIVER/chromedriver, "
                   f"{', '.join(DRIVER_NAMES)} on the PATH); {INSTALL}")


def major_version(executable: str) -> int | None:
    """The major version ``executable --version`` prints (e.g. 131 for "Chromium 131.0.6778.85"), or
    None if it prints none."""
    try:
        out = subprocess.run([executable, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"(\d+)\.\d+(\.\d+)*", out)
    return int(match.group(1)) if match else None


def find() -> tuple[str, str]:
    """(browser, driver): the driver, and the first browser of its major version."""
    found_driver = driver()
    wanted = major_version(found_driver)
    candidates = browsers()
    if not candidates:
        raise NotFound(f"no Chrome or Chromium found (tried $ANNLIB_BROWSER, $CHROME_BIN, {', '.join(BROWSER_NAMES)} "
                       f"on the PATH, and macOS's applications; snaps are passed over); {INSTALL}")
    versions = {path: major_version(path) for path in candidates}
    for path, version in versions.items():
        if version is not None and (wanted is None or version == wanted):
            return path, found_driver
    seen = ", ".join(f"{path} (version {version if version is not None else 'unknown: it printed none'})"
                     for path, version in versions.items())
    raise NotFound(f"no browser of the driver's version: the driver {found_driver} is version {wanted}, the "
                   f"browsers found are {seen}; Selenium needs a driver of the browser's major version: "
                   f"{INSTALL}")


def main() -> int:
    try:
        found_browser, found_driver = find()
    except NotFound as error:
        print(f"find_browser: {error}", file=sys.stderr)
        return 1
    print(f"browser {found_browser}, driver {found_driver}, of the same major version")
    return 0


if __name__ == "__main__":
    sys.exit(main())
