"""Argument types of the ``convcost`` command: each converts one value or says what would be valid."""

from __future__ import annotations

import argparse
import ast
import math
from dataclasses import dataclass
from typing import Any

from convcost.analyzer.optimizers import Optimizer
from convcost.studies.arguments import (
    MAX_SIZE,
    batch_sizes,
    byte_size,
    index_list,
    non_negative_int,
    positive_int,
    seconds,
)

from .errors import UsageError

__all__ = [
    "FLOAT_DTYPES",
    "TENSOR_DTYPES",
    "InputArgument",
    "KeywordArgument",
    "add_model_options",
    "batch_sizes",
    "byte_size",
    "depth",
    "index_list",
    "input_argument",
    "input_shape",
    "keyword_argument",
    "non_negative_int",
    "positive_int",
    "resolution_or_native",
    "seconds",
]

#: What ``--dtype`` takes: the floating dtypes of inputs, weights and activations (torch's names).
FLOAT_DTYPES: tuple[str, ...] = ("float32", "float16", "bfloat16", "float64")
#: What an ``--input`` may name after its shape (``1x77:int64``): any tensor dtype.
TENSOR_DTYPES: tuple[str, ...] = (*FLOAT_DTYPES, "int64", "int32", "int16", "int8", "uint8", "bool")


@dataclass(frozen=True)
class InputArgument:
    """One ``--input``: a shape, and the dtype of a non-floating input (None: the analysis's dtype)."""

    shape: tuple[int, ...]
    dtype: str | None = None


@dataclass(frozen=True)
class KeywordArgument:
    """One ``--kw name=value``: a keyword argument of the model's factory."""

    name: str
    value: Any


def input_shape(text: str) -> tuple[int, ...]:
    """``1x3x224x224`` → ``(1, 3, 224, 224)``."""
    parts = text.lower().split("x")
    if not all(part.isdigit() and int(part) > 0 for part in parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not a shape: give positive sizes joined by x, "
                                         "e.g. 1x3x224x224")
    shape = tuple(int(part) for part in parts)
    if math.prod(shape) > MAX_SIZE:
        raise argparse.ArgumentTypeError(f"{text!r} has {math.prod(shape):.3g} elements, more than a tensor can "
                                         "hold (2^63 - 1)")
    return shape


def input_argument(text: str) -> InputArgument:
    """``1x3x224x224`` → a shape; ``1x77:int64`` → a shape of that dtype (token ids, masks)."""
    shape_text, colon, dtype = text.partition(":")
    if colon and dtype not in TENSOR_DTYPES:
        raise argparse.ArgumentTypeError(f"{text!r}: dtype {dtype!r} is not one of {', '.join(TENSOR_DTYPES)}")
    return InputArgument(input_shape(shape_text), dtype or None)


def keyword_argument(text: str) -> KeywordArgument:
    """``num_classes=10`` → ``num_classes`` and ``10``: the value as a Python literal (number, string, True,
    None, tuple …), else as the text itself."""
    name, equals, value = text.partition("=")
    if not equals or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"{text!r} is not name=value, e.g. num_classes=10")
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        parsed = value
    return KeywordArgument(name, parsed)


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """``MODEL``, its factory's keyword arguments and its input: ``--resolution`` or ``--input`` (repeatable),
    ``--batch`` and ``--dtype``."""
    parser.add_argument("model", metavar="MODEL",
                        help="registry name, path/to/file.py:factory, module:factory, timm:NAME or torchvision:NAME")
    parser.add_argument("--kw", type=keyword_argument, action="append", default=[], metavar="NAME=VALUE",
                        help="keyword argument of the model's factory, e.g. --kw num_classes=10 (repeatable)")
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument("--resolution", type=positive_int, metavar="N",
                       help="input side in pixels (default: native, or 224 for your own model)")
    shape.add_argument("--input", type=input_argument, action="append", metavar="SHAPE[:DTYPE]",
                       help="an input's full shape, e.g. 1x3x224x224; repeat for a model of several inputs "
                            "(--input 1x3x224x224 --input 1x77:int64)")
    parser.add_argument("--batch", type=positive_int, metavar="N",
                        help="batch size: replaces the first size of every input (default: as given, or 1)")
    parser.add_argument("--dtype", choices=FLOAT_DTYPES, metavar="DTYPE",
                        help=f"dtype of weights, inputs and activations: {', '.join(FLOAT_DTYPES)} "
                             "(default: the model's own, float32 for the zoo)")


def add_training_options(parser: argparse.ArgumentParser, *, freezing: bool = True) -> None:
    """``--train`` and ``--optimizer`` (and with ``freezing``, ``--freeze`` and ``--trainable`` patterns)."""
    parser.add_argument("--train", action="store_true",
                        help="also count a training step (train-mode forward and backward on meta tensors, then "
                             "the optimizer's step): grad-input and grad-weight MACs per layer, peak memory")
    if freezing:
        add_freezing_options(parser)
    parser.add_argument("--optimizer", choices=[o.value for o in Optimizer], default=None,
                        help="with --train: the optimizer whose step and state are counted (default: sgd)")


def add_freezing_options(parser: argparse.ArgumentParser) -> None:
    """``--freeze`` and ``--trainable`` patterns over parameter names."""
    parser.add_argument("--freeze", action="append", default=[], metavar="PATTERN",
                        help="freeze the parameters whose names match this shell pattern, e.g. 'stem.*' "
                             "(repeatable)")
    parser.add_argument("--trainable", action="append", default=[], metavar="PATTERN",
                        help="train only the parameters whose names match this pattern, e.g. 'fc.*' "
                             "(repeatable; --freeze then freezes among them)")


def training_optimizer(args: argparse.Namespace) -> str:
    """The optimizer of ``--train`` (default ``sgd``).

    Raises:
        UsageError: ``--optimizer`` without ``--train``.
    """
    if args.optimizer and not args.train:
        raise UsageError("--optimizer chooses the optimizer of a training step; add --train")
    return str(args.optimizer or Optimizer.SGD.value)


def depth(text: str) -> int:
    """A depth: 0 or more."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a depth (0, 1, 2, ...)")
    return int(text)


def resolution_or_native(text: str) -> int | None:
    """``native`` → None, else a positive number of pixels."""
    return None if text == "native" else positive_int(text)
