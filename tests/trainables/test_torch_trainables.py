"""The real torch trainables, driven directly through a TrainContext (no Ray, no orchestrator).

What the Ray executor relies on: every configuration of the shipped joint spaces builds and
trains; a segment resumed from a checkpoint continues the same run (same metrics as training
in one go, same lr schedule); `StopTrial` propagates; same seed -> same curve; a missing
dataset is one clear line. The Fashion-MNIST CNN runs on a tiny synthetic IDX dataset written by
a fixture, so its code paths are tested everywhere; tests on the real data skip without it.
"""
from __future__ import annotations

import gzip
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml

from spaces import Space
from trainables.context import StopTrial, TrainContext, seed_everything
from trainables.recipe import Recipe, build_optimizer, build_scheduler, lr_factor
from trainables.tabular import build_mlp, hidden_widths, train_mlp
from trainables.vision import (
    ENV_VAR, augment_batch, build_cnn, fashion_mnist_split, locate_fashion_mnist, read_idx, train_cnn,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

MLP_CONFIG: dict[str, Any] = {  # dropout, momentum buffers, warm-up + cosine: all state that must resume
    "arch.num_layers": 2, "arch.max_units": 64, "arch.shape": "funnel", "arch.activation": "gelu", "arch.dropout": 0.2,
    "recipe.optimizer": "sgd", "recipe.lr": 0.05, "recipe.momentum": 0.9, "recipe.nesterov": True,
    "recipe.weight_decay": 1e-4, "recipe.schedule": "cosine", "recipe.warmup_epochs": 1,
    "recipe.label_smoothing": 0.1, "recipe.dropout": 0.0, "recipe.batch_size": 128,
}
CNN_CONFIG: dict[str, Any] = {  # batch norm running stats, augmentation, AdamW moments, step schedule
    "arch.num_stages": 2, "arch.stage_1.depth": 1, "arch.stage_1.width": 8, "arch.stage_1.kernel_size": 3,
    "arch.stage_2.depth": 1, "arch.stage_2.width": 16, "arch.stage_2.kernel_size": 5,
    "arch.activation": "silu", "arch.normalization": "batch", "arch.dropout": 0.1,
    "recipe.optimizer": "adamw", "recipe.lr": 3e-3, "recipe.beta1": 0.9, "recipe.beta2": 0.99,
    "recipe.weight_decay": 1e-3, "recipe.schedule": "step", "recipe.step_every": 0.3, "recipe.step_gamma": 0.5,
    "recipe.warmup_epochs": 1, "recipe.label_smoothing": 0.05, "recipe.dropout": 0.0, "recipe.batch_size": 32,
    "recipe.augment": True,
}


def example_space(name: str) -> Space:
    data = yaml.safe_load((EXAMPLES / name).read_text())
    return Space.from_dict(data["space"], source=name, base_dir=EXAMPLES)


def run(train, config, *, start=0, target=1, rungs=None, seed=0, checkpoint=None, checkpoint_out=None, stop_at=None, **args):
    """Run one segment as the executor would (seed first); returns [(epoch, metrics), ...]."""
    reports: list[tuple[float, dict[str, float]]] = []

    def sink(resource: float, metrics: dict[str, float]) -> bool:
        reports.append((resource, metrics))
        return stop_at is None or resource < stop_at

    ctx = TrainContext(
        trial=0, config=config, start=start, target=target,
        rungs=tuple(rungs) if rungs is not None else (target,), seed=seed,
        checkpoint=str(checkpoint) if checkpoint else None,
        checkpoint_out=str(checkpoint_out) if checkpoint_out else None, _report=sink,
    )
    seed_everything(seed, 1)
    train(config, ctx, **args)
    return reports


@pytest.fixture(scope="module")
def fake_fashion(tmp_path_factory) -> Path:
    """A tiny Fashion-MNIST look-alike in IDX format (images gzipped, labels plain)."""
    directory = tmp_path_factory.mktemp("fashion")
    rng = np.random.default_rng(0)
    n = 240
    labels = np.arange(n, dtype=np.uint8) % 10
    images = rng.integers(0, 60, size=(n, 28, 28), dtype=np.uint8)
    for k in range(10):  # a learnable signal: class k lights up a band of rows
        images[labels == k, 2 * k + 3:2 * k + 6, 4:24] = 230
    header = lambda code, shape: bytes([0, 0, 0x08, len(shape)]) + b"".join(d.to_bytes(4, "big") for d in shape)  # noqa: E731
    (directory / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(header(8, images.shape) + images.tobytes()))
    (directory / "train-labels-idx1-ubyte").write_bytes(header(8, labels.shape) + labels.tobytes())
    return directory


def real_fashion_available() -> bool:
    try:
        locate_fashion_mnist()
        return True
    except FileNotFoundError:
        return False


needs_fashion = pytest.mark.skipif(
    not real_fashion_available(),
    reason="Fashion-MNIST not installed (apt-get install dataset-fashion-mnist, or set RUNG_FASHION_MNIST_DIR)",
)


# ------------------------------------------------------------------------------ spaces -> models
def test_example_spaces_load_and_name_what_the_trainables_read():
    qs, fm = example_space("quickstart.yaml"), example_space("fashion-mnist-joint.yaml")
    for name in ("arch.num_layers", "arch.max_units", "arch.shape", "recipe.optimizer", "recipe.lr", "recipe.schedule"):
        assert name in qs.names
    for name in ("arch.num_stages", "arch.stage_4.width", "arch.normalization", "recipe.augment", "recipe.batch_size"):
        assert name in fm.names


def test_every_sampled_mlp_config_builds_and_every_quickstart_config_trains_one_epoch():
    rng = np.random.default_rng(1)
    full = Space.from_dict({"arch": {"include": "funnel_mlp"}, "recipe": {"include": "training_recipe"}})
    for _ in range(200):  # the whole fragments: build and run a forward pass
        config = full.sample(rng)
        Recipe.from_config(config)
        out = build_mlp(config, in_features=64, classes=10)(torch.zeros(2, 64))
        assert out.shape == (2, 10)
    space = example_space("quickstart.yaml")
    for _ in range(15):
        config = space.sample(rng)
        reports = run(train_mlp, config, max_epochs=27)
        assert [r for r, _ in reports] == [1]
        assert 0.0 <= reports[0][1]["val_error"] <= 1.0
        assert all(math.isfinite(v) for v in reports[0][1].values())


def test_every_sampled_cnn_config_builds_and_trains_one_epoch(fake_fashion):
    rng = np.random.default_rng(2)
    space = example_space("fashion-mnist-joint.yaml")
    configs = [space.sample(rng) for _ in range(40)]
    for config in configs:  # builds, and maps 28x28 to 10 logits at every depth of downsampling
        assert build_cnn(config)(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    stages = {c["arch.num_stages"] for c in configs}
    assert stages == {1, 2, 3, 4}
    cheap = sorted(configs, key=lambda c: sum(c.get(f"arch.stage_{k}.width", 0) * c.get(f"arch.stage_{k}.depth", 0)
                                              * c.get(f"arch.stage_{k}.kernel_size", 0) ** 2 for k in range(1, 5)))
    for config in cheap[:4] + cheap[-1:]:  # the largest one too, on 24 training images
        reports = run(train_cnn, config, data_dir=fake_fashion, max_epochs=27, data_fraction=0.1, val_size=24)
        assert [r for r, _ in reports] == [1] and 0.0 <= reports[0][1]["val_error"] <= 1.0


@pytest.mark.parametrize("shape", ["brick", "funnel", "long_funnel", "diamond", "triangle"])
def test_hidden_widths_follow_the_shape_rules(shape):
    for layers in range(1, 6):
        widths = hidden_widths(shape, 100, layers)
        assert len(widths) == layers and min(widths) >= 1
        assert max(widths) <= (200 if shape == "diamond" else 100)
    assert hidden_widths("funnel", 100, 4) == [100, 75, 50, 25]
    assert hidden_widths("triangle", 100, 4) == [25, 50, 75, 100]
    assert hidden_widths("diamond", 100, 3) == [100, 200, 100]
    assert hidden_widths("long_funnel", 100, 4) == [100, 100, 62, 25]


# ----------------------------------------------------------------------------------- resuming
@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_resumed_segments_equal_one_uninterrupted_run(kind, tmp_path, fake_fashion):
    train, config, args = (
        (train_mlp, MLP_CONFIG, {"max_epochs": 9}) if kind == "mlp"
        else (train_cnn, CNN_CONFIG, {"max_epochs": 9, "data_dir": fake_fashion, "val_size": 60})
    )
    whole = run(train, config, target=3, rungs=(1, 3), checkpoint_out=tmp_path / "a.pt", **args)
    first = run(train, config, target=1, checkpoint_out=tmp_path / "b.pt", **args)
    torch.manual_seed(12345)  # another process state on the worker that resumes: must not matter
    torch.rand(1000)
    np.random.rand(10)
    rest = run(train, config, start=1, target=3, rungs=(3,), checkpoint=tmp_path / "b.pt", checkpoint_out=tmp_path / "b.pt", **args)
    assert [r for r, _ in whole] == [1, 2, 3]
    assert [r for r, _ in first + rest] == [1, 2, 3]  # continues at epoch 2: nothing retrained
    assert first + rest == whole  # bit-identical metrics
    assert whole[-1][1]["train_loss"] < whole[0][1]["train_loss"]  # and it is learning
    a, b = (torch.load(tmp_path / f, weights_only=True)["objects"] for f in ("a.pt", "b.pt"))
    for name, tensor in a["model"].items():
        assert torch.equal(tensor, b["model"][name]), name
    assert a["scheduler"]["last_epoch"] == b["scheduler"]["last_epoch"]


def test_the_lr_schedule_continues_across_segments(tmp_path):
    run(train_mlp, MLP_CONFIG, target=1, checkpoint_out=tmp_path / "c.pt", max_epochs=9)
    run(train_mlp, MLP_CONFIG, start=1, target=3, checkpoint=tmp_path / "c.pt", checkpoint_out=tmp_path / "c.pt", max_epochs=9)
    state = torch.load(tmp_path / "c.pt", weights_only=True)["objects"]
    steps_per_epoch = math.ceil(1437 / MLP_CONFIG["recipe.batch_size"])
    assert state["scheduler"]["last_epoch"] == 3 * steps_per_epoch  # 3 epochs of steps, not 1 + 2 restarts
    expected = MLP_CONFIG["recipe.lr"] * lr_factor(3 + 1 / steps_per_epoch, Recipe.from_config(MLP_CONFIG), 9)
    assert state["optimizer"]["param_groups"][0]["lr"] == pytest.approx(expected)
    assert expected < MLP_CONFIG["recipe.lr"] * 0.9  # past warm-up and into the cosine decay


def test_scheduler_state_round_trips():
    recipe = Recipe(optimizer="sgd", lr=0.1, schedule="cosine", warmup_epochs=2)
    model = torch.nn.Linear(3, 2)
    opt = build_optimizer(model, recipe)
    sched = build_scheduler(opt, recipe, steps_per_epoch=10, horizon=9)
    for _ in range(37):
        opt.step()
        sched.step()
    opt2 = build_optimizer(model, recipe)
    sched2 = build_scheduler(opt2, recipe, steps_per_epoch=10, horizon=9)
    opt2.load_state_dict(opt.state_dict())
    sched2.load_state_dict(sched.state_dict())
    for _ in range(5):
        opt.step(), opt2.step()
        sched.step(), sched2.step()
        assert opt.param_groups[0]["lr"] == opt2.param_groups[0]["lr"]


def test_lr_factor_warmup_cosine_step_constant():
    cos = Recipe(schedule="cosine", warmup_epochs=2)
    assert lr_factor(1, cos, 10) == pytest.approx(0.5)  # halfway through warm-up
    assert lr_factor(2, cos, 10) == pytest.approx(1.0)
    assert lr_factor(6, cos, 10) == pytest.approx(0.5)  # halfway through the cosine part
    assert lr_factor(10, cos, 10) == pytest.approx(0.0) and lr_factor(12, cos, 10) == pytest.approx(0.0)
    step = Recipe(schedule="step", step_every=0.25, step_gamma=0.1)
    assert [lr_factor(t, step, 20) for t in (0.5, 4.9, 5.0, 10.0, 19.9)] == pytest.approx([1, 1, 0.1, 0.01, 0.001])
    assert lr_factor(3, Recipe(schedule="constant", warmup_epochs=0), 10) == 1.0
    assert lr_factor(1, Recipe(schedule="constant", warmup_epochs=5), 2) == pytest.approx(0.5)  # warm-up capped at horizon


# ------------------------------------------------------------------------ reports and failures
def test_stop_trial_propagates_and_training_ends_there(tmp_path):
    with pytest.raises(StopTrial):
        run(train_mlp, MLP_CONFIG, target=3, rungs=(1, 3), stop_at=2, max_epochs=9)
    reports: list[float] = []
    ctx = TrainContext(trial=0, config=MLP_CONFIG, start=0, target=3, rungs=(1, 3), seed=0,
                       _report=lambda r, m: reports.append(r) or r < 2)
    with pytest.raises(StopTrial):
        train_mlp(dict(MLP_CONFIG), ctx, max_epochs=9)
    assert reports == [1, 2]


def test_same_seed_same_curve_other_seed_other_curve():
    a = run(train_mlp, MLP_CONFIG, target=3, seed=7, max_epochs=9)
    b = run(train_mlp, MLP_CONFIG, target=3, seed=7, max_epochs=9)
    c = run(train_mlp, MLP_CONFIG, target=3, seed=8, max_epochs=9)
    assert a == b and a != c


def test_a_diverging_recipe_reports_a_finite_error_not_nan():
    config = dict(MLP_CONFIG, **{"recipe.lr": 1.0e6, "recipe.warmup_epochs": 0, "recipe.schedule": "constant"})
    reports = run(train_mlp, config, target=3, max_epochs=9)
    assert [r for r, _ in reports] == [1, 2, 3]
    for _, metrics in reports:
        assert all(math.isfinite(v) for v in metrics.values())
    assert reports[-1][1]["val_error"] > 0.5


def test_a_target_beyond_the_schedule_horizon_is_refused():
    with pytest.raises(ValueError, match="max_epochs"):
        run(train_mlp, MLP_CONFIG, target=10, max_epochs=9)


def test_unknown_optimizer_names_the_key():
    with pytest.raises(ValueError, match="recipe.optimizer"):
        Recipe.from_config({"recipe.optimizer": "lion"})


# ---------------------------------------------------------------------------------------- data
def test_missing_dataset_is_one_line_naming_where_and_how(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError) as info:
        run(train_cnn, CNN_CONFIG, data_dir=str(tmp_path / "nowhere"), max_epochs=3)
    message = str(info.value)
    assert "\n" not in message
    assert str(tmp_path / "nowhere") in message and "apt-get install dataset-fashion-mnist" in message
    assert ENV_VAR in message
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    with pytest.raises(FileNotFoundError, match=ENV_VAR):
        locate_fashion_mnist()


def test_idx_reader_and_split(fake_fashion):
    images = read_idx(fake_fashion / "train-images-idx3-ubyte.gz")
    labels = read_idx(fake_fashion / "train-labels-idx1-ubyte")
    assert images.shape == (240, 28, 28) and images.dtype == np.uint8 and labels.shape == (240,)
    small = fashion_mnist_split(fake_fashion, data_fraction=0.5, val_size=40)
    big = fashion_mnist_split(fake_fashion, data_fraction=1.0, val_size=40)
    assert small.x_train.shape[0] == 100 and big.x_train.shape[0] == 200
    assert torch.equal(small.x_train, big.x_train[:100])  # nested: a fidelity, not a resample
    assert torch.equal(small.x_val, big.x_val)  # the same validation set at every fraction


def test_augmentation_shifts_and_flips_but_keeps_shape():
    torch.manual_seed(0)
    x = torch.randn(64, 1, 28, 28)
    y = augment_batch(x)
    assert y.shape == x.shape and not torch.equal(x, y)
    assert torch.equal(augment_batch(torch.zeros(3, 2, 8, 8), pad=0).abs().sum(), torch.tensor(0.0))


@needs_fashion
def test_real_fashion_mnist_trains_and_learns():
    data = fashion_mnist_split(val_size=10_000)
    assert data.x_train.shape == (50_000, 28, 28) and data.x_val.shape == (10_000, 28, 28)
    config = dict(CNN_CONFIG, **{"recipe.augment": False, "recipe.warmup_epochs": 0, "recipe.schedule": "constant"})
    reports = run(train_cnn, config, target=2, max_epochs=3, data_fraction=0.04, val_size=1000)
    assert [r for r, _ in reports] == [1, 2]
    assert reports[1][1]["val_error"] < reports[0][1]["val_error"] < 0.7  # 10 classes: chance is 0.9
