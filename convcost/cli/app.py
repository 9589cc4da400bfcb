"""The convcost command line: list the zoo, analyze a model, compare models, explain another tool's
count, run a study, plan training memory, write the full report.

A MODEL is a registry name (see: convcost list), path/to/file.py:factory,
package.module:factory (factory(**kw) returns a torch.nn.Module; --kw NAME=VALUE passes
keyword arguments), timm:NAME or torchvision:NAME. Registry models default to their native
resolution, the others to a 1x3x224x224 input unless --input or --resolution says otherwise.
Exit status: 0 done, 2 bad input (one line on stderr), 130 interrupted.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from convcost._version import __version__
from convcost.analyzer.lazy import lazy_exports

from .commands import COMMANDS
from .errors import EXIT_INTERRUPTED, EXIT_USAGE, UsageError
from .output import check_writable, configure_logging, output_path

if TYPE_CHECKING:
    from .models import expand_models

__all__ = ["EXIT_USAGE", "UsageError", "build_parser", "expand_models", "main"]
__getattr__, __dir__ = lazy_exports(__name__, {"expand_models": "convcost.cli.models"})

#: Errors that mean bad input, as (module, class): each is looked up only if its module was loaded, since an
#: error of a module never imported cannot have been raised (so the parser and --help load none of them).
INPUT_ERRORS: tuple[tuple[str, str], ...] = (
    ("convcost.loading", "ModelLoadError"),
    ("convcost.architectures.registry", "UnknownModelError"),
    ("convcost.analyzer.errors", "InputShapeError"),
    ("convcost.analyzer.errors", "AnalysisError"),
    ("convcost.studies.base", "SettingsError"),
    ("convcost.analyzer.plugins", "NotRegisteredError"),
)


def is_input_error(error: BaseException) -> bool:
    """``error`` reports bad input: a usage error, a file that cannot be written, or one of :data:`INPUT_ERRORS`."""
    if isinstance(error, (UsageError, OSError)):
        return True
    return any(isinstance(error, getattr(sys.modules[module], name))
               for module, name in INPUT_ERRORS if module in sys.modules)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser with one subcommand per job; only ``command``'s arguments are added when it is
    named (``""``: none, for ``--help``, ``--version`` and a mistyped command), every command's when it is None."""
    parser = argparse.ArgumentParser(prog="convcost", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"convcost {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for spec in COMMANDS:
        sub = commands.add_parser(spec.name, help=spec.help, description=spec.description)
        if command is None or command == spec.name:
            spec.configure(sub)
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
        parser = build_parser(arguments[0] if arguments else "")
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
    except Exception as error:
        if not is_input_error(error):
            raise
        print(f"convcost: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("convcost: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
