"""Genetic Policy Optimization (Gangwani & Peng, ICLR 2018) and the policy-gradient core it uses.

Nothing here knows about the benchmark harness, submitit, Parquet or plotting (see ``bench``).
"""
