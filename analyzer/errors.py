"""Errors convcost raises for bad input or a forward pass that cannot run."""


from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .analysis import Analysis


class AnalysisError(RuntimeError):
    """The model's forward pass failed; the message names the module that was running.

    Attributes:
        partial: what could be counted: every parameter, and the modules that ran before the failure
            (``partial.complete`` is False), or None when nothing could be.
    """

    def __init__(self, message: str, partial: Analysis | None = None) -> None:
        super().__init__(message)
        self.partial = partial


class InputShapeError(ValueError):
    """The input shape does not fit the model; the message says what would."""


class WindowTooLargeError(RuntimeError):
    """A convolution or pooling window is larger than its padded input (the walk checks before running it).

    Attributes:
        operator: the aten operator; detail: the sizes, in words.
    """

    def __init__(self, operator: str, detail: str) -> None:
        super().__init__(f"{operator}: {detail}")
        self.operator = operator
        self.detail = detail
