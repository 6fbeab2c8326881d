"""deq-priors: learned and classical priors ``D(x, sigma=None) -> x`` for deq reconstruction models.

Images are ``[B, C, H, W]`` (video / volumes ``[B, C, T, H, W]``), intensities nominally in ``[0, 1]``;
``sigma`` is the noise standard deviation on that scale (``25/255`` for "sigma 25"). Every prior has a
boolean attribute ``lipschitz_controlled`` that says whether its Lipschitz constant is bounded by
construction (spectral normalization, or a proximal operator, which is firmly non-expansive).
"""

from deq.priors.base import check_image, sigma_tensor

__all__ = ["check_image", "sigma_tensor"]
