"""Model specs as the command line takes them, for the Python API too: ``load_model("file.py:build")``.

A spec is a registry name (``efficientnet_b0``, built on ``meta``), ``path/to/file.py:factory``
or ``package.module:factory``, where ``factory(**kwargs)`` returns an ``nn.Module``, or a model
of another zoo, ``timm:NAME`` or ``torchvision:NAME`` (:mod:`convcost.hubs`). The
user's code runs with its ``sys.exit`` and command-line parsing contained: whatever it
raises or prints to stderr becomes one :class:`ModelLoadError` saying what happened and what
would work.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from torch import nn

from . import architectures
from .hubs import Hub, HubError, hub_of


class ModelLoadError(ValueError):
    """A model spec that cannot be found, imported or built; the message says why and what would work."""


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to analyze: its display name, the module, and its native resolution if known."""

    name: str
    module: nn.Module
    native_resolution: int | None = None


def _contained(action: str, run: Any) -> Any:
    """Run the user's code: ``sys.exit`` and anything it prints to stderr become a :class:`ModelLoadError`."""
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            return run()
    except SystemExit as exit_:
        said = " ".join(errors.getvalue().split())
        detail = f" after printing: {said[:200]}" if said else ""
        raise ModelLoadError(f"{action} called sys.exit({exit_.code}){detail}; guard the file's command-line "
                             "code with `if __name__ == \"__main__\":`") from None


def _import_file(path: Path) -> ModuleType:
    """Execute ``path`` as a module (registered in ``sys.modules`` while it runs, as dataclasses need)."""
    name = f"convcost_user_{re.sub(r'[^0-9a-zA-Z_]', '_', path.stem)}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError("not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _import(source: str, is_file: bool) -> ModuleType:
    def run() -> ModuleType:
        return _import_file(Path(source)) if is_file else importlib.import_module(source)

    try:
        module: ModuleType = _contained(f"importing {source}", run)
    except ModuleNotFoundError as error:
        if error.name is None or not (source == error.name or source.startswith(error.name + ".")):
            raise ModelLoadError(f"cannot import {source}: ModuleNotFoundError: {error}") from error
        raise ModelLoadError(f"cannot import {source}: ModuleNotFoundError: {error}; is its folder on PYTHONPATH? "
                             f"A file can be given as path/to/{source.replace('.', '/')}.py:factory") from error
    except ModelLoadError:
        raise
    except Exception as error:  # the user's code: report it, whatever it raised
        raise ModelLoadError(f"cannot import {source}: {type(error).__name__}: {error}") from error
    return module


def _callables(module: ModuleType) -> list[str]:
    return sorted(name for name, value in vars(module).items()
                  if callable(value) and getattr(value, "__module__", None) == module.__name__)


def _load_factory(spec: str, kwargs: dict[str, Any]) -> LoadedModel:
    source, _, factory_name = spec.rpartition(":")
    if not source or not factory_name.isidentifier():
        raise ModelLoadError(f"{spec!r}: expected path/to/file.py:factory or package.module:factory")
    is_file = source.endswith(".py") or "/" in source or os.sep in source
    if is_file and not Path(source).is_file():
        raise ModelLoadError(f"no such file: {source}")
    module = _import(source, is_file)
    factory = getattr(module, factory_name, None)
    if not callable(factory):
        defined = _callables(module)
        hint = f"; callables defined there: {', '.join(defined)}" if defined else ""
        raise ModelLoadError(f"{source} has no factory {factory_name!r}{hint}")
    arguments = ", ".join(f"{key}={value!r}" for key, value in kwargs.items())
    try:
        model = _contained(f"{factory_name}({arguments})", lambda: factory(**kwargs))
    except ModelLoadError:
        raise
    except Exception as error:  # the user's code
        raise ModelLoadError(f"{spec}: {factory_name}({arguments}) failed: {type(error).__name__}: {error}") from error
    if not isinstance(model, nn.Module):
        raise ModelLoadError(f"{spec}: {factory_name}() returned {type(model).__name__}, not a torch.nn.Module")
    return LoadedModel(spec, model)


def _load_hub(hub: Hub, spec: str, kwargs: dict[str, Any]) -> LoadedModel:
    name = spec.partition(":")[2]
    arguments = ", ".join(f"{key}={value!r}" for key, value in kwargs.items())
    try:
        model = _contained(f"building {spec}", lambda: hub.load(name, kwargs))
    except (HubError, ModelLoadError) as error:
        raise ModelLoadError(str(error)) from None
    except Exception as error:  # the other library's code
        raise ModelLoadError(f"{spec}({arguments}) failed: {type(error).__name__}: {error}") from error
    return LoadedModel(spec, model, hub.resolution(model))


def load_model(spec: str, **kwargs: Any) -> LoadedModel:
    """A registry model (built on ``meta``, ``kwargs`` as its variant overrides), a user's
    ``file.py:factory`` / ``module:factory`` model (``kwargs`` passed to the factory), or a
    ``timm:NAME`` / ``torchvision:NAME`` model (random weights on the CPU, ``kwargs`` passed to the zoo's builder).

    Raises:
        ModelLoadError: the model cannot be found, imported or built (a file given without its
            factory names the callables it defines).
        convcost.architectures.UnknownModelError: an unknown registry name (the message lists the closest).
    """
    hub = hub_of(spec)
    if hub is not None:
        return _load_hub(hub, spec, kwargs)
    if ":" in spec:
        return _load_factory(spec, kwargs)
    if spec.endswith(".py") or Path(spec).is_file():
        if not Path(spec).is_file():
            raise ModelLoadError(f"no such file: {spec}")
        defined = _callables(_import(spec, is_file=True))
        listed = f"; callables defined there: {', '.join(defined)}" if defined else ""
        raise ModelLoadError(f"{spec}: add the factory that builds the model, e.g. {spec}:build{listed}")
    info = architectures.model_info(spec)
    try:
        module = architectures.create_model(spec, device="meta", **kwargs)
    except ValueError as error:
        raise ModelLoadError(str(error)) from error
    return LoadedModel(spec, module, info.resolution)
