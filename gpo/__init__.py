"""Genetic Policy Optimization (Gangwani & Peng, ICLR 2018) and the policy-gradient core it uses.

Nothing here knows about the benchmark harness, submitit, Parquet or plotting (see ``bench``).

Importing ``gpo`` pins the numerical kernels of this process and the processes it starts to one
instruction-set level before NumPy or torch load (``gpo.core.kernels``), so that a seed gives the
same bits on any x86-64 CPU with AVX2; it says once when it cannot.
"""

from gpo.core import kernels as _kernels

_kernels.pin()
