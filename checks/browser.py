"""Load every page of the built book in headless Chromium with the network cut off.

Serves ``_build/html`` on 127.0.0.1, starts headless Chrome or Chromium (through a ChromeDriver of
its version; checks/find_browser.py finds them under Debian's, Ubuntu's, Google's and macOS's
names, or ``$ANNLIB_BROWSER`` and ``$ANNLIB_CHROMEDRIVER``) so that every other host is
unreachable, and loads each page. A page fails on:

- a console error (a script that throws, a resource the page asked for and did not get);
- a failed request or an HTTP error status, and any request to a host other than the local one
  (the book must read completely offline: scripts, styles, fonts, icons and math included);
- an image that did not decode;
- math left untypeset: an element Sphinx marks as math without MathJax output in it, or a
  MathJax error box.

It then searches for "Adam" on the search page and expects the optimizers chapter among the
results, and saves a full-page screenshot of every page for review. Usage::

    .venv/bin/python checks/browser.py [--html _build/html] [--shots _build/screenshots]
"""

from __future__ import annotations

import argparse
import base64
import functools
import http.server
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, str(Path(__file__).resolve().parent))
import find_browser  # noqa: E402  (checks/ is a folder of scripts, not a package)

REPO = Path(__file__).resolve().parents[1]
SKIP_DIRS = {"_static", "_sources", "_images", "_downloads", "_sphinx_design_static"}
MAX_SHOT_HEIGHT = 16000  # px: the tallest viewport emulated for a screenshot (the capture covers the whole page)

# Waits for MathJax (when the page loads it) to finish, then reports what the page shows.
PAGE_REPORT_JS = """
const done = arguments[arguments.length - 1];
(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const images = Array.from(document.images);
  for (const img of images) { img.loading = "eager"; }
  const broken = [];
  for (const img of images) {
    try { await img.decode(); } catch (e) { }
    if (!img.complete || img.naturalWidth === 0) { broken.push(img.getAttribute("src")); }
  }
  const math = Array.from(document.querySelectorAll(".math"));
  const untypeset = math.filter(el => !el.querySelector("mjx-container"))
                        .map(el => el.textContent.trim().slice(0, 60));
  const errors = Array.from(document.querySelectorAll("mjx-merror"))
                      .map(el => el.textContent.trim().slice(0, 60));
  done({images: images.length, broken: broken, math: math.length, untypeset: untypeset,
        math_errors: errors, title: document.title,
        height: Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)});
})().catch(e => done({script_error: String(e)}));
"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # the browser's view of the requests is what we check
        pass


def serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def start_browser(profile: Path) -> webdriver.Chrome:
    try:
        browser, driver_path = find_browser.find()
    except find_browser.NotFound as error:
        raise SystemExit(f"browser check: {error}") from error
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-quic", "--no-first-run", "--disable-extensions", "--window-size=1280,900",
                 f"--user-data-dir={profile}",
                 # Every host but this machine's loopback is unreachable: names do not resolve and
                 # anything else goes to a proxy that is not there.
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                 "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=127.0.0.1"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    service = Service(executable_path=driver_path)
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    return driver


def network_problems(driver: webdriver.Chrome, origin: str) -> tuple[int, list[str]]:
    """Requests since the last call: how many, and every failed, erroring or off-machine one."""
    urls, problems = {}, []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        method, params = message["method"], message.get("params", {})
        if method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            if not url.startswith(("http:", "https:", "ws:", "wss:")):
                continue  # data:, blob:, and Chromium's own chrome:// pages
            urls[params["requestId"]] = url
            if not url.startswith(origin + "/"):
                problems.append(f"request to another host: {url}")
        elif method == "Network.responseReceived" and params["requestId"] in urls:
            status, url = params["response"]["status"], params["response"]["url"]
            if status >= 400:
                problems.append(f"HTTP {status}: {url}")
        elif method == "Network.loadingFailed" and params["requestId"] in urls and not params.get("canceled"):
            url = urls[params["requestId"]]
            problems.append(f"failed ({params.get('errorText')}): {url}")
    return len(urls), problems


def console_errors(driver: webdriver.Chrome) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def screenshot(driver: webdriver.Chrome, path: Path, height: int) -> None:
    height = min(max(height, 900), MAX_SHOT_HEIGHT)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 1280, "height": height, "deviceScaleFactor": 1, "mobile": False})
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    path.write_bytes(base64.b64decode(shot["data"]))


def check_page(driver: webdriver.Chrome, origin: str, page: str, shots: Path) -> tuple[dict, list[str]]:
    driver.get(f"{origin}/{page}")
    WebDriverWait(driver, 60).until(lambda d: d.execute_script("return document.readyState") == "complete")
    report = driver.execute_async_script(PAGE_REPORT_JS)
    problems = []
    if "script_error" in report:
        problems.append(f"the page check itself failed: {report['script_error']}")
        report = {"images": 0, "math": 0, "height": 900, "broken": [], "untypeset": [], "math_errors": []}
    problems += [f"image did not decode: {src}" for src in report["broken"]]
    problems += [f"math left untypeset: {text!r}" for text in report["untypeset"]]
    problems += [f"MathJax error: {text!r}" for text in report["math_errors"]]
    time.sleep(0.3)  # let late requests (fonts) land in the log
    requests, network = network_problems(driver, origin)
    problems += network
    problems += [f"console error: {message}" for message in console_errors(driver)]
    screenshot(driver, shots / (page.replace("/", "__").removesuffix(".html") + ".png"), report["height"])
    report["requests"] = requests
    return report, problems


def check_search(driver: webdriver.Chrome, origin: str, shots: Path, term: str = "Adam") -> list[str]:
    driver.get(f"{origin}/search.html?q={term}")
    try:
        WebDriverWait(driver, 60).until(lambda d: d.execute_script(
            "return document.querySelectorAll('#search-results ul.search li').length") > 0)
    except TimeoutException:
        return [f"search for {term!r} found nothing within 60 s"]
    links = driver.execute_script(
        "return Array.from(document.querySelectorAll('#search-results ul.search li a'))"
        ".map(a => a.getAttribute('href'))")
    screenshot(driver, shots / "search-Adam.png", 900)
    problems = [f"console error: {message}" for message in console_errors(driver)]
    problems += network_problems(driver, origin)[1]
    print(f"search {term!r}: {len(links)} results: {', '.join(sorted(set(l.split('#')[0] for l in links)))}")
    if not any(link.startswith("optimizers.html") for link in links):
        problems.append(f"search for {term!r} does not list the optimizers chapter")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=REPO / "_build" / "html")
    parser.add_argument("--shots", type=Path, default=REPO / "_build" / "screenshots")
    args = parser.parse_args()
    if not (args.html / "index.html").is_file():
        raise SystemExit(f"no built book at {args.html} (run `make book` first)")
    pages = sorted(str(p.relative_to(args.html)) for p in args.html.rglob("*.html")
                   if not SKIP_DIRS & set(p.relative_to(args.html).parts[:-1]))
    args.shots.mkdir(parents=True, exist_ok=True)
    server, origin = serve(args.html)
    failures: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="annlib-chromium-") as profile:
        driver = start_browser(Path(profile))
        try:
            driver.get("about:blank")  # what Chromium did while starting is not the book's doing
            driver.get_log("performance"), driver.get_log("browser")
            print(f"{'page':<28} {'requests':>8} {'images':>6} {'math':>5}  problems")
            for page in pages:
                report, problems = check_page(driver, origin, page, args.shots)
                print(f"{page:<28} {report['requests']:>8} {report['images']:>6} {report['math']:>5}  "
                      f"{len(problems) or 'none'}")
                if problems:
                    failures[page] = problems
            problems = check_search(driver, origin, args.shots)
            if problems:
                failures["search"] = problems
        finally:
            driver.quit()
            server.shutdown()
    for page, problems in failures.items():
        print(f"\n{page}:", *(f"  {p}" for p in problems), sep="\n")
    print(f"\nbrowser check: {len(pages)} pages and the search loaded in headless Chromium with the network "
          f"blocked; {len(failures)} with problems; screenshots in {args.shots}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
