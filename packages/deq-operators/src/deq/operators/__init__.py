"""deq-operators: forward models ``y = A x`` on deq-core's ``LinearOperator`` protocol.

Every class here imports with torch/numpy/scipy only. ``NUFFTMRI`` (extra ``nufft``) imports sigpy and
``ParallelBeamCT`` (extra ``ct``) imports ODL when an operator is built, not before (ODL changes numpy's
global print options when imported); a missing extra raises an ImportError naming the pip command.
``SparseParallelBeamCT`` needs ODL and ASTRA only to build its matrix once per geometry (then cached on disk).
"""

from deq.operators.blur import Blur
from deq.operators.ct import ParallelBeamCT
from deq.operators.ct_sparse import SparseParallelBeamCT
from deq.operators.dictionary import Dictionary, SupportDictionary
from deq.operators.kernels import gaussian_kernel
from deq.operators.mri import CartesianMRI, column_mask, load_mask, radial_lines, radial_mask
from deq.operators.noise import GaussianNoise, PoissonNoise
from deq.operators.nufft import NUFFTMRI, radial_trajectory, spiral_trajectory
from deq.operators.sci import CACTI
from deq.operators.simple import Denoising, Inpainting
from deq.operators.sr import SuperResolution

__all__ = [
    "CACTI",
    "Blur",
    "CartesianMRI",
    "Denoising",
    "Dictionary",
    "GaussianNoise",
    "Inpainting",
    "NUFFTMRI",
    "ParallelBeamCT",
    "PoissonNoise",
    "SparseParallelBeamCT",
    "SuperResolution",
    "SupportDictionary",
    "column_mask",
    "gaussian_kernel",
    "load_mask",
    "radial_lines",
    "radial_mask",
    "radial_trajectory",
    "spiral_trajectory",
]
