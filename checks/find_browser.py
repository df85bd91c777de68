"""Find a Chrome or Chromium and a ChromeDriver of the same major version for checks/browser.py.

Looked for, in order (the first that exists wins):

- browser: ``$ANNLIB_BROWSER``; then on the PATH ``chromium`` (Debian), ``chromium-browser``
  (older Ubuntu, Fedora), ``google-chrome`` and ``google-chrome-stable`` (GitHub's Ubuntu runner
  images, Google's own packages), ``chrome``; then macOS's applications (Google Chrome, Chromium);
- driver: ``$ANNLIB_CHROMEDRIVER``; then ``chromedriver`` in ``$CHROMEWEBDRIVER`` (the directory
  GitHub's runner images name), then ``chromedriver`` / ``chromium-driver`` on the PATH.

Selenium drives a browser only through a driver of its major version, so a mismatch (a snap
Chromium beside a runner's ChromeDriver, say) is reported here with both versions rather than as a
session error later. Standard library only. Usage::

    python checks/find_browser.py     # prints the pair and exits 0, or says what is missing and exits 1
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
MAC_BROWSERS = ("/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
                "/Applications/Chromium.app/Contents/MacOS/Chromium")
DRIVER_NAMES = ("chromedriver", "chromium-driver")
INSTALL = ("install one: on Debian `apt-get install -y chromium chromium-driver`; on Ubuntu Google Chrome and "
           "its chromedriver (GitHub's runner images have both); on macOS `brew install --cask chromium "
           "chromedriver`; or point ANNLIB_BROWSER and ANNLIB_CHROMEDRIVER at the executables")


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


def browser() -> str:
    """The path of a Chrome or Chromium executable."""
    if found := _from_variable("ANNLIB_BROWSER", "Chrome or Chromium executable"):
        return found
    for name in BROWSER_NAMES:
        if found := shutil.which(name):
            return found
    for path in MAC_BROWSERS:
        if found := _executable(path):
            return found
    raise NotFound(f"no Chrome or Chromium found (tried $ANNLIB_BROWSER, {', '.join(BROWSER_NAMES)} on the "
                   f"PATH, and macOS's applications); {INSTALL}")


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
    """(browser, driver): found, and of the same major version where both report one."""
    found_browser, found_driver = browser(), driver()
    versions = major_version(found_browser), major_version(found_driver)
    if None not in versions and versions[0] != versions[1]:
        raise NotFound(f"the browser {found_browser} is version {versions[0]} but the driver {found_driver} is "
                       f"version {versions[1]}: Selenium needs a driver of the browser's major version; install "
                       f"the matching one, or point ANNLIB_BROWSER and ANNLIB_CHROMEDRIVER at a matching pair")
    return found_browser, found_driver


def main() -> int:
    try:
        found_browser, found_driver = find()
    except NotFound as error:
        print(f"find_browser: {error}", file=sys.stderr)
        return 1
    print(f"browser {found_browser} (version {major_version(found_browser)}), "
          f"driver {found_driver} (version {major_version(found_driver)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
