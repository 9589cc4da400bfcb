"""What a ``convcost`` subcommand declares: its name, its help, and how it adds its arguments.

The parser is built in two steps so that ``--help``, ``--version`` and argument errors load no
torch: every command is listed by name and help, and only the command being run adds its
arguments (:attr:`Command.configure`). A command module therefore imports only the standard
library and light convcost modules at its top (argument types, enum names, output options);
its ``run`` imports what the work needs. ``tests/test_cli_startup.py`` holds every command to it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    """One subcommand.

    Attributes:
        name: what the user types (``analyze``).
        help: one line in the command list.
        description: the paragraph atop the command's own ``--help``.
        configure: adds the command's arguments to its parser and sets ``run``
            (``parser.set_defaults(run=...)``), a function of the parsed arguments returning the exit status.
    """

    name: str
    help: str
    description: str
    configure: Callable[[argparse.ArgumentParser], None]


__all__ = ["Command"]
