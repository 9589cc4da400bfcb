"""Errors convcost raises for bad input or a forward pass that cannot run."""


class AnalysisError(RuntimeError):
    """The model's forward pass failed; the message names the module that was running."""


class InputShapeError(ValueError):
    """The input shape does not fit the model; the message says what would."""
