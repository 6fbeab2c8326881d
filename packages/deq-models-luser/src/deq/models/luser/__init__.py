"""deq-models-luser: *Loop Unrolled Shallow Equilibrium Regularizer (LUSER)* (Guan, Jin, Romberg, Davenport) and
the models it compares with, on deq-core, deq-operators and deq-priors.

* :mod:`~deq.models.luser.step` — the gradient step ``d = x + lambda A^T (y - A x)`` (learnable ``lambda``);
* :mod:`~deq.models.luser.unrolled` — ``K``-stage loop unrolling: LU-DnCNN, LUSER-SW, LUSER-DW;
* :mod:`~deq.models.luser.deq4ip` — DEQ4IP (Gilton et al. 2021) on deq-core's ``EquilibriumModel``;
* :mod:`~deq.models.luser.models` — the registered factories ``lu-dncnn``, ``deq4ip``, ``luser-sw``, ``luser-dw``;
* :mod:`~deq.models.luser.tasks` — deblurring, CT and MRI as in the paper's sec. 4.1;
* :mod:`~deq.models.luser.data`, :mod:`~deq.models.luser.phantoms` — the images each task trains and is tested on;
* :mod:`~deq.models.luser.train`, :mod:`~deq.models.luser.bench`, :mod:`~deq.models.luser.cli` — ``deq train luser``,
  ``deq bench luser``, ``deq reconstruct luser``.
"""
