"""What a training step keeps besides activations: optimizer state per parameter, and the batch sizes a plan
tabulates by default (light: the command line reads them for ``--help``)."""

from __future__ import annotations

#: A plan's optimizer name → state tensors kept per parameter (``sgd`` is SGD with momentum, as it is trained: 1;
#: Adam and AdamW: first and second moments).
OPTIMIZER_STATES: dict[str, int] = {"sgd": 1, "sgd-momentum": 1, "adam": 2, "adamw": 2}
#: Batch sizes a training plan tabulates unless told otherwise.
DEFAULT_BATCHES: tuple[int, ...] = (1, 2, 4, 8, 16, 24, 32, 64, 128)

__all__ = ["DEFAULT_BATCHES", "OPTIMIZER_STATES"]
