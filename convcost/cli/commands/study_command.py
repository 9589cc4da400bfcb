"""``convcost study NAME``: one study as a table, CSV, JSON, Markdown or an HTML page.

Every study, its options and its help come from the registry (:mod:`convcost.studies`):
nothing here names one. Studies declare their options in Python, so this command's parser
imports them (and torch) to list them; the other commands' parsers do not.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..command import Command
from ..errors import UsageError
from ..output import add_output_options, emit, renderer

if TYPE_CHECKING:
    from convcost.studies import Study, StudyOption


def _listed() -> list[Study[Any, Any]]:
    """The studies ``convcost study`` reaches."""
    from convcost.studies import Invocation, registered_studies

    return [study for study in registered_studies() if study.invocation is Invocation.STUDY_COMMAND]


def _add_option(parser: argparse.ArgumentParser, option: StudyOption, help_prefix: str = "",
                default: Any = None) -> None:
    keywords: dict[str, Any] = {"help": help_prefix + option.help, "default": default}
    if option.type is not None:
        keywords["type"] = option.type
    if option.choices is not None:
        keywords["choices"] = list(option.choices)
    if option.metavar is not None:
        keywords["metavar"] = option.metavar
    if not option.positional:
        keywords["dest"] = option.dest
        keywords["required"] = option.required
    parser.add_argument(*option.flags, **keywords)


def _values(study: Study[Any, Any], args: argparse.Namespace) -> dict[str, Any]:
    """The study's option values: given ones, else the option's default."""
    values = {}
    for option in study.options:
        given = getattr(args, option.dest, argparse.SUPPRESS)
        values[option.dest] = option.default if given is argparse.SUPPRESS else given
    return values


def _render(study: Study[Any, Any], values: dict[str, Any], args: argparse.Namespace) -> int:
    result = study.compute(study.settings(values))
    section = study.section(result)
    emit(renderer(args).section(section), args, section.title)
    return 0


def run_study(args: argparse.Namespace) -> int:
    """``convcost study NAME``: refuse another study's options, then compute and render NAME."""
    from convcost.studies import get_study

    study = get_study(args.name)
    for other in _listed():
        for option in other.options:
            if other is not study and getattr(args, option.dest, argparse.SUPPRESS) is not argparse.SUPPRESS:
                raise UsageError(f"{option.flags[0]} {option.purpose}; the {study.name} study does not take it")
    return _render(study, _values(study, args), args)


def _check_flags(studies: Sequence[Study[Any, Any]]) -> None:
    """Options of ``convcost study`` are shared by every study there: a flag may be declared once, and none is
    positional."""
    seen: dict[str, str] = {}
    for study in studies:
        for option in study.options:
            for flag in option.flags:
                if option.positional or flag in seen:
                    raise ValueError(f"study {study.name!r} declares {flag!r}, which "
                                     + (f"study {seen[flag]!r} declares too" if flag in seen
                                        else "is positional (a study's options are flags)"))
                seen[flag] = study.name


def configure(parser: argparse.ArgumentParser) -> None:
    """The study's name, every study's options (each refused by the others) and the output."""
    listed = _listed()
    _check_flags(listed)
    names = [study.name for study in listed]
    parser.description = f"{parser.description} " + " ".join(f"{s.name}: {s.title}." for s in listed)
    parser.add_argument("name", choices=names, metavar="NAME", help=", ".join(names))
    for study in listed:
        for option in study.options:
            _add_option(parser, option, f"{study.name} only: ", default=argparse.SUPPRESS)
    add_output_options(parser)
    parser.set_defaults(run=run_study)


COMMAND = Command("study", "one study of the design (convcost study --help lists them)",
                  "A study of the design, as a table, CSV (its main table), JSON (every table), Markdown or an "
                  "HTML page with its charts.", configure)
