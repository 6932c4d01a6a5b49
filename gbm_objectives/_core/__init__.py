"""Foundations that import nothing above them: validation, the numba policy (jit), vectorisable math (vmath),
query groups (segments), DCG and ranking primitives (dcg), progress bars (progress) and atomic files (files)."""
