"""The ``convcost`` subcommands, one module each, each defining its :class:`~..command.Command` as ``COMMAND``;
:data:`COMMANDS` is their order in ``--help``. A command module loads no torch at import (see :mod:`..command`)."""

from ..command import Command
from . import (
    analyze_command,
    compare_command,
    explain_command,
    list_command,
    plan_command,
    profile_command,
    report_command,
    study_command,
)

COMMANDS: tuple[Command, ...] = tuple(module.COMMAND for module in (
    list_command, analyze_command, explain_command, plan_command, profile_command, study_command, compare_command,
    report_command))

__all__ = ["COMMANDS"]
