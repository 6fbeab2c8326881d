"""deq-models-mismatch: Hu, Shoushtari, Zou, Liu, Sun, Kamilov, "Robustness of Deep Equilibrium Architectures to
Changes in the Measurement Model": SD-RED (CS-MRI) and PnP-PGM (super-resolution) with AWGN denoisers (PnP) and
with artifact-removal priors trained through the DEQ under a mismatched operator.

Models: ``deq.core.registry.create("model", "sd-red" | "pnp-pgm", ...)`` (:mod:`deq.models.mismatch.models`);
maps: :mod:`deq.models.mismatch.maps`; data and operators: :mod:`deq.models.mismatch.data`; commands:
``deq train mismatch``, ``deq bench mismatch``, ``deq reconstruct mismatch``.
"""
