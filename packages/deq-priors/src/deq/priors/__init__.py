"""deq-priors: learned and classical priors ``D(x, sigma=None) -> x`` for deq reconstruction models.

Images are ``[B, C, H, W]`` (video / volumes ``[B, C, T, H, W]``), intensities nominally in ``[0, 1]``;
``sigma`` is the noise standard deviation on that scale (``25/255`` for "sigma 25"). Every prior is a
:class:`deq.core.prior.Prior`: it declares ``in_channels``, ``takes_sigma``, ``video`` and ``lipschitz`` (how its
Lipschitz constant is controlled: ``"real"`` spectral normalisation, ``"prox"`` for proximal operators,
``"miyato"`` (no bound) or ``None``), and ``lipschitz_controlled`` says whether that is a bound.
"""

from deq.priors.base import ConvPrior, check_image, sigma_tensor
from deq.priors.published import import_checkpoint, load_denoiser

__all__ = ["ConvPrior", "check_image", "import_checkpoint", "load_denoiser", "sigma_tensor"]
