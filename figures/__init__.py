"""The paper's figures, drawn from ``bench.analysis.aggregate``'s tables (pandas frames in, matplotlib
figures out; no file reading or writing here: ``bench.analysis.plot`` composes and saves them).

- ``curves.py``: return against env steps per task (Figures 3, 4, 6 and the ablation figure);
- ``finals.py``: final returns per task with CIs, and the performance profile;
- ``crossover.py``: Figure 2a, children after state- vs parameter-space crossover;
- ``members.py``: Figure 5, every GPO member against every Single member;
- ``paper.py``: our GPO/Single and GPO/Joint ratios against the paper's;
- ``style.py``: colours per algorithm, labels, titles, the shared legend.
"""
