"""Solvers against closed forms: linear fixed points z = W z + b solved exactly by linalg.solve."""

from __future__ import annotations

import pytest
import torch

from deq.core.solvers import SolverDivergenceWarning, anderson, broyden, fixed_point, get_solver, nesterov

SOLVERS = [anderson, broyden, fixed_point, nesterov]


def _linear_problem(b: int, n: int, rho: float, dtype: torch.dtype):
    W = torch.randn(b, n, n, dtype=dtype)
    W = rho * W / torch.linalg.matrix_norm(W, ord=2)[:, None, None]
    c = torch.randn(b, n, dtype=dtype)
    exact = torch.linalg.solve(torch.eye(n, dtype=dtype) - W, c)
    return (lambda z: torch.bmm(W, z[:, :, None])[:, :, 0] + c), exact


@pytest.mark.parametrize("solver", SOLVERS, ids=lambda s: s.__name__)
@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
def test_linear_fixed_point_matches_closed_form(solver, dtype):
    g, exact = _linear_problem(4, 60, 0.95, dtype)
    z, info = solver(g, torch.zeros_like(exact), tol=1e-11, max_iter=500)
    assert info.converged.all()
    assert not info.diverged.any()
    assert torch.linalg.vector_norm(z - exact) / torch.linalg.vector_norm(exact) < 1e-9
    assert info.trace.shape[0] == 4 and info.trace.shape[1] >= int(info.nstep.max())


def test_anderson_and_broyden_beat_plain_iteration_on_slow_map():
    # spectral radius close to 1 along one direction: plain iteration is slow
    n = 80
    q, _ = torch.linalg.qr(torch.randn(n, n, dtype=torch.float64))
    W = q @ torch.diag(torch.linspace(0.0, 0.98, n, dtype=torch.float64)) @ q.T
    c = torch.randn(2, n, dtype=torch.float64)
    g = lambda z: z @ W.T + c  # noqa: E731
    steps = {}
    for s in SOLVERS:
        _, info = s(g, torch.zeros_like(c), tol=1e-8, max_iter=2000)
        assert info.converged.all()
        steps[s.__name__] = int(info.nstep.max())
    assert steps["anderson"] < steps["fixed_point"] / 3
    assert steps["broyden"] < steps["fixed_point"] / 3
    assert steps["nesterov"] < steps["fixed_point"] / 3  # ~1/sqrt(1 - rho) instead of 1/(1 - rho)


def _dense_broyden_residuals(g, z0: torch.Tensor, steps: int, m: int, restart_at: int = -1) -> list[float]:
    """Reference: good Broyden with a dense inverse, rebuilt each step from H_0 = -I by the rank-one update
    H <- H + (s - H y) s^H H / (s^H H y) over the last ``m`` pairs only (none from before step ``restart_at``);
    one sample ``[1, n]``."""
    n = z0.shape[1]
    z = z0[0]
    r = g(z0)[0] - z
    pairs: list[tuple[torch.Tensor, torch.Tensor]] = []
    out = [float(torch.linalg.vector_norm(r))]
    for k in range(steps):
        if k == restart_at:
            pairs = []
        H = -torch.eye(n, dtype=z0.dtype)
        for s, y in pairs[-m:]:
            Hy = H @ y
            H = H + torch.outer(s - Hy, s.conj() @ H) / (s.conj() @ Hy)
        s = -H @ r
        z = z + s
        r_new = g(z[None])[0] - z
        pairs.append((s, r_new - r))
        r = r_new
        out.append(float(torch.linalg.vector_norm(r)))
    return out


@pytest.mark.parametrize("m", [30, 4, 1])
@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
def test_broyden_window_matches_dense_reference(m, dtype):
    # the compact sliding-window form equals Broyden from -I over the last m pairs (all pairs when m >= steps)
    g, exact = _linear_problem(1, 40, 0.95, dtype)
    steps = 12
    _, info = broyden(g, torch.zeros_like(exact), tol=1e-300, stop_mode="abs", max_iter=steps + 1, m=m)
    ours = info.trace[0].tolist()
    ref = _dense_broyden_residuals(g, torch.zeros_like(exact), steps, m)
    assert len(ours) == steps + 1
    assert ours == pytest.approx(ref, rel=1e-8)


def test_broyden_window_converges_with_short_memory_on_symmetric_map():
    # eigenvalues spread over [-0.98, 0.98]: where dropping a pair from the product form diverged; plain
    # iteration needs ~900 steps here
    torch.manual_seed(0)
    n = 200
    q, _ = torch.linalg.qr(torch.randn(n, n, dtype=torch.float64))
    W = q @ torch.diag(torch.linspace(-0.98, 0.98, n, dtype=torch.float64)) @ q.T
    c = torch.randn(3, n, dtype=torch.float64)
    g = lambda z: z @ W.T + c  # noqa: E731
    z, info = broyden(g, torch.zeros_like(c), tol=1e-8, max_iter=200, m=10)
    exact = torch.linalg.solve(torch.eye(n, dtype=torch.float64) - W, c.T).T
    assert info.converged.all() and not info.diverged.any()
    assert torch.linalg.vector_norm(z - exact) / torch.linalg.vector_norm(exact) < 1e-6


def test_broyden_singular_window_falls_back_to_plain_steps():
    # g(z) = z + c has no fixed point and dr = 0 (exactly: half-integer c), so the window's system is singular:
    # every step must fall back to -H_0 r = r, stay finite and report no convergence
    c = torch.randint(-5, 6, (2, 6)).double() + 0.5
    z, info = broyden(lambda z: z + c, torch.zeros_like(c), tol=1e-8, max_iter=6, m=3)
    assert torch.isfinite(z).all()
    assert not info.converged.any() and not info.diverged.any()
    assert int(info.nstep.max()) == 6
    assert torch.equal(z, 5 * c)  # the best iterate is the last: plain steps z_k = k c


def test_broyden_singular_system_restarts_only_that_sample(monkeypatch):
    # the solve of sample 0 is made to fail at step 5: it takes the plain step and restarts from H_0 = -I there
    # (as the dense reference restarted at step 5); sample 1 runs as it does alone
    g1, _ = _linear_problem(1, 30, 0.95, torch.float64)
    g2, _ = _linear_problem(1, 30, 0.95, torch.float64)
    g = lambda z: torch.cat([g1(z[:1]), g2(z[1:])])  # noqa: E731
    real_solve, calls = torch.linalg.solve_ex, 0

    def failing_solve(a, b, **kw):  # the 6th solve is that of step 5
        nonlocal calls
        calls += 1
        x, info = real_solve(a, b, **kw)
        return x, (info + torch.tensor([1, 0], dtype=info.dtype)) if calls == 6 else info

    monkeypatch.setattr(torch.linalg, "solve_ex", failing_solve)
    steps, z0 = 12, torch.zeros(2, 30, dtype=torch.float64)
    _, info = broyden(g, z0, tol=1e-300, stop_mode="abs", max_iter=steps + 1, m=4)
    monkeypatch.undo()
    _, alone = broyden(g2, z0[1:], tol=1e-300, stop_mode="abs", max_iter=steps + 1, m=4)
    restarted = _dense_broyden_residuals(g1, z0[:1], steps, 4, restart_at=5)
    assert info.trace[0].tolist() == pytest.approx(restarted, rel=1e-8)
    assert info.trace[0].tolist() != pytest.approx(_dense_broyden_residuals(g1, z0[:1], steps, 4), rel=1e-3)
    assert info.trace[1].tolist() == pytest.approx(alone.trace[0].tolist(), rel=1e-8)


def test_broyden_runs_inside_autocast_and_on_bfloat16():
    # only g runs in low precision under autocast; the quasi-Newton algebra stays in z0's dtype
    torch.manual_seed(0)
    lin = torch.nn.Linear(16, 16)
    x = torch.randn(4, 16)
    g = lambda z: torch.tanh(0.5 * lin(z)) + x  # noqa: E731
    with torch.autocast("cpu", dtype=torch.bfloat16):
        z, info = broyden(g, torch.zeros(4, 16), tol=1e-2, max_iter=30)
    assert z.dtype == torch.float32 and info.converged.all()
    with torch.no_grad():
        z, info = broyden(lambda z: g(z.float()).bfloat16(), torch.zeros(4, 16, dtype=torch.bfloat16), tol=1e-2)
    assert z.dtype == torch.bfloat16 and info.converged.all()


@pytest.mark.parametrize("solver", [fixed_point, anderson, nesterov], ids=lambda s: s.__name__)
def test_relaxation_beta_is_the_weight_of_the_map(solver):
    # z = g(z) with g(z) = -z + 2c: plain iteration oscillates forever; beta = 1/2 lands on c in one step
    c = torch.randn(3, 5, dtype=torch.float64)
    g = lambda z: -z + 2 * c  # noqa: E731
    z, info = solver(g, torch.zeros_like(c), tol=1e-12, max_iter=5, beta=0.5)
    assert info.converged.all() and torch.allclose(z, c)
    with pytest.raises(ValueError, match="weight of f"):
        solver(g, torch.zeros_like(c), beta=0.0)


def test_nesterov_restart_keeps_a_rotation_convergent():
    # a non-symmetric contraction (rotation by 60 degrees, scaled 0.9): momentum alone overshoots
    a = 0.9 * torch.tensor([[0.5, -(3**0.5) / 2], [(3**0.5) / 2, 0.5]], dtype=torch.float64)
    c = torch.randn(2, 2, dtype=torch.float64)
    exact = torch.linalg.solve(torch.eye(2, dtype=torch.float64) - a, c.T).T
    z, info = nesterov(lambda z: z @ a.T + c, torch.zeros_like(c), tol=1e-12, max_iter=2000)
    assert info.converged.all() and torch.allclose(z, exact, atol=1e-10)


def test_per_sample_stopping_freezes_converged_samples():
    # sample 0 is already at its fixed point, sample 1 needs many steps
    c = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    g = lambda z: 0.9 * z + c * 0.1  # noqa: E731  fixed points 0 and 1
    z0 = torch.zeros(2, 1, dtype=torch.float64)
    z, info = fixed_point(g, z0, tol=1e-8, stop_mode="abs", max_iter=1000)
    assert info.nstep[0] == 1 and info.nstep[1] > 50
    assert z[0].item() == 0.0
    assert abs(z[1].item() - 1.0) < 1e-6


@pytest.mark.parametrize("solver", SOLVERS, ids=lambda s: s.__name__)
def test_nan_is_reported_as_divergence(solver):
    def g(z):
        out = 0.5 * z + 1.0
        out[1] = float("nan")
        return out

    with pytest.warns(SolverDivergenceWarning, match=r"indices \[1\]"):
        z, info = solver(g, torch.zeros(3, 4), tol=1e-6, max_iter=100)
    assert info.diverged.tolist() == [False, True, False]
    assert info.converged[[0, 2]].all()
    assert torch.isfinite(z).all()


def test_growing_residual_is_divergence():
    g = lambda z: 3.0 * z + 1.0  # noqa: E731  expanding: plain iteration blows up
    with pytest.warns(SolverDivergenceWarning):
        z, info = fixed_point(g, torch.zeros(2, 3), max_iter=100)
    assert info.diverged.all() and not info.converged.any()
    assert torch.isfinite(z).all()


def test_best_iterate_is_returned():
    # damped oscillation around the fixed point whose residual grows late: best iterate kept
    calls = {"n": 0}

    def g(z):
        calls["n"] += 1
        return z * 0.5 if calls["n"] < 10 else z * 1.5 + 0.01

    z, info = fixed_point(g, torch.ones(1, 2), tol=1e-12, max_iter=30, divergence_ratio=1e9)
    assert float(info.residual[0]) == pytest.approx(float(info.trace[0].min()))


@pytest.mark.parametrize("solver", SOLVERS, ids=lambda s: s.__name__)
def test_memory_bounded_by_history_not_max_iter(solver):
    from deq.core.bench import peak_memory

    W = torch.randn(64, 64) / 8.0 * 0.99
    c = torch.randn(4, 64, 64)
    g = lambda z: torch.tanh(W @ z) + c  # noqa: E731  never converges to tol=1e-30 in float32
    z0 = torch.zeros_like(c)
    short = peak_memory(lambda: solver(g, z0, tol=1e-30, max_iter=10))
    long = peak_memory(lambda: solver(g, z0, tol=1e-30, max_iter=200))
    assert long < 1.2 * short


def test_options_are_checked():
    g = lambda z: z  # noqa: E731
    with pytest.raises(TypeError):
        anderson(g, torch.zeros(1, 2), bogus=1)
    with pytest.raises(ValueError, match="stop_mode"):
        anderson(g, torch.zeros(1, 2), stop_mode="relative")
    with pytest.raises(ValueError, match="max_iter"):
        broyden(g, torch.zeros(1, 2), max_iter=0)
    with pytest.raises(ValueError, match="batch"):
        fixed_point(g, torch.zeros(()))


def test_solvers_are_registered_by_name():
    assert get_solver("anderson") is anderson
    assert get_solver("broyden") is broyden
    assert get_solver("fixed_point") is fixed_point
    assert get_solver("nesterov") is nesterov
    with pytest.raises(KeyError, match="no solver named 'nope'"):
        get_solver("nope")
