"""Results fetched from the book's published build (annlib.published), against a real HTTP server
on the loopback address that serves what a build published: fetched and reused, or, for anything
wrong, trained here with nothing lost."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import http.server
import json
import logging
import socket
import threading
import time
from pathlib import Path

import pytest
import torch
import yaml

from annlib import cache, data, experiments, published, sweep
from annlib.experiments import Experiment
from conftest import install_synthetic_splits, synthetic_splits

SMALL = Experiment(hidden=(16,), epochs=2, batch_size=32, lr=1e-2)
OTHER = dataclasses.replace(SMALL, lr=2e-2)


class Site(http.server.ThreadingHTTPServer):
    """Serves ``root`` like a static host; ``delay`` seconds before each answer, ``asked`` every
    path as it arrives, ``served`` (path, status) as it is answered, ``replace`` a file name's body
    with other bytes."""

    daemon_threads = True

    def __init__(self, root: Path):
        self.root, self.delay, self.asked, self.served, self.replace = root, 0.0, [], [], {}
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/_results/"


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        site: Site = self.server
        site.asked.append(self.path)
        time.sleep(site.delay)
        name = self.path.removeprefix("/_results/")
        file = site.root / name
        body = site.replace.get(name, file.read_bytes() if "/" not in name and file.is_file() else None)
        site.served.append((name, 200 if body is not None else 404))
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with __import__("contextlib").suppress(OSError):   # the client may have given up (the slow case)
            self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def book(tmp_path, monkeypatch):
    """A published build (SMALL trained with its weights kept, then published) served on loopback,
    and an empty local cache that fetches from it; ``trained`` counts the runs trained here."""
    monkeypatch.setattr(data, "mnist_splits", synthetic_splits)
    monkeypatch.setattr(sweep, "_WORKER_SETUP", install_synthetic_splits)
    monkeypatch.delenv("ANNLIB_NO_CACHE", raising=False)
    monkeypatch.setattr(published, "_DOWN", {})
    build = tmp_path / "build-cache"
    monkeypatch.setenv("ANNLIB_CACHE_DIR", str(build))
    model, result = experiments.run_model(SMALL, device="cpu", progress=False)
    counts = published.publish(build, tmp_path / "site" / "_results")
    assert counts["entries"] == 1 and counts["weights"] == 1
    site = Site(tmp_path / "site" / "_results")
    threading.Thread(target=site.serve_forever, daemon=True).start()
    local = tmp_path / "reader-cache"
    monkeypatch.setenv("ANNLIB_CACHE_DIR", str(local))
    monkeypatch.setenv("ANNLIB_RESULTS_URL", site.url)
    monkeypatch.delenv("ANNLIB_NO_FETCH")
    trained = []
    real = experiments.train_model
    monkeypatch.setattr(experiments, "train_model", lambda *a, **k: trained.append(a[0]) or real(*a, **k))
    yield dataclasses.make_dataclass("Book", ["site", "local", "result", "model", "trained"])(
        site, local, result, model, trained)
    site.shutdown()
    site.server_close()


def entry_path(config: Experiment) -> Path:
    return cache.cache_dir() / f"{experiments.cache_key(config, device='cpu')}.json"


def test_a_fresh_session_fetches_the_published_result_and_then_reuses_it(book, capsys):
    result = experiments.run(SMALL, device="cpu", progress=True)
    assert book.trained == [] and result.published and result.cached
    assert result.history == book.result.history
    assert result.origin == f"from the published build, trained in {book.result.history.wall_time:.0f} s"
    assert "from the published build" in repr(result) and "retrain=True" in capsys.readouterr().out
    stored = json.loads(entry_path(SMALL).read_text())
    assert stored["meta"]["published"] == book.site.url + entry_path(SMALL).name
    asked = len(book.site.asked)
    again = experiments.run(SMALL, device="cpu", progress=False)
    assert again.published and again.history == book.result.history and len(book.site.asked) == asked
    assert capsys.readouterr().out == ""   # progress off: nothing printed
    assert experiments.run(SMALL, device="cpu", progress=True).published
    assert capsys.readouterr().out == ""   # said once, when it was fetched; the Result still says so


def test_a_changed_config_trains_here(book):
    result = experiments.run(OTHER, device="cpu", progress=False)
    assert book.trained == [OTHER] and not result.cached and not result.published
    assert (entry_path(OTHER).name, 404) in book.site.served


def test_retrain_trains_here_and_replaces_the_published_result(book):
    experiments.run(SMALL, device="cpu", progress=False)
    result = experiments.run(SMALL, retrain=True, device="cpu", progress=False)
    assert book.trained == [SMALL] and not result.cached and not result.published
    assert "published" not in json.loads(entry_path(SMALL).read_text())["meta"]
    assert experiments.run(SMALL, device="cpu", progress=False).origin.startswith("from the cache")


def _reseal(entry: dict, **changes) -> bytes:
    entry = {k: v for k, v in entry.items() if k != "sha256"} | changes
    return cache.seal(entry)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "wrong digest", "another config's", "not an entry"])
def test_a_damaged_published_entry_is_ignored_and_the_run_trains_here(book, damage, caplog):
    name = entry_path(SMALL).name
    body = (book.site.root / name).read_bytes()
    entry = json.loads(body)
    book.site.replace[name] = {
        "garbage": b"\x00not json",
        "truncated": body[: len(body) // 2],
        "wrong digest": json.dumps({**entry, "history": {**entry["history"], "test_acc": 1.0}}).encode(),
        "another config's": _reseal(entry, config=json.loads(OTHER.to_json())),
        "not an entry": b"[1, 2, 3]",
    }[damage]
    with caplog.at_level(logging.WARNING, logger="annlib.published"):
        result = experiments.run(SMALL, device="cpu", progress=False)
    assert book.trained == [SMALL] and not result.cached and "ignoring the published result" in caplog.text
    assert result.history.to_dict() | {"epoch_time": 0} == book.result.history.to_dict() | {"epoch_time": 0}
    stored = json.loads(entry_path(SMALL).read_text())      # the local entry is this session's, and valid
    assert "published" not in stored["meta"] and cache.read_entry(entry_path(SMALL), SMALL.to_json()) is not None


def test_a_slow_server_is_given_up_on_and_not_asked_again(book, monkeypatch, caplog):
    monkeypatch.setattr(published, "TIMEOUT_S", 0.3)
    book.site.delay = 3.0
    start = time.perf_counter()
    with caplog.at_level(logging.WARNING, logger="annlib.published"):
        assert not published.fetch_entry(entry_path(SMALL), SMALL.to_json())
    assert time.perf_counter() - start < 2.0 and "cannot be reached" in caplog.text
    result = experiments.run(SMALL, device="cpu", progress=False)    # not asked again: trained at once
    assert book.trained == [SMALL] and not result.published and len(book.site.asked) == 1
    assert caplog.text.count("cannot be reached") == 1


def test_a_refused_connection_trains_here(book, monkeypatch, caplog):
    with socket.socket() as closed:          # a port that was free a moment ago: nothing listens there
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("ANNLIB_RESULTS_URL", f"http://127.0.0.1:{port}/_results")
    with caplog.at_level(logging.WARNING, logger="annlib.published"):
        result = experiments.run(SMALL, device="cpu", progress=False)
    assert book.trained == [SMALL] and not result.published and "cannot be reached" in caplog.text


def test_fetching_is_off_with_one_switch(book, monkeypatch):
    monkeypatch.setenv("ANNLIB_NO_FETCH", "1")
    result = experiments.run(SMALL, device="cpu", progress=False)
    assert book.trained == [SMALL] and not result.published and book.site.asked == []
    monkeypatch.setenv("ANNLIB_NO_FETCH", "0")
    assert published.results_url() == book.site.url


def test_no_cache_means_no_fetching(book):
    result = experiments.run(SMALL, cache=False, device="cpu", progress=False)
    assert book.trained == [SMALL] and not result.cached and book.site.asked == []


def test_concurrent_fetches_of_one_key_write_one_valid_entry(book):
    path = entry_path(SMALL)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        assert all(pool.map(lambda _: published.fetch_entry(path, SMALL.to_json()), range(8)))
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]     # no .part file left behind
    assert cache.load_entry(path, SMALL.to_json())[0] == book.result.history


def test_run_all_fetches_what_was_published_and_trains_the_rest(book, capsys):
    results = experiments.run_all({"small": SMALL, "other": OTHER}, device="cpu", progress=True, workers=1)
    assert results["small"].published and not results["other"].cached and book.trained == [OTHER]
    assert "1 run from the published build" in capsys.readouterr().out
    again = experiments.run_all({"small": SMALL, "other": OTHER}, device="cpu", progress=True, workers=1)
    assert again["small"].published and again["other"].origin.startswith("from the cache")
    assert "published build" not in capsys.readouterr().out      # said once, when fetched
    retrained = experiments.run_all({"small": SMALL}, retrain=True, device="cpu", progress=False, workers=1)
    assert not retrained["small"].cached and book.trained == [OTHER, SMALL]


def test_run_model_fetches_the_published_weights(book):
    model, result = experiments.run_model(SMALL, device="cpu", progress=False)
    assert book.trained == [] and result.published and not model.training
    for mine, theirs in zip(model.state_dict().values(), book.model.state_dict().values(), strict=True):
        assert torch.equal(mine, theirs)


@pytest.mark.parametrize("damage", ["missing", "another config's", "garbage"])
def test_run_model_trains_when_the_published_weights_are_unusable(book, damage):
    name = entry_path(SMALL).with_suffix(cache.WEIGHTS_SUFFIX).name
    if damage == "missing":
        (book.site.root / name).unlink()
    else:
        entry = json.loads((book.site.root / name).read_text())
        book.site.replace[name] = b"garbage" if damage == "garbage" else _reseal(entry, config=json.loads(OTHER.to_json()))
    model, result = experiments.run_model(SMALL, device="cpu", progress=False)
    assert book.trained == [SMALL] and not result.cached     # trained here: the network with its own history
    assert "published" not in json.loads(entry_path(SMALL).read_text())["meta"]
    assert experiments.run(SMALL, device="cpu", progress=False).history == result.history
    for mine, theirs in zip(model.state_dict().values(), book.model.state_dict().values(), strict=True):
        assert torch.equal(mine, theirs)                     # the same seeded computation on this CPU


def test_publish_copies_only_what_this_code_would_look_up(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "mnist_splits", synthetic_splits)
    monkeypatch.setenv("ANNLIB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ANNLIB_NO_CACHE", raising=False)
    experiments.run(SMALL, device="cpu", progress=False)
    experiments.run_model(OTHER, device="cpu", progress=False)
    current = entry_path(SMALL)
    stale = current.with_name("0" * 64 + ".json")          # the entry of older code: another key
    stale.write_bytes(_reseal(json.loads(current.read_text()), key=stale.stem))
    fetched = current.with_name("1" * 64 + ".json")
    (tmp_path / "cache" / "lorenz96-x.pt").write_bytes(b"not an entry")
    fetched.write_bytes(_reseal(json.loads(current.read_text()), key=fetched.stem,
                                meta={"device": "cpu", "published": "http://example/"}))
    counts = published.publish(tmp_path / "cache", tmp_path / "out")
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    other = entry_path(OTHER)
    assert names == sorted([current.name, other.name, other.with_suffix(cache.WEIGHTS_SUFFIX).name])
    assert counts["entries"] == 2 and counts["weights"] == 1
    assert counts["bytes"] == sum((tmp_path / "out" / n).stat().st_size for n in names)


def test_the_default_address_is_the_books_published_address():
    config = yaml.safe_load((Path(__file__).parents[1] / "_config.yml").read_text())
    assert published.URL == config["html"]["baseurl"].rstrip("/") + "/_results/"
    assert config["repository"]["url"].removeprefix("https://github.com/").split("/")[1] in published.URL


@pytest.mark.bad_input
@pytest.mark.parametrize("url", ["ftp://example.org/", "example.org/_results", "http://"])
def test_a_results_address_that_is_not_http_is_refused(monkeypatch, url):
    monkeypatch.delenv("ANNLIB_NO_FETCH")
    monkeypatch.setenv("ANNLIB_RESULTS_URL", url)
    with pytest.raises(ValueError, match="ANNLIB_RESULTS_URL must be an http or https address"):
        published.results_url()


def test_weights_round_trip_bitwise_through_json(tmp_path):
    state = {"w": torch.randn(3, 4), "b": torch.randn(4, dtype=torch.float64), "n": torch.tensor(7),
             "empty": torch.empty(0, 2), "half": torch.randn(5).to(torch.bfloat16)}
    path = tmp_path / f"{'a' * 64}{cache.WEIGHTS_SUFFIX}"
    cache.write_weights(path, SMALL.to_json(), state)
    back = cache.read_weights(path, SMALL.to_json())
    assert back.keys() == state.keys()
    assert all(back[k].dtype == v.dtype and back[k].shape == v.shape and torch.equal(back[k], v) for k, v in state.items())
    assert cache.read_weights(path, OTHER.to_json()) is None        # another config's


@pytest.mark.bad_input
def test_a_published_result_must_be_a_cached_one():
    from annlib import train

    with pytest.raises(ValueError, match="published=True needs cached=True"):
        experiments.Result(SMALL, train.History(), published=True)


@pytest.mark.parametrize("workers", [1, 2])
def test_run_all_keeps_the_networks_it_trains_for_run_model(book, workers):
    experiments.run_all({"other": OTHER, "third": dataclasses.replace(OTHER, seed=1)}, keep_models=True,
                        device="cpu", progress=False, workers=workers)
    assert entry_path(OTHER).with_suffix(cache.WEIGHTS_SUFFIX).is_file()
    trained = list(book.trained)
    model, result = experiments.run_model(OTHER, device="cpu", progress=False)
    assert book.trained == trained and result.cached and not result.published   # nothing trained again
    again, _ = experiments.train_model(OTHER, device="cpu", progress=False)
    for mine, fresh in zip(model.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(mine, fresh)
