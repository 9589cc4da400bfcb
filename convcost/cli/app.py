"""The convcost command line: list the zoo, analyze a model, compare models, explain another tool's
count, run a study, plan training memory, write the full report.

A MODEL is a registry name (see: convcost list), path/to/file.py:factory or
package.module:factory, where factory() takes no arguments and returns a torch.nn.Module.
Registry models default to their native resolution; your own models to a 1x3x224x224
input unless --input or --resolution says otherwise. Bad input exits with status 2 and a
one-line message.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence

from convcost._version import __version__
from convcost.analyzer import AnalysisError, InputShapeError
from convcost.architectures import UnknownModelError
from convcost.loading import ModelLoadError
from convcost.studies import SettingsError

from .commands import COMMANDS
from .errors import EXIT_INTERRUPTED, EXIT_USAGE, UsageError
from .models import expand_models
from .output import check_writable, configure_logging, output_path

__all__ = ["EXIT_USAGE", "UsageError", "build_parser", "expand_models", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one subcommand per job."""
    parser = argparse.ArgumentParser(prog="convcost", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"convcost {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(commands)
    return parser


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


#: A value that starts with a minus sign: argparse would read it as a flag.
_NEGATIVE = re.compile(r"^-\d")


def attach_negative_values(argv: Sequence[str]) -> list[str]:
    """``--input -1x3`` → ``--input=-1x3``, so that a value starting with a minus sign reaches the option and is
    refused for what it is, not read as an unknown flag."""
    glued: list[str] = []
    index = 0
    while index < len(argv):
        token = argv[index]
        following = argv[index + 1] if index + 1 < len(argv) else ""
        if token.startswith("--") and "=" not in token and _NEGATIVE.match(following):
            glued.append(f"{token}={following}")
            index += 2
        else:
            glued.append(token)
            index += 1
    return glued


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``convcost`` with ``argv`` (default: the process arguments); returns the exit status."""
    try:
        arguments = sys.argv[1:] if argv is None else list(argv)
        parser = build_parser()
        if not arguments:  # no command: the list of them
            parser.print_help()
            return 0
        args = parser.parse_args(attach_negative_values(arguments))
        configure_logging(args)
        path = output_path(args)
        if path is not None:  # fail before any work, not after
            check_writable(path)
        status: int = args.run(args)
        return status
    except SystemExit as exit_:  # argparse: --help/--version (0) or a usage error (2), already printed
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    except (UsageError, ModelLoadError, UnknownModelError, InputShapeError, AnalysisError, SettingsError,
            OSError) as error:
        print(f"convcost: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("convcost: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
