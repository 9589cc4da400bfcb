"""The ``convcost`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import architectures


def _list(args: argparse.Namespace) -> int:
    for name in architectures.list_models(args.pattern):
        info = architectures.model_info(name)
        params = sum(p.numel() for p in architectures.create_model(name, device="meta").parameters())
        print(f"{name:20} {info.resolution:4d}px {params:>12,d} params")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one subcommand per job."""
    parser = argparse.ArgumentParser(prog="convcost", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="the model zoo with native resolution and parameters")
    listing.add_argument("pattern", nargs="?", default="*", help="shell-style name filter")
    listing.set_defaults(run=_list)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``convcost`` with ``argv`` (default: the process arguments); returns the exit code."""
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
