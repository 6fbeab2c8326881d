"""deq.models.sci: video snapshot compressive imaging with deep equilibrium models.

Models (Zhao, Zheng & Yuan, "Deep equilibrium models for video snapshot compressive imaging"):
:class:`~deq.models.sci.degap.DEGAP` (eq. 14-26), :class:`~deq.models.sci.dernn.DERNN` (eq. 12-13) and the
baselines :class:`~deq.models.sci.models.GapTV` and :class:`~deq.models.sci.models.PnPGAP` /
:class:`~deq.models.sci.models.PnPADMM` (eq. 4-9), all built on the one GAP step of
:mod:`deq.models.sci.gap`. Videos are ``[B, 1, T, H, W]``, snapshots ``[B, 1, H, W]``, the operator is
``deq.operators.sci.CACTI``.
"""
