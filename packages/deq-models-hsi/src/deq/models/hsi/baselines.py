"""The classical sparse-coding denoisers of Gkillas et al. Table I, as registered models: every pixel's spectrum is
coded over the dictionary on its own (no inter-dependency prior) by scikit-learn, and the cube is ``D G``.

* ``batch-omp-sc`` (:class:`BatchOMP`): batch OMP until the residual's squared norm is ``d (c sigma)^2``
  (``c = tol_factor``), the usual error-constrained rule for AWGN of level ``sigma``;
* ``lasso-sc`` (:class:`Lasso`): ``argmin_g 1/2 ||y - D g||^2 + alpha ||g||_1`` with ``alpha = alpha_factor sigma``.

``sigma`` is the noise level on the 0-255 scale (the learned models are blind; these need it). The factors were
chosen on validation data (``deq bench hsi`` selects them per fold and noise level on the training scenes' held-out
rows and reports the choice).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from deq.core.operator import LinearOperator
from deq.models.hsi.dictionary import random_dictionary
from deq.models.hsi.sparse import lasso_codes, omp_codes

#: defaults of the two factors (the values ``deq bench hsi`` chose most often on the validation rows)
TOL_FACTOR, ALPHA_FACTOR = 1.15, 1.0


class _PixelSparseCoding(nn.Module):
    """Shared by the baselines: the dictionary buffer, input checks and pixel-wise coding of cubes."""

    def __init__(self, D: Tensor, sigma: float) -> None:
        super().__init__()
        if not sigma > 0:
            raise ValueError(f"{type(self).__name__}: sigma (noise level on the 0-255 scale) must be positive, got {sigma}")
        self.register_buffer("D", torch.as_tensor(D, dtype=torch.float32).clone())
        self.sigma = float(sigma)

    def codes(self, signals: np.ndarray) -> np.ndarray:
        """Codes ``(M, P)`` of spectra ``(d, P)``."""
        raise NotImplementedError

    @torch.no_grad()
    def reconstruct(self, y: Tensor, operator: LinearOperator) -> Tensor:
        """Denoise cubes ``y [B, d, H, W]`` pixel by pixel: ``D G`` with ``G`` the codes of every spectrum."""
        from deq.models.hsi.models import check_denoising

        check_denoising(y, operator, self.D.shape[0], 1, type(self).__name__)
        b, d, h, w = y.shape
        signals = y.permute(1, 0, 2, 3).reshape(d, -1)
        g = torch.from_numpy(self.codes(signals.double().cpu().numpy())).to(self.D)
        return (self.D @ g).reshape(d, b, h, w).permute(1, 0, 2, 3).to(y)


class BatchOMP(_PixelSparseCoding):
    """Batch-OMP denoising (Rubinstein et al. 2008; Table I "batch-OMP"), scikit-learn's ``orthogonal_mp_gram``.

    Args:
        D: the dictionary ``[d, M]``; sigma: the noise level (0-255 scale); tol_factor: ``c`` of the stopping rule
            ``||y - D g||^2 <= d (c sigma / 255)^2``.
    """

    def __init__(self, D: Tensor, sigma: float = 30.0, tol_factor: float = TOL_FACTOR) -> None:
        super().__init__(D, sigma)
        self.tol_factor = float(tol_factor)

    def codes(self, signals: np.ndarray) -> np.ndarray:
        tol = signals.shape[0] * (self.tol_factor * self.sigma / 255.0) ** 2
        return omp_codes(self.D, signals, tol=tol)


class Lasso(_PixelSparseCoding):
    """Lasso denoising (Tibshirani 1996; Table I "Lasso"), scikit-learn's LARS (``sparse_encode``).

    Args:
        D: the dictionary ``[d, M]``; sigma: the noise level (0-255 scale); alpha_factor: ``alpha = c sigma / 255``.

    LARS runs one signal at a time (about 5 ms per spectrum with 512 atoms on one core), in as many processes as
    torch has CPU threads.
    """

    def __init__(self, D: Tensor, sigma: float = 30.0, alpha_factor: float = ALPHA_FACTOR) -> None:
        super().__init__(D, sigma)
        self.alpha_factor = float(alpha_factor)

    def codes(self, signals: np.ndarray) -> np.ndarray:
        return lasso_codes(self.D, signals, self.alpha_factor * self.sigma / 255.0, n_jobs=torch.get_num_threads())


def _dictionary_for(name: str, pretrained: bool, weights: str | None, bands: int, atoms: int) -> Tensor:
    from deq.models.hsi.weights import load_dictionary

    if weights is not None and not pretrained:
        raise ValueError(f"{name}: weights={weights!r} (a K-SVD dictionary file) is only read with pretrained=True")
    return load_dictionary(weights) if pretrained else random_dictionary(bands, atoms)


def batch_omp_sc(
    pretrained: bool = False,
    weights: str | None = None,
    *,
    sigma: float = 30.0,
    tol_factor: float = TOL_FACTOR,
    bands: int = 31,
    atoms: int = 512,
) -> BatchOMP:
    """Batch-OMP baseline (:class:`BatchOMP`): with ``pretrained`` the shipped K-SVD dictionary or the dictionary
    file ``weights`` (``deq train hsi-dictionary``), else a random ``bands x atoms`` one."""
    return BatchOMP(_dictionary_for("batch-omp-sc", pretrained, weights, bands, atoms), sigma, tol_factor)


def lasso_sc(
    pretrained: bool = False,
    weights: str | None = None,
    *,
    sigma: float = 30.0,
    alpha_factor: float = ALPHA_FACTOR,
    bands: int = 31,
    atoms: int = 512,
) -> Lasso:
    """Lasso baseline (:class:`Lasso`): dictionary as :func:`batch_omp_sc`."""
    return Lasso(_dictionary_for("lasso-sc", pretrained, weights, bands, atoms), sigma, alpha_factor)
