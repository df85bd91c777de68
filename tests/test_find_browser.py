"""checks/find_browser.py finds a browser and its driver under each platform's names, refuses a
pair of different versions, and says what to install when there is none. Fake executables that
print a version stand in for the browsers."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "checks"))
import find_browser  # noqa: E402


def fake(directory: Path, name: str, version: str) -> Path:
    path = directory / name
    path.write_text(f"#!/bin/sh\necho '{version}'\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def bare(tmp_path, monkeypatch):
    """A PATH with nothing on it but what a test puts there, and none of the variables set."""
    path = tmp_path / "bin"
    path.mkdir()
    monkeypatch.setenv("PATH", str(path))
    for variable in ("ANNLIB_BROWSER", "ANNLIB_CHROMEDRIVER", "CHROMEWEBDRIVER", "CHROME_BIN"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(find_browser, "MAC_BROWSERS", ())
    return path


def test_debian_names(bare):
    fake(bare, "chromium", "Chromium 131.0.6778.85 built on Debian")
    fake(bare, "chromedriver", "ChromeDriver 131.0.6778.85 (abc)")
    assert find_browser.find() == (str(bare / "chromium"), str(bare / "chromedriver"))


def test_github_ubuntu_runner_layout(bare, tmp_path, monkeypatch):
    """The image's layout: Google Chrome, its driver in the directory $CHROMEWEBDRIVER names, and a
    Chromium snapshot as chromium / chromium-browser whose version has lagged Chrome's before
    (actions/runner-images#7980): Chrome and its driver are the pair."""
    fake(bare, "chromium", "Chromium 138.0.7204.0")
    fake(bare, "chromium-browser", "Chromium 138.0.7204.0")
    fake(bare, "chromedriver", "ChromeDriver 138.0.7204.0")
    fake(bare, "google-chrome", "Google Chrome 139.0.7258.66")
    drivers = tmp_path / "chromedriver-linux64"
    drivers.mkdir()
    fake(drivers, "chromedriver", "ChromeDriver 139.0.7258.68 (refs/branch-heads/7258)")
    monkeypatch.setenv("CHROMEWEBDRIVER", str(drivers))
    monkeypatch.setenv("CHROME_BIN", str(bare / "google-chrome"))
    assert find_browser.find() == (str(bare / "google-chrome"), str(drivers / "chromedriver"))


def test_the_first_browser_of_the_drivers_version_wins(bare):
    fake(bare, "google-chrome", "Google Chrome 140.0.1")
    fake(bare, "chromium", "Chromium 138.0.2 built on Debian")
    fake(bare, "chromedriver", "ChromeDriver 138.0.5")
    assert find_browser.find()[0] == str(bare / "chromium")


def test_a_stub_that_prints_no_version_and_a_snap_are_passed_over(bare, tmp_path):
    fake(bare, "chromium-browser", "Command '/usr/bin/chromium-browser' requires the chromium snap to be installed.")
    snap = fake(tmp_path, "snap", "Chromium 131.0.1 snap")
    (bare / "chromium").symlink_to(snap)
    fake(bare, "chromedriver", "ChromeDriver 131.0.5")
    with pytest.raises(find_browser.NotFound, match=r"the browsers found are .*chromium-browser \(version unknown: "
                                                    r"it printed none\)"):
        find_browser.find()
    assert str(bare / "chromium") not in find_browser.browsers()


def test_a_browser_under_another_name_through_the_variables(bare, tmp_path, monkeypatch):
    other = tmp_path / "elsewhere"
    other.mkdir()
    browser = fake(other, "my-chrome", "Chromium 120.0.1")
    driver = fake(other, "my-driver", "ChromeDriver 120.0.2")
    monkeypatch.setenv("ANNLIB_BROWSER", str(browser))
    monkeypatch.setenv("ANNLIB_CHROMEDRIVER", str(driver))
    assert find_browser.find() == (str(browser), str(driver))


def test_macos_application(bare, tmp_path, monkeypatch):
    app = fake(tmp_path, "Google Chrome", "Google Chrome 130.0.1")
    monkeypatch.setattr(find_browser, "MAC_BROWSERS", (str(app),))
    fake(bare, "chromedriver", "ChromeDriver 130.0.9")
    assert find_browser.find()[0] == str(app)


def test_none_found_says_what_was_tried_and_what_to_install(bare):
    with pytest.raises(find_browser.NotFound, match=r"no ChromeDriver found \(tried \$ANNLIB_CHROMEDRIVER, "
                                                    r"\$CHROMEWEBDRIVER/chromedriver"):
        find_browser.find()
    fake(bare, "chromedriver", "ChromeDriver 131.0.5")
    with pytest.raises(find_browser.NotFound, match=r"no Chrome or Chromium found \(tried \$ANNLIB_BROWSER, "
                                                    r"\$CHROME_BIN, google-chrome, .*apt-get install -y chromium "
                                                    r"chromium-driver"):
        find_browser.find()
    assert find_browser.main() == 1


def test_versions_that_differ_are_refused(bare):
    fake(bare, "chromium", "Chromium 131.0.1")
    fake(bare, "chromedriver", "ChromeDriver 129.0.5")
    with pytest.raises(find_browser.NotFound, match=r"the driver .*chromedriver is version 129, the browsers "
                                                    r"found are .*chromium \(version 131\)"):
        find_browser.find()


def test_a_variable_that_names_no_executable_is_an_error(bare, monkeypatch, tmp_path):
    monkeypatch.setenv("ANNLIB_BROWSER", str(tmp_path / "nothing-here"))
    with pytest.raises(find_browser.NotFound, match=r"\$ANNLIB_BROWSER is '.*nothing-here', which is not an "
                                                    r"executable file"):
        find_browser.browsers()
