"""The ``convcost`` subcommands, one module each; :data:`COMMANDS` is their order in ``--help``."""

from . import analyze_command, compare_command, explain_command, list_command, report_command, study_command

#: Each module's ``register(subcommands)`` adds its parser(s).
COMMANDS = (list_command, analyze_command, explain_command, study_command, compare_command, report_command)

__all__ = ["COMMANDS"]
