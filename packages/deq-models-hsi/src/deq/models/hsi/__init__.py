"""deq.models.hsi: hyperspectral denoising by block sparse coding with deep unrolled and deep equilibrium HQS
networks (Gkillas, Ampeliotis & Berberidis). See :mod:`deq.models.hsi.models` for the registered models."""
