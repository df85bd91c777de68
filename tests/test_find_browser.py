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
    for variable in ("ANNLIB_BROWSER", "ANNLIB_CHROMEDRIVER", "CHROMEWEBDRIVER"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(find_browser, "MAC_BROWSERS", ())
    return path


def test_debian_names(bare):
    fake(bare, "chromium", "Chromium 131.0.6778.85 built on Debian")
    fake(bare, "chromedriver", "ChromeDriver 131.0.6778.85 (abc)")
    assert find_browser.find() == (str(bare / "chromium"), str(bare / "chromedriver"))


def test_github_ubuntu_runner_names(bare, tmp_path, monkeypatch):
    """Google Chrome on the PATH, its driver in the directory $CHROMEWEBDRIVER names."""
    fake(bare, "google-chrome", "Google Chrome 142.0.7444.59")
    drivers = tmp_path / "chromedriver-linux64"
    drivers.mkdir()
    fake(drivers, "chromedriver", "ChromeDriver 142.0.7444.59 (refs/branch-heads/7444)")
    monkeypatch.setenv("CHROMEWEBDRIVER", str(drivers))
    assert find_browser.find() == (str(bare / "google-chrome"), str(drivers / "chromedriver"))


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
    with pytest.raises(find_browser.NotFound, match=r"no Chrome or Chromium found \(tried \$ANNLIB_BROWSER, "
                                                    r"chromium, .*apt-get install -y chromium chromium-driver"):
        find_browser.find()
    fake(bare, "chromium", "Chromium 131.0.1")
    with pytest.raises(find_browser.NotFound, match=r"no ChromeDriver found \(tried \$ANNLIB_CHROMEDRIVER, "
                                                    r"\$CHROMEWEBDRIVER/chromedriver"):
        find_browser.find()
    assert find_browser.main() == 1


def test_versions_that_differ_are_refused(bare):
    fake(bare, "chromium", "Chromium 131.0.1")
    fake(bare, "chromedriver", "ChromeDriver 129.0.5")
    with pytest.raises(find_browser.NotFound, match=r"is version 131 but the driver .* is version 129"):
        find_browser.find()


def test_a_variable_that_names_no_executable_is_an_error(bare, monkeypatch, tmp_path):
    monkeypatch.setenv("ANNLIB_BROWSER", str(tmp_path / "nothing-here"))
    with pytest.raises(find_browser.NotFound, match=r"\$ANNLIB_BROWSER is '.*nothing-here', which is not an "
                                                    r"executable file"):
        find_browser.browser()
