"""The policy-gradient machinery GPO's operators stand on (Stable-Baselines3's ``common``): the
Gaussian MLP policy and critic, numerics (MLP passes, Adam, distributions, normalisers), stepping
and storage of rollouts, GAE, the PPO and A2C updates, one-policy training and evaluation, worker
pools and seeding. Nothing here knows the paper's operators (``gpo.mutation``, ``gpo.crossover``,
...) that use it.
"""
