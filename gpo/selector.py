"""The binary selector π_S(h | s), h ∈ {x, y}, of state-space crossover (Section 3.2).

An MLP (2 × 32 tanh) with a softmax over the two parents, trained by maximum likelihood
(cross-entropy) on states from the parents' recent high-reward episodes, each state labelled with
the parent that visited it. It costs no environment steps. The states are balanced between the
parents (the larger set is subsampled) so that π_S learns where each parent lives, not how many
states each contributed. Its accuracy is measured on a held-out tenth of those states.

Optionally (``refine_steps > 0``, off by default) π_S is then refined by policy gradient, as the
paper allows: the hybrid π_H acts for ``refine_steps`` env steps (counted against the budget),
and π_S takes REINFORCE steps on its own choices h_t with advantages from normalised
returns-to-go, i.e. a cross-entropy on (s_t, h_t) weighted by how well the choice turned out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gpo.core.nn import MLP, mlp_size
from gpo.core.normalization import ObservationNormalizer
from gpo.core.optim import Adam, stacked_minibatches

Array = np.ndarray


@dataclass(frozen=True)
class SelectorConfig:
    hidden: tuple[int, ...] = (32, 32)
    top_fraction: float = 0.5  # the parents' episodes kept as "good": the best half by return
    max_states: int = 5000  # per parent
    epochs: int = 10
    minibatch: int = 64
    learning_rate: float = 1e-3
    holdout: float = 0.1
    refine_steps: int = 0  # env steps of π_H for policy-gradient refinement of π_S; 0 = off
    refine_gamma: float = 0.99

    def __post_init__(self) -> None:
        if not 0.0 < self.top_fraction <= 1.0:
            raise ValueError(f"top_fraction must be in (0, 1], got {self.top_fraction}")
        if not 0.0 <= self.holdout < 0.5:
            raise ValueError(f"holdout must be in [0, 0.5), got {self.holdout}")
        if self.refine_steps < 0 or not 0.0 <= self.refine_gamma <= 1.0:
            raise ValueError("refine_steps must be >= 0 and refine_gamma in [0, 1]")
        for name in ("max_states", "epochs", "minibatch"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")


class Selector:
    """π_S(x | s) from logits of an MLP over normalised states (index 0 = parent x)."""

    def __init__(
        self,
        obs_dim: int,
        normalizer: ObservationNormalizer,
        config: SelectorConfig,
        rng: np.random.Generator,
    ):
        sizes = (obs_dim, *config.hidden, 2)
        self.params = np.zeros(mlp_size(sizes))
        self.grads = np.zeros_like(self.params)
        self.net = MLP(sizes, self.params, self.grads)
        self.net.init_orthogonal(rng, out_gain=0.01)
        self.normalizer = normalizer

    def prob_x(self, raw_obs: Array) -> Array:
        """π_S(x | s) for a batch of raw states."""
        logits = self.net(self.normalizer(raw_obs))
        return 1.0 / (1.0 + np.exp(logits[..., 1] - logits[..., 0]))

    def fit(
        self,
        states: Array,
        labels: Array,
        config: SelectorConfig,
        rng: np.random.Generator,
        weights: Array | None = None,
        epochs: int | None = None,
    ) -> None:
        """Minimise the (weighted) cross-entropy −E[w · log π_S(label | s)] with Adam.

        Unweighted, this is maximum likelihood; with advantages as weights, it is REINFORCE.
        """
        stacked_weights = None if weights is None else [weights]
        fit_together([self], [states], [labels], config, [rng], stacked_weights, epochs)


def fit_together(
    selectors: Sequence[Selector],
    states: Sequence[Array],
    labels: Sequence[Array],
    config: SelectorConfig,
    rngs: Sequence[np.random.Generator],
    weights: Sequence[Array] | None = None,
    epochs: int | None = None,
) -> None:
    """:meth:`Selector.fit` for k selectors with datasets of one size, as one batch over the member
    axis (stacked networks, one Adam over all k; each selector's numbers exactly its own alone)."""
    k, n = len(selectors), len(labels[0])
    if any(len(y) != n for y in labels):
        raise ValueError("selectors fitted together need datasets of one size")
    inputs = np.stack([sel.normalizer(x) for sel, x in zip(selectors, states)])  # (k, n, O)
    targets = np.stack(labels)  # (k, n)
    w = np.ones((k, n)) if weights is None else np.stack(weights)
    params = np.stack([sel.params for sel in selectors])
    grads = np.zeros_like(params)
    net = MLP(selectors[0].net.sizes, params, grads)
    optimizer = Adam(params, grads, config.learning_rate)
    rows = np.arange(k)[:, None]
    for _ in range(config.epochs if epochs is None else epochs):
        for _, (x, y, w_b) in stacked_minibatches(rngs, [inputs, targets, w], max(1, n // config.minibatch)):
            logits, cache = net.forward(x)
            probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
            probs /= probs.sum(axis=-1, keepdims=True)
            # ∂/∂logits of the mean weighted cross-entropy: w · (softmax − one-hot) / B
            B = y.shape[1]
            probs[rows, np.arange(B), y] -= 1.0
            net.backward(cache, probs * (w_b[..., None] / B))
            optimizer.step()
    for sel, row in zip(selectors, params):
        sel.params[...] = row


def train_selector(
    states_x: Array,
    states_y: Array,
    normalizer: ObservationNormalizer,
    config: SelectorConfig,
    rng: np.random.Generator,
) -> tuple[Selector, float]:
    """Fit π_S on balanced, labelled states of both parents; return it and its held-out accuracy."""
    return train_selectors([(states_x, states_y)], [normalizer], config, [rng])[0]


def train_selectors(
    parents_states: Sequence[tuple[Array, Array]],
    normalizers: Sequence[ObservationNormalizer],
    config: SelectorConfig,
    rngs: Sequence[np.random.Generator],
) -> list[tuple[Selector, float]]:
    """:func:`train_selector` for k pairs of parents, each with its own normaliser and generator;
    selectors whose training sets have one size are fitted as one batch (``fit_together``)."""
    made = []
    for (states_x, states_y), normalizer, rng in zip(parents_states, normalizers, rngs):
        n = min(len(states_x), len(states_y), config.max_states)
        if n == 0:
            raise ValueError("both parents need recent states to train the selector")
        x = states_x[rng.choice(len(states_x), n, replace=False)]
        y = states_y[rng.choice(len(states_y), n, replace=False)]
        states = np.concatenate([x, y])
        labels = np.concatenate([np.zeros(n, dtype=np.int64), np.ones(n, dtype=np.int64)])
        order = rng.permutation(2 * n)
        n_test = int(config.holdout * 2 * n)
        test, train = order[:n_test], order[n_test:]
        selector = Selector(states.shape[1], normalizer, config, rng)
        made.append((selector, states, labels, train, test if n_test else train))
    by_size: dict[int, list[int]] = {}
    for j, (_, _, _, train, _) in enumerate(made):
        by_size.setdefault(len(train), []).append(j)
    for members in by_size.values():
        fit_together(
            [made[j][0] for j in members],
            [made[j][1][made[j][3]] for j in members],
            [made[j][2][made[j][3]] for j in members],
            config,
            [rngs[j] for j in members],
        )
    results = []
    for selector, states, labels, _, test in made:
        picked_y = selector.prob_x(states[test]) < 0.5
        results.append((selector, float(np.mean(picked_y == labels[test].astype(bool)))))
    return results
