"""deq-operators: forward models ``y = A x`` on deq-core's ``LinearOperator`` protocol.

Pure-torch operators are importable from here; the NUFFT (``deq.operators.nufft``, extra ``nufft``) and CT
(``deq.operators.ct``, extra ``ct``) operators live in their own modules so that importing this package never
imports sigpy or ODL (ODL changes numpy's global print options when imported).
"""

from deq.operators.sci import CACTI, CactiData, load_cacti

__all__ = ["CACTI", "CactiData", "load_cacti"]
