"""The bad-input matrix for annlib.train: each bad argument gets a clear error that names the bad
value and what would be valid, or a documented result; never a crash deep inside torch."""

import math
import re

import pytest
import torch
from torch import nn

from annlib import models, train

pytestmark = pytest.mark.bad_input


def blobs(n=40):
    g = torch.Generator().manual_seed(0)
    y = torch.arange(n) % 2
    return torch.randn(n, 2, generator=g) + 3 * y.unsqueeze(1).float(), y


def model():
    torch.manual_seed(0)
    return models.mlp([2, 8, 2])


def with_value(x, row, value):
    x = x.clone()
    x[row, 0] = value
    return x


X, Y = blobs()

# (id, keyword arguments of fit that replace the good ones, exception, pattern the message must match)
FIT_CASES = [
    ("model-function", {"model": len}, TypeError, "model must be a torch.nn.Module, got builtin_function"),
    ("model-string", {"model": "mlp"}, TypeError, "model must be a torch.nn.Module, got str"),
    ("optimizer-class", {"optimizer": torch.optim.SGD}, TypeError, "optimizer must be a torch.optim.Optimizer, got type"),
    ("optimizer-string", {"optimizer": "adam"}, TypeError, "optimizer must be a torch.optim.Optimizer, got str"),
    ("epochs-zero", {"epochs": 0}, ValueError, "epochs must be a positive integer, got 0"),
    ("epochs-negative", {"epochs": -3}, ValueError, "epochs must be a positive integer, got -3"),
    ("epochs-float", {"epochs": 2.5}, ValueError, "epochs must be a positive integer, got 2.5"),
    ("epochs-bool", {"epochs": True}, ValueError, "epochs must be a positive integer, got True"),
    ("epochs-string", {"epochs": "3"}, ValueError, "epochs must be a positive integer, got '3'"),
    ("epochs-none", {"epochs": None}, ValueError, "epochs must be a positive integer, got None"),
    ("batch_size-zero", {"batch_size": 0}, ValueError, "batch_size must be a positive integer, got 0"),
    ("batch_size-float", {"batch_size": 1.5}, ValueError, "batch_size must be a positive integer, got 1.5"),
    ("batch_size-string", {"batch_size": "64"}, ValueError, "batch_size must be a positive integer, got '64'"),
    ("batch_size-bool", {"batch_size": False}, ValueError, "batch_size must be a positive integer, got False"),
    ("train_data-tensor", {"train_data": X}, TypeError, "train_data must be a pair \\(x, y\\) of tensors, got Tensor"),
    ("train_data-triple", {"train_data": (X, Y, Y)}, TypeError, "train_data must be a pair \\(x, y\\) of tensors, got tuple"),
    ("train_data-list-of-lists", {"train_data": (X.tolist(), Y)}, TypeError, r"train_data: x must be a torch.Tensor, got list"),
    ("train_data-numpy", {"train_data": (X.numpy(), Y)}, TypeError, r"train_data: x must be a torch.Tensor, got ndarray"),
    ("train_data-rows-differ", {"train_data": (X, Y[:-1])}, ValueError,
     "train_data: x has 40 rows but y has 39; they need one row per sample"),
    ("train_data-scalar-y", {"train_data": (X, torch.tensor(1))}, ValueError, "train_data: y must have one row per sample, got a 0-dimensional tensor"),
    ("train_data-empty", {"train_data": (X[:0], Y[:0])}, ValueError,
     r"train_data is empty \(shapes \(0, 2\) and \(0,\)\); it needs at least one sample"),
    ("train_data-nan", {"train_data": (with_value(X, 7, math.nan), Y)}, ValueError,
     "train_data: x has NaN or infinite values in 1 rows \\(the first is row 7\\)"),
    ("train_data-inf", {"train_data": (with_value(with_value(X, 3, math.inf), 9, -math.inf), Y)}, ValueError,
     "x has NaN or infinite values in 2 rows \\(the first is row 3\\); training needs finite inputs"),
    ("val_data-rows-differ", {"val_data": (X[:5], Y[:4])}, ValueError, "val_data: x has 5 rows but y has 4; they need one row per sample"),
    ("val_data-nan", {"val_data": (with_value(X, 0, math.nan), Y)}, ValueError, "val_data: x has NaN"),
    ("test_data-tensor", {"test_data": Y}, TypeError, "test_data must be a pair"),
    ("test_data-empty", {"test_data": (X[:0], Y[:0])}, ValueError, "test_data is empty"),
    ("patience-zero", {"patience": 0, "val_data": (X, Y)}, ValueError, "patience must be a positive integer, got 0"),
    ("patience-float", {"patience": 1.5, "val_data": (X, Y)}, ValueError, "patience must be a positive integer, got 1.5"),
    ("patience-without-val", {"patience": 2}, ValueError, r"early stopping \(patience=2\) needs val_data"),
    ("l1-negative", {"l1": -0.1}, ValueError, "l1 must be a finite number >= 0, got -0.1"),
    ("l1-nan", {"l1": math.nan}, ValueError, "l1 must be a finite number >= 0, got nan"),
    ("l1-inf", {"l1": math.inf}, ValueError, "l1 must be a finite number >= 0, got inf"),
    ("l1-string", {"l1": "0.1"}, ValueError, "l1 must be a finite number >= 0, got '0.1'"),
    ("l1-bool", {"l1": True}, ValueError, "l1 must be a finite number >= 0, got True"),
    ("loss_fn-name", {"loss_fn": "cross_entropy"}, TypeError, "loss_fn must be callable, got 'cross_entropy'"),
    ("augment-number", {"augment": 2}, TypeError, "augment must be callable, got 2"),
    ("augment-drops-rows", {"augment": lambda x: x[:-1]}, ValueError, "augment returned 39 rows for 40 labels"),
    ("lr_steps-epoch-beyond", {"lr_steps": {4: 0.1}}, ValueError, r"lr_steps epochs must be integers in \[1, 3\], got 4"),
    ("lr_steps-epoch-float", {"lr_steps": {2.0: 0.1}}, ValueError, r"lr_steps epochs must be integers in \[1, 3\], got 2.0"),
    ("lr_steps-lr-zero", {"lr_steps": {2: 0.0}}, ValueError, "lr_steps learning rates must be positive and finite, got 0.0"),
    ("lr_steps-lr-inf", {"lr_steps": {2: math.inf}}, ValueError, "must be positive and finite, got inf"),
    ("lr_steps-lr-string", {"lr_steps": {2: "0.1"}}, ValueError, "must be positive and finite, got '0.1'"),
    ("device-unknown", {"device": "gpu"}, ValueError,
     "device must be a torch.device or a name like 'cpu' or 'cuda', got 'gpu'"),
    # the data against the model, and the optimizer against the model: found before any step
    ("optimizer-of-another-model", {"optimizer": torch.optim.SGD(model().parameters(), lr=0.1)}, ValueError,
     r"the optimizer holds none of the model's 4 parameter tensors.*a cell rebuilt the model"),
    ("x-float64-numpy", {"train_data": (X.double(), Y)}, TypeError,
     r"train_data: x is torch.float64 but the model's parameters are torch.float32: convert the inputs with "
     r"x.to\(torch.float32\) \(NumPy arrays arrive as float64\)"),
    ("x-uint8-images", {"train_data": (X.abs().to(torch.uint8), Y)}, TypeError,
     r"train_data: x must be floating point .* got dtype torch.uint8; raw image bytes\? annlib.data.to_features"),
    ("x-int64", {"train_data": (X.long(), Y)}, TypeError, r"got dtype torch.int64; convert them with x.to\(torch.float32\)"),
    ("x-width", {"train_data": (torch.randn(40, 3), Y)}, ValueError,
     r"train_data: x has shape \(40, 3\), 3 features per sample, but the model's first layer, Linear, takes 2"),
    ("y-float-labels", {"train_data": (X, Y.float())}, ValueError,
     r"train_data: y has shape \(40,\) but the model outputs \(40, 2\).*class labels\? they must be int64"),
    ("y-int32", {"train_data": (X, Y.int())}, TypeError,
     r"train_data: labels must be int64 \(torch.long\) class indices, got dtype torch.int32; .* y.long\(\)"),
    ("y-column", {"train_data": (X, Y.unsqueeze(1))}, ValueError,
     r"y has shape \(40, 1\) but the model outputs \(40, 2\): integer labels must have shape \(40,\); use y.squeeze\(1\)"),
    ("y-one-hot", {"train_data": (X, torch.nn.functional.one_hot(Y, 2))}, ValueError,
     r"these look like one-hot rows: use y.argmax\(dim=1\)"),
    ("y-one-based", {"train_data": (X, Y + 1)}, ValueError,
     r"train_data: labels must be class indices in \[0, 2\) for a model with 2 outputs \(or -100, the label the "
     r"loss ignores\), found values from 1 to 2; "
     r"1-based labels\? subtract 1"),
    ("y-more-classes-than-outputs", {"train_data": (X, Y * 2)}, ValueError,
     r"found values from 0 to 2; or give the model 3 outputs, one per class"),
    ("y-negative", {"train_data": (X, Y - 1)}, ValueError, r"found values from -1 to 0; class indices count from 0"),
    ("y-bool", {"train_data": (X, Y.bool())}, TypeError, r"train_data: y is bool; for two classes use y.long\(\)"),
    ("test_data-labels-beyond", {"test_data": (X, Y + 5)}, ValueError,
     r"test_data: labels must be class indices in \[0, 2\)"),
    ("val_data-float64", {"val_data": (X.double(), Y)}, TypeError, r"val_data: x is torch.float64"),
    ("val_data-real-targets", {"val_data": (X, torch.rand(40, 2).softmax(dim=1))}, TypeError,
     r"val_data: y is torch.float32 but train_data's y is torch.int64: both must be class indices"),
    ("regression-with-cross-entropy", {"train_data": (X, torch.randn(40, 2))}, ValueError,
     r"train_data: y holds real numbers, but loss_fn is cross-entropy \(fit's default\).*loss_fn=F.mse_loss"),
    ("regression-target-shape", {"train_data": (X, torch.randn(40, 3)), "loss_fn": torch.nn.functional.mse_loss},
     ValueError, r"y has shape \(40, 3\) but the model outputs \(40, 2\).*must have the outputs' shape"),
    ("loss-per-sample", {"loss_fn": lambda out, y: torch.nn.functional.cross_entropy(out, y, reduction="none")},
     ValueError, r"loss_fn must return one number for a batch .* got \(8,\) on train_data; use its reduction='mean'"),
    ("loss-raises", {"loss_fn": torch.nn.functional.nll_loss, "train_data": (X, torch.rand(40, 2))}, RuntimeError,
     r"loss_fn raised on the model's outputs \(8, 2\) and train_data's y \(8, 2\) \(dtype torch.float32\): 0D or 1D"),
    ("pair-in-the-wrong-order", {"train_data": (Y, X)}, TypeError,
     r"train_data: is the pair in the wrong order\? train_data must be \(inputs, labels\).*x must be floating"),
    ("loss_fn-class", {"loss_fn": torch.nn.CrossEntropyLoss}, TypeError,
     r"loss_fn is the class CrossEntropyLoss, not a loss: pass an instance, CrossEntropyLoss\(\)"),
    ("augment-changes-dtype", {"augment": lambda x: x.double()}, TypeError,
     r"augment must return inputs of its inputs' dtype, torch.float32, got torch.float64"),
    ("augment-returns-list", {"augment": lambda x: x.tolist()}, ValueError, r"augment returned no tensor for 40 labels"),
    ("metrics-list", {"metrics": [train.r2_score]}, TypeError, r"metrics must be a dict of names to functions"),
]
if not torch.cuda.is_available():
    FIT_CASES.append(("device-cuda-absent", {"device": "cuda"}, ValueError,
                      r"device 'cuda' is not available: this machine has 0 CUDA device\(s\); use 'cpu'"))


@pytest.mark.parametrize("changes, error, pattern", [case[1:] for case in FIT_CASES],
                         ids=[case[0] for case in FIT_CASES])
def test_fit_rejects(changes, error, pattern):
    net = model()
    arguments = {"model": net, "optimizer": torch.optim.SGD(net.parameters(), lr=0.1), "train_data": (X, Y),
                 "epochs": 3, "batch_size": 8, "device": "cpu", "progress": False, **changes}
    before = [p.detach().clone() for p in net.parameters()]
    with pytest.raises(error, match=pattern):
        train.fit(**arguments)
    if "augment" not in changes:  # rejected before any step: the model is untouched
        assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))


EVALUATE_CASES = [
    ("model-none", {"model": None}, TypeError, "model must be a torch.nn.Module, got NoneType"),
    ("data-tensor", {"data": X}, TypeError, "data must be a pair \\(x, y\\) of tensors, got Tensor"),
    ("data-rows-differ", {"data": (X, Y[:3])}, ValueError, "data: x has 40 rows but y has 3; they need one row per sample"),
    ("data-empty", {"data": (X[:0], Y[:0])}, ValueError, "data is empty"),
    ("data-nan", {"data": (with_value(X, 5, math.nan), Y)}, ValueError, "data: x has NaN or infinite values in 1 rows"),
    ("batch_size-zero", {"batch_size": 0}, ValueError, "batch_size must be a positive integer, got 0"),
    ("batch_size-float", {"batch_size": 100.0}, ValueError, "batch_size must be a positive integer, got 100.0"),
    ("data-float64", {"data": (X.double(), Y)}, TypeError, r"data: x is torch.float64 but the model's parameters"),
    ("data-one-based", {"data": (X, Y + 1)}, ValueError, r"data: labels must be class indices in \[0, 2\).*1-based"),
    ("data-column-targets", {"data": (X, torch.randn(40, 1)), "loss_fn": torch.nn.functional.mse_loss}, ValueError,
     r"data: y has shape \(40, 1\) but the model outputs \(40, 2\)"),
    ("loss_fn-string", {"loss_fn": "mse"}, TypeError, "loss_fn must be callable, got 'mse'"),
    ("metrics-not-callable", {"metrics": {"r2": 0.5}}, TypeError, "metrics must be a dict of names to functions"),
]


@pytest.mark.parametrize("changes, error, pattern", [case[1:] for case in EVALUATE_CASES],
                         ids=[case[0] for case in EVALUATE_CASES])
def test_evaluate_rejects(changes, error, pattern):
    with pytest.raises(error, match=pattern):
        train.evaluate(**{"model": model(), "data": (X, Y), **changes})


def test_evaluate_model_without_parameters_runs_on_the_cpu():
    """Defined result: a parameter-free model (here the identity on 2 logits) is evaluated on the CPU."""
    loss, acc = train.evaluate(nn.Identity(), (X, Y))
    assert math.isfinite(loss) and acc == pytest.approx((X.argmax(dim=1) == Y).float().mean().item())


def test_evaluate_model_that_outputs_nan_reports_nan_loss():
    """Defined result: a model whose outputs are NaN gives a NaN loss (fit reports it as divergence)."""
    net = model()
    with torch.no_grad():
        net[1].weight.fill_(math.nan)
    loss, _ = train.evaluate(net, (X, Y))
    assert math.isnan(loss)


@pytest.mark.parametrize("bad", [None, "mlp", [torch.zeros(2, 2)]], ids=["none", "string", "list-of-tensors"])
def test_l1_penalty_rejects_non_modules(bad):
    with pytest.raises(TypeError, match=f"model must be a torch.nn.Module, got {type(bad).__name__}"):
        train.l1_penalty(bad)


def test_l1_penalty_of_a_model_without_weight_matrices_is_a_zero_tensor():
    assert torch.equal(train.l1_penalty(nn.Sequential(nn.ReLU())), torch.zeros(()))


@pytest.mark.parametrize("bad, pattern", [
    ({"train_loss": [1.0], "val_accuracy": [0.5]}, re.escape("unknown ['val_accuracy']; the fields are")),
    ([("train_loss", [1.0])], "not a History: unknown list"),
    ("history", "not a History: unknown str"),
], ids=["unknown-field", "list", "string"])
def test_history_from_dict_rejects(bad, pattern):
    with pytest.raises(ValueError, match=pattern):
        train.History.from_dict(bad)
