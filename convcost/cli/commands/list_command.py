"""``convcost list``: the zoo, with native resolution and published figures."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..command import Command
from ..errors import UsageError
from ..output import add_common_options


def run(args: argparse.Namespace) -> int:
    """Print the models matching the pattern, one row per published figure."""
    import pandas as pd

    from convcost import architectures
    from convcost.reports.table import frame_text

    names = architectures.list_models(args.pattern)
    if not names:
        raise UsageError(f"no model matches {args.pattern!r}; convcost list shows them all")
    rows: list[dict[str, Any]] = []
    for name in names:
        info = architectures.model_info(name)
        base = {"model": name, "family": info.family, "resolution": info.resolution}
        rows += [{**base, "source": figure.source + (f" (at {figure.resolution} px)"
                                                     if figure.resolution != info.resolution else ""),
                  "params": figure.params, "macs": figure.macs, "top1": figure.top1}
                 for figure in info.published] or [{**base, "source": "(none published)"}]
    columns = ["model", "family", "resolution", "source", "params", "macs", "top1"]
    sys.stdout.write(frame_text(pd.DataFrame(rows, columns=columns)) + "\n")
    return 0


def configure(parser: argparse.ArgumentParser) -> None:
    """An optional name pattern."""
    parser.add_argument("pattern", nargs="?", default="*", metavar="PATTERN", help="shell-style name filter")
    add_common_options(parser)
    parser.set_defaults(run=run)


COMMAND = Command("list", "the zoo: native resolution and published figures",
                  "The model zoo with native resolution and published params, MACs, top-1 and their source.",
                  configure)
