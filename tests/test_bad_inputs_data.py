"""The bad-input matrix for annlib.data and annlib.experiments: each bad argument gets a clear
error that names the bad value and what would be valid, raised before any work is done, or a
result its docstring documents. No case touches the network or trains a model."""

import dataclasses
import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from annlib import data, experiments, mnist, train
from annlib.experiments import Experiment
from conftest import idx_bytes, synthetic_splits

pytestmark = pytest.mark.bad_input

SOURCES = r"\('local', 'torchvision', 'pypi'\)"
OPTIMIZERS = r"\('sgd', 'adagrad', 'rmsprop', 'adam', 'adamw'\)"


# ------------------------------------------------------------------------------------------------
# Experiment: (id, fields, pattern of the ValueError's message, or (exception, pattern))

EXPERIMENT_CASES = [
    ("optimizer-unknown", {"optimizer": "adamax"}, f"optimizer must be one of {OPTIMIZERS}, got 'adamax'"),
    ("optimizer-capitalized", {"optimizer": "Adam"}, "optimizer must be one of .*, got 'Adam'"),
    ("optimizer-empty", {"optimizer": ""}, "optimizer must be one of .*, got ''"),
    ("optimizer-none", {"optimizer": None}, "optimizer must be one of .*, got None"),
    ("optimizer-class", {"optimizer": torch.optim.Adam}, "optimizer must be one of .*, got <class"),
    ("optimizer-list", {"optimizer": ["adam"]}, r"optimizer must be one of .*, got \['adam'\]"),
    ("lr-zero", {"lr": 0.0}, r"lr must be positive and finite \(a float\), got 0.0"),
    ("lr-negative", {"lr": -0.1}, "lr must be positive and finite .*, got -0.1"),
    ("lr-inf", {"lr": math.inf}, "lr must be positive and finite .*, got inf"),
    ("lr-minus-inf", {"lr": -math.inf}, "lr must be positive and finite .*, got -inf"),
    ("lr-nan", {"lr": math.nan}, "lr must be positive and finite .*, got nan"),
    ("lr-string", {"lr": "0.1"}, "lr must be positive and finite .*, got '0.1'"),
    ("lr-none", {"lr": None}, "lr must be positive and finite .*, got None"),
    ("lr-bool", {"lr": True}, "lr must be positive and finite .*, got True"),
    ("lr-complex", {"lr": 0.1j}, "lr must be positive and finite .*, got 0.1j"),
    ("lr-tensor", {"lr": torch.tensor(0.1)}, "lr must be positive and finite .*, got tensor"),
    ("lr-numpy-bool", {"lr": np.True_}, r"lr must be positive and finite .*, got np.True_"),
    ("lr-numpy-nan", {"lr": np.float32("nan")}, r"lr must be positive and finite .*, got np.float32\(nan\)"),
    ("lr-numpy-inf", {"lr": np.float64("inf")}, r"lr must be positive and finite .*, got np.float64\(inf\)"),
    ("lr-numpy-zero", {"lr": np.float32(0)}, r"lr must be positive and finite .*, got np.float32\(0.0\)"),
    ("lr-numpy-array", {"lr": np.array([0.1])}, r"lr must be positive and finite .*, got array\(\[0.1\]\)"),
    ("momentum-one", {"optimizer": "sgd", "momentum": 1.0}, r"momentum must be in \[0, 1\) \(a float\), got 1.0"),
    ("momentum-negative", {"momentum": -0.1}, r"momentum must be in \[0, 1\).*, got -0.1"),
    ("momentum-nan", {"momentum": math.nan}, r"momentum must be in \[0, 1\).*, got nan"),
    ("momentum-string", {"momentum": "0.9"}, r"momentum must be in \[0, 1\).*, got '0.9'"),
    ("momentum-bool", {"momentum": True}, r"momentum must be in \[0, 1\).*, got True"),
    ("nesterov-int", {"optimizer": "sgd", "momentum": 0.9, "nesterov": 1}, "nesterov must be True or False, got 1"),
    ("nesterov-string", {"nesterov": "yes"}, "nesterov must be True or False, got 'yes'"),
    ("nesterov-with-adam", {"nesterov": True},
     "nesterov needs optimizer='sgd' and momentum > 0, got optimizer='adam' and momentum=0.0"),
    ("nesterov-without-momentum", {"optimizer": "sgd", "nesterov": True},
     "nesterov needs optimizer='sgd' and momentum > 0, got optimizer='sgd' and momentum=0.0"),
    ("momentum-with-adam", {"optimizer": "adam", "momentum": 0.9},
     r"momentum=0.9 would be ignored: optimizer='adam' takes no momentum, only 'sgd' and 'rmsprop' do "
     r"\(Adam's β₁ = 0.9, .*\); set momentum=0, or choose one of those"),
    ("momentum-with-adamw", {"optimizer": "adamw", "momentum": 0.5},
     "momentum=0.5 would be ignored: optimizer='adamw' takes no momentum, only 'sgd' and 'rmsprop' do"),
    ("momentum-with-adagrad", {"optimizer": "adagrad", "momentum": np.float32(0.9)},
     r"momentum=np.float32\(0.9\) would be ignored: optimizer='adagrad' takes no momentum, only 'sgd' and "
     "'rmsprop' do; set momentum=0"),
    ("weight_decay-negative", {"weight_decay": -1e-4}, "weight_decay must be a non-negative finite float, got -0.0001"),
    ("weight_decay-inf", {"weight_decay": math.inf}, "weight_decay must be a non-negative finite float, got inf"),
    ("weight_decay-nan", {"weight_decay": math.nan}, "weight_decay must be a non-negative finite float, got nan"),
    ("weight_decay-string", {"weight_decay": "0"}, "weight_decay must be a non-negative finite float, got '0'"),
    ("l1-negative", {"l1": -1.0}, "l1 must be a non-negative finite float, got -1.0"),
    ("l1-inf", {"l1": math.inf}, "l1 must be a non-negative finite float, got inf"),
    ("l1-nan", {"l1": math.nan}, "l1 must be a non-negative finite float, got nan"),
    ("l1-none", {"l1": None}, "l1 must be a non-negative finite float, got None"),
    ("batch_size-zero", {"batch_size": 0}, "batch_size must be a positive integer, got 0"),
    ("batch_size-negative", {"batch_size": -1}, "batch_size must be a positive integer, got -1"),
    ("batch_size-float", {"batch_size": 2.5}, "batch_size must be a positive integer, got 2.5"),
    ("batch_size-whole-float", {"batch_size": 64.0}, "batch_size must be a positive integer, got 64.0"),
    ("batch_size-bool", {"batch_size": True}, "batch_size must be a positive integer, got True"),
    ("batch_size-string", {"batch_size": "64"}, "batch_size must be a positive integer, got '64'"),
    ("batch_size-none", {"batch_size": None}, "batch_size must be a positive integer, got None"),
    ("epochs-zero", {"epochs": 0}, "epochs must be a positive integer, got 0"),
    ("epochs-float", {"epochs": 2.5}, "epochs must be a positive integer, got 2.5"),
    ("epochs-inf", {"epochs": math.inf}, "epochs must be a positive integer, got inf"),
    ("epochs-bool", {"epochs": True}, "epochs must be a positive integer, got True"),
    ("epochs-string", {"epochs": "5"}, "epochs must be a positive integer, got '5'"),
    ("epochs-numpy-bool", {"epochs": np.True_}, "epochs must be a positive integer, got np.True_"),
    ("epochs-numpy-zero", {"epochs": np.int64(0)}, r"epochs must be a positive integer, got np.int64\(0\)"),
    ("epochs-numpy-float", {"epochs": np.float64(5.0)}, r"epochs must be a positive integer, got np.float64\(5.0\)"),
    ("batch_size-numpy-negative", {"batch_size": np.int32(-64)},
     r"batch_size must be a positive integer, got np.int32\(-64\)"),
    ("hidden-numpy-bool", {"hidden": (64, np.True_)},
     r"hidden must be a tuple of positive integers .*, got \(64, np.True_\)"),
    ("hidden-numpy-zero", {"hidden": (np.uint8(0),)}, r"hidden must be .*, got \(np.uint8\(0\),\)"),
    ("hidden-numpy-array", {"hidden": np.array([128, 64])}, r"hidden must be .*, got array\(\[128,  64\]\)"),
    ("weight_decay-numpy-nan", {"weight_decay": np.float16("nan")}, "weight_decay must be .*, got np.float16\\(nan\\)"),
    ("dropout-numpy-bool", {"dropout": np.False_}, r"dropout must be in \[0, 1\).*, got np.False_"),
    ("lr_steps-numpy-bool-epoch", {"epochs": 5, "lr_steps": ((np.True_, 1e-4),)}, "lr_steps must be"),
    ("lr_steps-numpy-nan-lr", {"epochs": 5, "lr_steps": ((3, np.float32("nan")),)}, "lr_steps must be"),
    ("seed-numpy-bool", {"seed": np.False_}, r"seed must be an integer in .*, got np.False_"),
    ("seed-numpy-float", {"seed": np.float64(1.0)}, r"seed must be an integer in .*, got np.float64\(1.0\)"),
    ("max_shift-numpy-too-big", {"max_shift": np.int64(28)},
     r"max_shift must be an integer in \[0, 28\), got np.int64\(28\)"),
    ("hidden-zero", {"hidden": (0,)},
     r"hidden must be a tuple of positive integers \(the hidden layer widths\), got \(0,\)"),
    ("hidden-negative", {"hidden": (64, -8)}, r"hidden must be a tuple of positive integers .*, got \(64, -8\)"),
    ("hidden-float", {"hidden": (8.0,)}, r"hidden must be a tuple of positive integers .*, got \(8.0,\)"),
    ("hidden-bool", {"hidden": (True,)}, r"hidden must be a tuple of positive integers .*, got \(True,\)"),
    ("hidden-int", {"hidden": 128}, "hidden must be a tuple of positive integers .*, got 128"),
    ("hidden-string", {"hidden": "128"}, "hidden must be a tuple of positive integers .*, got '128'"),
    ("hidden-none", {"hidden": None}, "hidden must be a tuple of positive integers .*, got None"),
    ("hidden-nested", {"hidden": [[8]]}, r"hidden must be a tuple of positive integers .*, got \(\[8\],\)"),
    ("activation-unknown", {"activation": "swish"}, r"activation must be one of \['elu', 'gelu', .*\], got 'swish'"),
    ("activation-function", {"activation": F.relu}, "activation must be one of .*, got <function relu"),
    ("activation-none", {"activation": None}, "activation must be one of .*, got None"),
    ("dropout-one", {"dropout": 1.0}, r"dropout must be in \[0, 1\) \(a float\), got 1.0"),
    ("dropout-negative", {"dropout": -0.1}, r"dropout must be in \[0, 1\).*, got -0.1"),
    ("dropout-nan", {"dropout": math.nan}, r"dropout must be in \[0, 1\).*, got nan"),
    ("dropout-string", {"dropout": "0.5"}, r"dropout must be in \[0, 1\).*, got '0.5'"),
    ("loss-unknown", {"loss": "hinge"}, r"loss must be one of \['cross_entropy', 'mse'\], got 'hinge'"),
    ("loss-function", {"loss": F.cross_entropy}, "loss must be one of .*, got <function cross_entropy"),
    ("loss-unhashable", {"loss": ["mse"]}, r"loss must be one of .*, got \['mse'\]"),
    ("train_size-zero", {"train_size": 0}, "train_size must be a positive integer or None, got 0"),
    ("train_size-negative", {"train_size": -5}, "train_size must be a positive integer or None, got -5"),
    ("train_size-float", {"train_size": 2.5}, "train_size must be a positive integer or None, got 2.5"),
    ("train_size-bool", {"train_size": True}, "train_size must be a positive integer or None, got True"),
    ("train_size-string", {"train_size": "100"}, "train_size must be a positive integer or None, got '100'"),
    ("val_size-zero", {"val_size": 0}, "val_size must be a positive integer, got 0"),
    ("val_size-float", {"val_size": 2.5}, "val_size must be a positive integer, got 2.5"),
    ("val_size-none", {"val_size": None}, "val_size must be a positive integer, got None"),
    ("val_size-bool", {"val_size": True}, "val_size must be a positive integer, got True"),
    ("patience-zero", {"patience": 0}, "patience must be a positive integer or None, got 0"),
    ("patience-float", {"patience": 1.5}, "patience must be a positive integer or None, got 1.5"),
    ("patience-bool", {"patience": True}, "patience must be a positive integer or None, got True"),
    ("patience-string", {"patience": "3"}, "patience must be a positive integer or None, got '3'"),
    ("lr_steps-epoch-beyond", {"epochs": 5, "lr_steps": ((6, 1e-4),)},
     r"lr_steps must be \(epoch, lr\) pairs with increasing epochs in \[2, epochs\] and lr > 0, "
     r"got \(\(6, 0.0001\),\)"),
    ("lr_steps-epoch-one", {"epochs": 5, "lr_steps": ((1, 1e-4),)}, r"lr_steps must be .*, got \(\(1, 0.0001\),\)"),
    ("lr_steps-decreasing", {"epochs": 5, "lr_steps": ((3, 1e-4), (2, 1e-5))}, "lr_steps must be"),
    ("lr_steps-repeated", {"epochs": 5, "lr_steps": ((3, 1e-4), (3, 1e-5))}, "lr_steps must be"),
    ("lr_steps-lr-zero", {"epochs": 5, "lr_steps": ((3, 0.0),)}, "lr_steps must be"),
    ("lr_steps-lr-inf", {"epochs": 5, "lr_steps": ((3, math.inf),)}, r"lr_steps must be .*, got \(\(3, inf\),\)"),
    ("lr_steps-lr-nan", {"epochs": 5, "lr_steps": ((3, math.nan),)}, r"lr_steps must be .*, got \(\(3, nan\),\)"),
    ("lr_steps-lr-string", {"epochs": 5, "lr_steps": ((3, "1e-4"),)}, "lr_steps must be"),
    ("lr_steps-epoch-float", {"epochs": 5, "lr_steps": ((3.0, 1e-4),)}, "lr_steps must be"),
    ("lr_steps-epoch-bool", {"epochs": 5, "lr_steps": ((True, 1e-4),)}, "lr_steps must be"),
    ("lr_steps-single", {"epochs": 5, "lr_steps": ((3,),)}, "lr_steps must be"),
    ("lr_steps-int", {"epochs": 5, "lr_steps": 3}, "lr_steps must be .*, got 3"),
    ("lr_steps-string", {"epochs": 5, "lr_steps": "ab"}, "lr_steps must be .*, got 'ab'"),
    ("lr_steps-dict", {"epochs": 5, "lr_steps": {3: 1e-4}}, r"lr_steps must be .*, got \{3: 0.0001\}"),
    ("max_shift-negative", {"max_shift": -1}, r"max_shift must be an integer in \[0, 28\), got -1"),
    ("max_shift-28", {"max_shift": 28}, r"max_shift must be an integer in \[0, 28\), got 28"),
    ("max_shift-float", {"max_shift": 1.0}, r"max_shift must be an integer in \[0, 28\), got 1.0"),
    ("max_shift-bool", {"max_shift": True}, r"max_shift must be an integer in \[0, 28\), got True"),
    ("seed-too-big", {"seed": 2**64}, r"seed must be an integer in \[-2\*\*63, 2\*\*64\), got 18446744073709551616"),
    ("seed-too-small", {"seed": -2**63 - 1},
     r"seed must be an integer in \[-2\*\*63, 2\*\*64\), got -9223372036854775809"),
    ("seed-float", {"seed": 1.5}, r"seed must be an integer in .*, got 1.5"),
    ("seed-string", {"seed": "0"}, r"seed must be an integer in .*, got '0'"),
    ("seed-none", {"seed": None}, r"seed must be an integer in .*, got None"),
    ("seed-bool", {"seed": True}, r"seed must be an integer in .*, got True"),
    ("field-unknown", {"lrr": 0.1}, (TypeError,
     r"Experiment has no field\(s\) \['lrr'\]; its fields are \['optimizer', 'lr',")),
    ("field-torch-name", {"betas": (0.9, 0.999)}, (TypeError,
     r"Experiment has no field\(s\) \['betas'\]; its fields are")),
]


@pytest.mark.parametrize("fields, expected", [pytest.param(f, e, id=i) for i, f, e in EXPERIMENT_CASES])
def test_experiment_rejects(fields, expected):
    error, pattern = expected if isinstance(expected, tuple) else (ValueError, expected)
    with pytest.raises(error, match=pattern):
        Experiment(**fields)


def test_experiment_rejects_positional_arguments():
    with pytest.raises(TypeError, match=r"Experiment takes its fields by keyword, e.g. Experiment\(lr=0.1\), got "
                                        r"positional arguments \('adam',\); its fields are \['optimizer'"):
        Experiment("adam")


@pytest.mark.parametrize("changes, error, pattern", [
    pytest.param({"lr": "0.1"}, ValueError, "lr must be positive and finite .*, got '0.1'", id="bad-value"),
    pytest.param({"learning_rate": 0.1}, TypeError, r"Experiment has no field\(s\) \['learning_rate'\]",
                 id="unknown-field"),
])
def test_replace_validates_the_variant(changes, error, pattern):
    with pytest.raises(error, match=pattern):
        dataclasses.replace(Experiment(), **changes)


def test_build_optimizer_with_no_parameters_gets_torchs_own_clear_error():
    """Documented: ``params`` are what any torch optimizer takes; torch rejects an empty list."""
    with pytest.raises(ValueError, match="empty parameter list"):
        Experiment().build_optimizer([])


# ------------------------------------------------------------------------------------------------
# experiments' functions. Nothing here may train: every case fails before a run starts.

SMALL = Experiment(hidden=(8,), epochs=1, batch_size=32)


@pytest.fixture
def no_training(tmp_path, monkeypatch):
    """A private cache, synthetic data, and a train_model that fails the test if it is reached."""
    monkeypatch.setattr(data, "mnist_splits", synthetic_splits)
    monkeypatch.setenv("ANNLIB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ANNLIB_WORKERS", raising=False)

    def reached(*args, **kwargs):
        raise AssertionError("a bad input reached training")

    monkeypatch.setattr(experiments.train, "fit", reached)
    return tmp_path


FUNCTION_CASES = [
    ("run-config-string", lambda: experiments.run("adam"), TypeError,
     "config must be an annlib.experiments.Experiment, got str 'adam'"),
    ("run-config-dict", lambda: experiments.run({"lr": 0.1}), TypeError,
     r"config must be an annlib.experiments.Experiment, got dict \{'lr': 0.1\}"),
    ("run-config-none", lambda: experiments.run(None), TypeError, "config must be an .*Experiment, got NoneType"),
    ("run-cache-string", lambda: experiments.run(SMALL, cache="no"), TypeError,
     "cache must be True or False, got 'no'"),
    ("run-progress-int", lambda: experiments.run(SMALL, progress=1), TypeError,
     "progress must be True or False or None, got 1"),
    ("run-device-unknown", lambda: experiments.run(SMALL, cache=False, device="gpu"), ValueError,
     "device must be a torch.device or a name like 'cpu' or 'cuda', got 'gpu'"),
    ("run-device-number-string", lambda: experiments.run(SMALL, cache=False, device="0"), ValueError,
     "device must be .*, got '0'"),
    ("run-device-absent-gpu", lambda: experiments.run(SMALL, cache=False, device="cuda:7"), ValueError,
     r"device 'cuda:7' is not available: this machine has \d+ CUDA device\(s\); use 'cpu'"),
    ("train_model-config-string", lambda: experiments.train_model("adam"), TypeError,
     "config must be an annlib.experiments.Experiment, got str"),
    ("train_model-validate-string", lambda: experiments.train_model(SMALL, validate="no"), TypeError,
     "validate must be True or False, got 'no'"),
    ("train_model-device-list", lambda: experiments.train_model(SMALL, device=["cpu"]), ValueError,
     r"device must be .*, got \['cpu'\]"),
    ("run_all-list", lambda: experiments.run_all([SMALL]), TypeError,
     r"configs must be a mapping of names to Experiments, e.g. \{'adam': Experiment\(\)\}, got list"),
    ("run_all-single-config", lambda: experiments.run_all(SMALL), TypeError,
     "configs must be a mapping .*, got Experiment"),
    ("run_all-value-string", lambda: experiments.run_all({"a": SMALL, "b": "adam"}), TypeError,
     "configs\\['b'\\] must be an Experiment, got str 'adam'"),
    ("run_all-value-dict", lambda: experiments.run_all({"a": {"lr": 0.1}}), TypeError,
     "configs\\['a'\\] must be an Experiment, got dict"),
    ("run_all-workers-zero", lambda: experiments.run_all({"a": SMALL}, workers=0), ValueError,
     r"workers must be a positive integer, got 0 \(or None: default_workers\)"),
    ("run_all-workers-float", lambda: experiments.run_all({"a": SMALL}, workers=2.5), ValueError,
     "workers must be a positive integer, got 2.5"),
    ("run_all-workers-bool", lambda: experiments.run_all({"a": SMALL}, workers=True), ValueError,
     "workers must be a positive integer, got True"),
    ("run_all-workers-string", lambda: experiments.run_all({"a": SMALL}, workers="2"), ValueError,
     "workers must be a positive integer, got '2'"),
    ("run_all-cache-none", lambda: experiments.run_all({"a": SMALL}, cache=None), TypeError,
     "cache must be True or False, got None"),
    ("run_all-device-unknown", lambda: experiments.run_all({"a": SMALL}, device="tpu"), ValueError,
     "device must be .*, got 'tpu'"),
    ("cache_key-config-string", lambda: experiments.cache_key("adam"), TypeError,
     "config must be an annlib.experiments.Experiment, got str"),
    ("cache_key-code-int", lambda: experiments.cache_key(SMALL, code=5), TypeError,
     r"code must be a str \(a code checksum\) or None, got 5"),
    ("Result-config-dict", lambda: experiments.Result({"lr": 0.1}, train.History()), TypeError,
     "config must be an annlib.experiments.Experiment, got dict"),
    ("Result-history-dict", lambda: experiments.Result(SMALL, {"train_loss": []}), TypeError,
     "history must be an annlib.train.History, got dict"),
    ("Result-cached-string", lambda: experiments.Result(SMALL, train.History(), cached="yes"), TypeError,
     "cached must be True or False, got 'yes'"),
    ("default_workers-device-unknown", lambda: experiments.default_workers("gpu"), ValueError,
     "device must be .*, got 'gpu'"),
]


@pytest.mark.parametrize("call, error, pattern", [pytest.param(c, e, p, id=i) for i, c, e, p in FUNCTION_CASES])
def test_experiments_functions_reject(no_training, call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


@pytest.mark.parametrize("value", ["abc", "2.5", "0", "-1", "1e3", "²"])
def test_bad_annlib_workers_is_named(no_training, monkeypatch, value):
    monkeypatch.setenv("ANNLIB_WORKERS", value)
    with pytest.raises(ValueError, match=f"ANNLIB_WORKERS must be a positive integer, got {value}"):
        experiments.default_workers(torch.device("cpu"))
    with pytest.raises(ValueError, match="ANNLIB_WORKERS must be a positive integer"):
        experiments.run_all({"a": SMALL}, device="cpu")


@pytest.mark.parametrize("value, expected", [(" 3 ", 3), ("", None)], ids=["spaces", "empty"])
def test_annlib_workers_documented_results(no_training, monkeypatch, value, expected):
    """Documented: surrounding spaces are ignored; an empty ANNLIB_WORKERS counts as unset."""
    monkeypatch.setenv("ANNLIB_WORKERS", value)
    workers = experiments.default_workers(torch.device("cpu"))
    assert workers == expected if expected is not None else workers >= 1


def test_cache_dir_that_is_a_file_is_named(no_training, monkeypatch):
    monkeypatch.setenv("ANNLIB_CACHE_DIR", str(no_training / "a-file"))
    (no_training / "a-file").write_text("not a folder")
    with pytest.raises(ValueError, match=r"the experiment cache .*a-file \(ANNLIB_CACHE_DIR\) is a file; "
                                         r"it must be a directory"):
        experiments.cache_dir()
    with pytest.raises(ValueError, match="is a file; it must be a directory"):
        experiments.run(SMALL)


def test_run_all_of_no_configs_is_an_empty_dict(no_training):
    """Documented: no configs give an empty dict."""
    assert experiments.run_all({}, device="cpu", progress=False) == {}


# ------------------------------------------------------------------------------------------------
# data's functions. `root` is a folder with four tiny valid IDX files (MNIST_MD5 patched to
# theirs), so that a case that got past the checks would load those, never the network.

X = torch.zeros(10, 784)
Y = torch.arange(10)


def _write(root, name, content: bytes):
    (root / name).write_bytes(content)
    return root / name


DATA_CASES = [
    ("ensure_mnist-source-unknown", lambda root: data.ensure_mnist(root, sources=("ftp",)), ValueError,
     rf"unknown MNIST source\(s\) in \('ftp',\): sources must be a non-empty tuple of names from {SOURCES}"),
    ("ensure_mnist-sources-string", lambda root: data.ensure_mnist(root, sources="local"), ValueError,
     rf"unknown MNIST source\(s\) in 'local': sources must be a non-empty tuple of names from {SOURCES}"),
    ("ensure_mnist-sources-empty", lambda root: data.ensure_mnist(root, sources=()), ValueError,
     r"unknown MNIST source\(s\) in \(\): sources must be a non-empty tuple"),
    ("ensure_mnist-sources-none", lambda root: data.ensure_mnist(root, sources=None), ValueError,
     r"unknown MNIST source\(s\) in None"),
    ("ensure_mnist-sources-number", lambda root: data.ensure_mnist(root, sources=(1,)), ValueError,
     r"unknown MNIST source\(s\) in \(1,\)"),
    ("ensure_mnist-timeout-zero", lambda root: data.ensure_mnist(root, timeout=0), ValueError,
     r"timeout must be positive and finite \(seconds\), got 0"),
    ("ensure_mnist-timeout-negative", lambda root: data.ensure_mnist(root, timeout=-1.0), ValueError,
     "timeout must be positive and finite .*, got -1.0"),
    ("ensure_mnist-timeout-nan", lambda root: data.ensure_mnist(root, timeout=math.nan), ValueError,
     "timeout must be positive and finite .*, got nan"),
    ("ensure_mnist-timeout-inf", lambda root: data.ensure_mnist(root, timeout=math.inf), ValueError,
     "timeout must be positive and finite .*, got inf"),
    ("ensure_mnist-timeout-string", lambda root: data.ensure_mnist(root, timeout="10"), ValueError,
     "timeout must be positive and finite .*, got '10'"),
    ("ensure_mnist-timeout-none", lambda root: data.ensure_mnist(root, timeout=None), ValueError,
     "timeout must be positive and finite .*, got None"),
    ("ensure_mnist-root-int", lambda root: data.ensure_mnist(5), TypeError,
     r"root must be a path \(str or os.PathLike\) or None, got int 5"),
    ("ensure_mnist-root-bytes", lambda root: data.ensure_mnist(bytes(str(root), "utf8")), TypeError,
     r"root must be a path \(str or os.PathLike\) or None, got bytes"),
    ("ensure_mnist-root-is-a-file", lambda root: data.ensure_mnist(_write(root, "f", b"x"), sources=("local",)),
     data.MNISTUnavailableError, "(?s)MNIST is not available: .*missing or corrupt in .*f/MNIST/raw.*by hand"),
    ("ensure_mnist-root-empty-folder", lambda root: data.ensure_mnist(root / "nothing", sources=("local",)),
     data.MNISTUnavailableError,
     r"(?s)\['train-images-idx3-ubyte', .*\] missing or corrupt.*no network source was allowed"),
    ("load_mnist-root-list", lambda root: data.load_mnist([root]), TypeError, "root must be a path .*, got list"),
    ("load_mnist-timeout-negative", lambda root: data.load_mnist(root, timeout=-5), ValueError,
     "timeout must be positive and finite .*, got -5"),
    ("read_idx-path-int", lambda root: data.read_idx(3), TypeError, "path must be a str or os.PathLike, got int 3"),
    ("read_idx-path-none", lambda root: data.read_idx(None), TypeError,
     "path must be a str or os.PathLike, got NoneType"),
    ("read_idx-png", lambda root: data.read_idx(_write(root, "x.png", b"\x89PNG\r\n\x1a\n" + bytes(100))), ValueError,
     r"x.png is not an IDX file of unsigned bytes: it starts with '89504e47', "
     r"expected 000008 and a byte for the dimensions"),
    ("read_idx-empty-file", lambda root: data.read_idx(_write(root, "empty", b"")), ValueError,
     "empty is not an IDX file of unsigned bytes: it starts with 'nothing'"),
    ("read_idx-float-idx", lambda root: data.read_idx(_write(root, "f32", b"\x00\x00\x0d\x01" + bytes(8))), ValueError,
     "f32 is not an IDX file of unsigned bytes: it starts with '00000d01'"),
    ("read_idx-gzipped", lambda root: data.read_idx(_write(root, "x.gz", b"\x1f\x8b\x08\x00" + bytes(20))), ValueError,
     "x.gz is not an IDX file of unsigned bytes: it starts with '1f8b0800'"),
    ("read_idx-header-cut", lambda root: data.read_idx(_write(root, "cut", b"\x00\x00\x08\xff" + bytes(6))), ValueError,
     "cut has 10 bytes, too few for the header of 255 dimensions it declares: truncated or corrupted"),
    ("read_idx-truncated", lambda root: data.read_idx(_write(root, "short", idx_bytes(np.zeros((5, 28, 28)))[:-7])),
     ValueError, r"short holds 3913 bytes of data, its header says \(5, 28, 28\) = 3920: truncated or corrupted"),
    ("read_idx-trailing-bytes", lambda root: data.read_idx(_write(root, "long", idx_bytes(np.zeros((2, 3))) + b"\x00")),
     ValueError, r"long holds 7 bytes of data, its header says \(2, 3\) = 6: truncated or corrupted"),
    ("read_idx-negative-dimension",
     lambda root: data.read_idx(_write(root, "neg", b"\x00\x00\x08\x01\xff\xff\xff\xff")),
     ValueError, r"neg holds 0 bytes of data, its header says \(-1,\) = -1: truncated or corrupted"),
    ("read_idx-missing-file", lambda root: data.read_idx(root / "absent"), FileNotFoundError, "absent"),
    ("read_idx-directory", lambda root: data.read_idx(root), IsADirectoryError, str),
    ("to_features-numpy", lambda root: data.to_features(np.zeros((2, 28, 28), np.uint8)), TypeError,
     r"images must be a torch.Tensor of uint8 images \(N, H, W\), got ndarray"),
    ("to_features-list", lambda root: data.to_features([[0] * 28] * 28), TypeError,
     "images must be a torch.Tensor .*, got list"),
    ("to_features-features", lambda root: data.to_features(X), ValueError,
     r"expected uint8 images of shape \(N, H, W\), got torch.float32 \(10, 784\)"),
    ("to_features-one-image", lambda root: data.to_features(torch.zeros(28, 28, dtype=torch.uint8)), ValueError,
     r"expected uint8 images of shape \(N, H, W\), got torch.uint8 \(28, 28\)"),
    ("to_features-int64-images", lambda root: data.to_features(torch.zeros(2, 28, 28, dtype=torch.int64)), ValueError,
     r"expected uint8 images .*, got torch.int64 \(2, 28, 28\)"),
    ("random_shift-numpy", lambda root: data.random_shift(X.numpy(), 1), TypeError,
     "x must be a torch.Tensor of images as rows of 784 pixels, got ndarray"),
    ("random_shift-images", lambda root: data.random_shift(torch.zeros(4, 28, 28), 1), ValueError,
     r"expected images as rows of 784 pixels \(floating point, standardized\), "
     r"got torch.float32 of shape \(4, 28, 28\)"),
    ("random_shift-one-row", lambda root: data.random_shift(torch.zeros(784), 1), ValueError, r"of shape \(784,\)"),
    ("random_shift-wrong-width", lambda root: data.random_shift(torch.zeros(4, 100), 1), ValueError,
     r"of shape \(4, 100\)"),
    ("random_shift-uint8", lambda root: data.random_shift(torch.zeros(4, 784, dtype=torch.uint8), 1), ValueError,
     r"expected images as rows of 784 pixels \(floating point, standardized\), got torch.uint8"),
    ("random_shift-negative", lambda root: data.random_shift(X, -1), ValueError,
     r"max_shift must be an integer in \[0, 28\), got -1"),
    ("random_shift-28", lambda root: data.random_shift(X, 28), ValueError,
     r"max_shift must be an integer in \[0, 28\), got 28"),
    ("random_shift-float", lambda root: data.random_shift(X, 1.5), ValueError, "max_shift must be .*, got 1.5"),
    ("random_shift-bool", lambda root: data.random_shift(X, True), ValueError, "max_shift must be .*, got True"),
    ("random_shift-string", lambda root: data.random_shift(X, "2"), ValueError, "max_shift must be .*, got '2'"),
    ("random_shift-generator-int", lambda root: data.random_shift(X, 1, generator=0), TypeError,
     "generator must be a CPU torch.Generator or None, got 0"),
    ("random_shift-numpy-bool", lambda root: data.random_shift(X, np.True_), ValueError,
     "max_shift must be .*, got np.True_"),
    ("random_shift-numpy-float", lambda root: data.random_shift(X, np.float32(1)), ValueError,
     r"max_shift must be .*, got np.float32\(1.0\)"),
    ("train_val_split-lists", lambda root: data.train_val_split(X.tolist(), Y, val_size=3), TypeError,
     r"\(x, y\): x must be a torch.Tensor, got list"),
    ("train_val_split-numpy-y", lambda root: data.train_val_split(X, Y.numpy(), val_size=3), TypeError,
     r"\(x, y\): y must be a torch.Tensor, got ndarray"),
    ("train_val_split-lengths-differ", lambda root: data.train_val_split(X, Y[:7], val_size=3), ValueError,
     r"\(x, y\): x has 10 rows but y has 7; they need one row per sample"),
    ("train_val_split-scalar", lambda root: data.train_val_split(torch.tensor(1.0), Y, val_size=3), ValueError,
     r"\(x, y\): x must have one row per sample, got a 0-dimensional tensor"),
    ("train_val_split-empty", lambda root: data.train_val_split(X[:0], Y[:0], val_size=1), ValueError,
     r"val_size must be an integer in \(0, 0\), got 1"),
    ("train_val_split-val_size-zero", lambda root: data.train_val_split(X, Y, val_size=0), ValueError,
     r"val_size must be an integer in \(0, 10\), got 0"),
    ("train_val_split-val_size-all", lambda root: data.train_val_split(X, Y, val_size=10), ValueError,
     r"val_size must be an integer in \(0, 10\), got 10"),
    ("train_val_split-val_size-more", lambda root: data.train_val_split(X, Y, val_size=11), ValueError,
     r"val_size must be an integer in \(0, 10\), got 11"),
    ("train_val_split-val_size-negative", lambda root: data.train_val_split(X, Y, val_size=-3), ValueError,
     "val_size must be .*, got -3"),
    ("train_val_split-val_size-float", lambda root: data.train_val_split(X, Y, val_size=2.5), ValueError,
     "val_size must be .*, got 2.5"),
    ("train_val_split-val_size-bool", lambda root: data.train_val_split(X, Y, val_size=True), ValueError,
     "val_size must be .*, got True"),
    ("train_val_split-val_size-fraction", lambda root: data.train_val_split(X, Y, val_size=0.2), ValueError,
     "val_size must be .*, got 0.2"),
    ("train_val_split-seed-string", lambda root: data.train_val_split(X, Y, val_size=3, seed="0"), ValueError,
     r"seed must be an integer in \[-2\*\*63, 2\*\*64\) \(torch's seed range\), got '0'"),
    ("train_val_split-seed-huge", lambda root: data.train_val_split(X, Y, val_size=3, seed=2**64), ValueError,
     "seed must be an integer in .*, got 18446744073709551616"),
    ("train_val_split-val_size-numpy-bool", lambda root: data.train_val_split(X, Y, val_size=np.True_), ValueError,
     "val_size must be .*, got np.True_"),
    ("train_val_split-seed-numpy-float", lambda root: data.train_val_split(X, Y, val_size=3, seed=np.float64(0)),
     ValueError, r"seed must be an integer in .*, got np.float64\(0.0\)"),
    ("mnist_splits-val_size-zero", lambda root: data.mnist_splits(root, val_size=0), ValueError,
     "val_size must be a positive integer, got 0"),
    ("mnist_splits-val_size-float", lambda root: data.mnist_splits(root, val_size=10.0), ValueError,
     "val_size must be a positive integer, got 10.0"),
    ("mnist_splits-val_size-all", lambda root: data.mnist_splits(root, val_size=60), ValueError,
     r"val_size must be an integer in \(0, 60\), got 60"),
    ("mnist_splits-train_size-zero", lambda root: data.mnist_splits(root, val_size=10, train_size=0), ValueError,
     "train_size must be a positive integer or None, got 0"),
    ("mnist_splits-train_size-float", lambda root: data.mnist_splits(root, val_size=10, train_size=2.5), ValueError,
     "train_size must be a positive integer or None, got 2.5"),
    ("mnist_splits-train_size-too-big", lambda root: data.mnist_splits(root, val_size=10, train_size=51), ValueError,
     r"train_size must be in \(0, 50\], got 51"),
    ("mnist_splits-seed-float", lambda root: data.mnist_splits(root, val_size=10, seed=0.5), ValueError,
     "seed must be an integer in .*, got 0.5"),
    ("mnist_splits-device-unknown", lambda root: data.mnist_splits(root, val_size=10, device="gpu"), ValueError,
     "device must be a torch.device or a name like 'cpu' or 'cuda', got 'gpu'"),
    ("mnist_splits-device-absent-gpu", lambda root: data.mnist_splits(root, val_size=10, device="cuda:7"), ValueError,
     "device 'cuda:7' is not available"),
    ("mnist_splits-root-int", lambda root: data.mnist_splits(7, val_size=10), TypeError,
     "root must be a path .*, got int 7"),
    ("Batches-batch_size-zero", lambda root: data.Batches(X, Y, 0), ValueError,
     "batch_size must be a positive integer, got 0"),
    ("Batches-batch_size-negative", lambda root: data.Batches(X, Y, -1), ValueError,
     "batch_size must be a positive integer, got -1"),
    ("Batches-batch_size-float", lambda root: data.Batches(X, Y, 2.5), ValueError,
     "batch_size must be a positive integer, got 2.5"),
    ("Batches-batch_size-bool", lambda root: data.Batches(X, Y, True), ValueError,
     "batch_size must be a positive integer, got True"),
    ("Batches-batch_size-string", lambda root: data.Batches(X, Y, "4"), ValueError,
     "batch_size must be a positive integer, got '4'"),
    ("Batches-batch_size-none", lambda root: data.Batches(X, Y, None), ValueError,
     "batch_size must be a positive integer, got None"),
    ("Batches-lists", lambda root: data.Batches(X.tolist(), Y.tolist(), 4), TypeError,
     r"\(x, y\): x must be a torch.Tensor, got list"),
    ("Batches-lengths-differ", lambda root: data.Batches(X, Y[:9], 4), ValueError, r"x has 10 rows but y has 9"),
    ("Batches-empty", lambda root: data.Batches(X[:0], Y[:0], 4), ValueError,
     "cannot batch an empty dataset: x and y need at least one row"),
    ("Batches-scalar", lambda root: data.Batches(torch.tensor(1.0), torch.tensor(1), 4), ValueError,
     "x must have one row per sample, got a 0-dimensional tensor"),
    ("Batches-shuffle-string", lambda root: data.Batches(X, Y, 4, shuffle="no"), TypeError,
     "shuffle must be True or False, got 'no'"),
    ("Batches-drop_last-int", lambda root: data.Batches(X, Y, 4, drop_last=1), TypeError,
     "drop_last must be True or False, got 1"),
    ("Batches-seed-none", lambda root: data.Batches(X, Y, 4, seed=None), ValueError,
     "seed must be an integer in .*, got None"),
    ("Batches-batch_size-numpy-bool", lambda root: data.Batches(X, Y, np.True_), ValueError,
     "batch_size must be a positive integer, got np.True_"),
    ("Batches-batch_size-numpy-zero", lambda root: data.Batches(X, Y, np.int64(0)), ValueError,
     r"batch_size must be a positive integer, got np.int64\(0\)"),
    ("Batches-seed-numpy-bool", lambda root: data.Batches(X, Y, 4, seed=np.False_), ValueError,
     "seed must be an integer in .*, got np.False_"),
    ("mnist_splits-val_size-numpy-bool", lambda root: data.mnist_splits(root, val_size=np.True_), ValueError,
     "val_size must be a positive integer, got np.True_"),
    ("ensure_mnist-timeout-numpy-nan", lambda root: data.ensure_mnist(root, timeout=np.float32("nan")), ValueError,
     r"timeout must be positive and finite \(seconds\), got np.float32\(nan\)"),
    ("ensure_mnist-timeout-numpy-bool", lambda root: data.ensure_mnist(root, timeout=np.True_), ValueError,
     "timeout must be positive and finite .*, got np.True_"),
    ("Splits-train-tensor", lambda root: data.Splits(train=X, val=(X, Y), test=(X, Y), source="x"), TypeError,
     "train must be a pair \\(x, y\\) of tensors, got Tensor"),
    ("Splits-val-rows-differ", lambda root: data.Splits(train=(X, Y), val=(X, Y[:3]), test=(X, Y), source="x"),
     ValueError,
     "val: x has 10 rows but y has 3"),
    ("Splits-test-numpy", lambda root: data.Splits(train=(X, Y), val=(X, Y), test=(X.numpy(), Y), source="x"),
     TypeError,
     "test: x must be a torch.Tensor, got ndarray"),
    ("Splits-source-none", lambda root: data.Splits(train=(X, Y), val=(X, Y), test=(X, Y), source=None), TypeError,
     "source must be a str, got None"),
    ("MNIST-float-images", lambda root: data.MNIST(X.reshape(10, 28, 28), Y, X.reshape(10, 28, 28), Y, "x"), ValueError,
     r"train must be uint8 images \(N, H, W\) and labels \(N,\), got torch.float32 \(10, 28, 28\) and \(10,\)"),
    ("MNIST-labels-differ", lambda root: data.MNIST(torch.zeros(3, 28, 28, dtype=torch.uint8), Y,
                                                   torch.zeros(3, 28, 28, dtype=torch.uint8), Y[:3], "x"), ValueError,
     "train: x has 3 rows but y has 10"),
]


@pytest.mark.parametrize("call, error, pattern", [pytest.param(c, e, p, id=i) for i, c, e, p in DATA_CASES])
def test_data_functions_reject(tiny_mnist, call, error, pattern):
    root, _ = tiny_mnist
    with pytest.raises(error) as raised:
        call(root)
    if pattern is not str:  # str: any message (the OSError names the path)
        assert raised.match(pattern)


# Documented results of odd but valid inputs (each is stated in the docstring of its function).

def test_to_features_of_no_images_is_empty():
    out = data.to_features(torch.zeros(0, 28, 28, dtype=torch.uint8))
    assert out.shape == (0, 784) and out.dtype == torch.float32


def test_random_shift_of_no_rows_is_empty():
    assert data.random_shift(X[:0], 3, generator=torch.Generator().manual_seed(0)).shape == (0, 784)


@pytest.mark.parametrize("value", [math.nan, math.inf], ids=["nan", "inf"])
def test_random_shift_moves_nan_and_inf_pixels_without_computing_on_them(value):
    x = torch.zeros(20, 784)
    x[:, 14 * 28 + 14] = value  # the centre pixel: it stays inside the image after any shift
    out = data.random_shift(x, 2, generator=torch.Generator().manual_seed(0))
    special = torch.isnan(out) if math.isnan(value) else torch.isinf(out)
    assert special.sum(dim=1).tolist() == [1] * 20   # moved, never spread or created
    assert torch.equal(data.random_shift(x, 0).isnan(), x.isnan())


def test_batches_larger_than_the_data_give_one_batch_or_none():
    assert [len(yb) for _, yb in data.Batches(X, Y, 64)] == [10]
    assert len(data.Batches(X, Y, 64, drop_last=True)) == 0 and list(data.Batches(X, Y, 64, drop_last=True)) == []


def test_batches_serve_nan_values_as_they_are():
    x = X.clone()
    x[3] = math.nan
    served = torch.cat([xb for xb, _ in data.Batches(x, Y, 4, shuffle=False)])
    assert served.isnan().all(dim=1).tolist() == [i == 3 for i in range(10)]


def test_empty_data_dir_variable_means_the_default_root(monkeypatch):
    monkeypatch.setenv("ANNLIB_DATA_DIR", "")
    assert data.default_root() == mnist.Path.home() / ".cache" / "annlib"
