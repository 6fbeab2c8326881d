"""``deq train luser`` on deq-core's harness (the harness itself: tests/core/test_training.py): final and
auxiliary losses, DEQ4IP's two stages, resume, provenance, and the flags that do not apply."""

from __future__ import annotations

import pytest
import torch

from deq.core.weights import load_weights
from deq.models.luser.tasks import get_task
from deq.models.luser.train import main as train_main

#: CT on generated phantoms needs no data files; 16x16 keeps a step well under a second
TINY = ["--task", "ct", "--size", "16", "--batch", "1", "--max-iter", "3", "--eval-max-iter", "4", "--val-items", "1"]
QUIET = ["--no-progress", "--threads", "1"]


def _reconstructs(model) -> bool:
    task = get_task("ct")
    op = task.operator(16)
    y = task.measure(torch.rand(1, 1, 16, 16), op, torch.Generator().manual_seed(0))
    return model.reconstruct(y, op).shape == (1, 1, 16, 16)


def test_luser_trains_resumes_and_records_its_provenance(tmp_path):
    run = [*TINY, *QUIET, "--model", "luser-dw", "--ckpt-every", "1", "--out", str(tmp_path)]
    assert train_main([*run, "--steps", "1"]) == 0
    first = load_weights(tmp_path / "weights.pt", kind="model", name="luser-dw")
    assert train_main([*run, "--steps", "2", "--resume"]) == 0
    model = load_weights(tmp_path / "weights.pt", kind="model", name="luser-dw")
    prov = model.provenance
    assert prov["steps"] == 2 and {"val_psnr", "val_ssim", "val_psnr_x0"} <= set(prov["metrics"]["validation"])
    assert "random-ellipse phantoms" in prov["data"] and prov["options"]["size"] == 16
    assert model.task == "ct" and model.stages == 8 and _reconstructs(model)
    assert not all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), model.state_dict().values()))
    solver = model.prox[0].deq.config
    assert (solver.max_iter, solver.eval_max_iter, solver.warn_unconverged) == (3, 4, True)  # training's warnings-off not stored


def test_auxiliary_loss_and_lu_dncnn(tmp_path):
    argv = [*TINY, *QUIET, "--model", "lu-dncnn", "--aux-loss", "--steps", "2", "--out", str(tmp_path)]
    assert train_main(argv) == 0
    model = load_weights(tmp_path / "weights.pt", kind="model", name="lu-dncnn")
    assert model.provenance["options"]["aux_loss"] and _reconstructs(model)


def test_deq4ip_pretrains_its_map_then_trains_the_equilibrium(tmp_path):
    argv = [*TINY, *QUIET, "--model", "deq4ip", "--pretrain-steps", "1", "--steps", "2", "--log-every", "1"]
    assert train_main([*argv, "--out", str(tmp_path)]) == 0
    model = load_weights(tmp_path / "weights.pt", kind="model", name="deq4ip")
    log = [line for line in (tmp_path / "log.jsonl").read_text().splitlines() if '"step"' in line]
    assert '"iters": 1.0' in log[0] and '"iters": 1.0' not in log[1]  # stage 1: one application of the map
    bn = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)][0]
    assert not torch.equal(bn.running_var, torch.ones_like(bn.running_var))  # statistics learned in stage 1
    assert _reconstructs(model)


def test_recompute_flag_reaches_the_stored_solver(tmp_path):
    argv = [*TINY, *QUIET, "--model", "luser-sw", "--recompute", "--steps", "1", "--out", str(tmp_path)]
    assert train_main(argv) == 0
    model = load_weights(tmp_path / "weights.pt", kind="model", name="luser-sw")
    assert model.prox[0].deq.config.recompute and _reconstructs(model)


def test_lu_dncnn_pretrains_its_batch_norm_statistics(tmp_path):
    argv = [*TINY, *QUIET, "--model", "lu-dncnn", "--pretrain-steps", "1", "--steps", "2", "--out", str(tmp_path)]
    assert train_main(argv) == 0
    model = load_weights(tmp_path / "weights.pt", kind="model", name="lu-dncnn")
    bn = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)][0]
    assert not torch.equal(bn.running_var, torch.ones_like(bn.running_var))  # learned in the pre-training step
    assert _reconstructs(model)


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--model", "deq4ip", "--aux-loss"], "loop-unrolled"),
        (["--model", "luser-sw", "--pretrain-steps", "2"], "batch norm"),
    ],
)
def test_flags_that_do_not_apply_are_errors(tmp_path, flags, message):
    with pytest.raises(ValueError, match=message):
        train_main([*TINY, *QUIET, *flags, "--steps", "1", "--out", str(tmp_path)])
