"""The study plug-in seam: what a study declares, the jobs it asks for, and the registry.

A study is one module in this package that defines a :class:`Study` subclass and registers
an instance with :func:`register_study`. It declares, once:

- ``name``, ``title`` and ``position`` (its place in the main report);
- how the command line reaches it (:class:`Invocation`) and its :class:`StudyOption` flags;
- :meth:`Study.settings` (option values → its own settings record) and
  :meth:`Study.report_settings` (what the main report runs);
- :meth:`Study.jobs`: the work it needs, as hashable :class:`Job` records, so the report
  can run every study's jobs together, each once, in worker processes;
- :meth:`Study.assemble`: its result from the jobs' results;
- :meth:`Study.section`: its report section (tables, charts, prose).

Nothing else lists the studies: the registry imports every module of :mod:`convcost.studies`
the first time it is read, and the command line, the report and the tests read
:func:`registered_studies`. This module loads neither torch nor pandas.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from convcost.analyzer.plugins import NotRegisteredError, Registry

if TYPE_CHECKING:
    from convcost.reports.sections import Section


class Job(Protocol):
    """A unit of work a study needs: a frozen record (equal jobs run once) that pickles for a worker.

    A job may also say ``timed`` (an isolated job that measures time, so nothing else may run while it does;
    read as ``isolated`` when absent) and ``weight`` (its rough cost in analyses, default 1: heavier shared jobs
    start first, so the last one to finish is a short one).
    """

    @property
    def isolated(self) -> bool:
        """It computes on real tensors (timing, or a real training step), so it runs alone, after every shared job
        has finished, where no forked process's OpenMP pool is in the way (a fresh worker)."""
        ...

    def run(self) -> Any:
        """Do the work (in this process or a worker's)."""
        ...

    def __hash__(self) -> int: ...


class Invocation(Enum):
    """How the command line reaches a study."""

    #: ``convcost study NAME [options]``
    STUDY_COMMAND = "study"
    #: only as a section of the main report
    REPORT_ONLY = "report"


@dataclass(frozen=True)
class StudyOption:
    """One command-line option of a study, in argparse's terms.

    Attributes:
        flags: ``("--runs",)``.
        help: the ``--help`` text.
        purpose: what it does, as a phrase completing "FLAG ..." in an error when it is given to
            another study (``"times the fused study's stages"``).
        type: converts the text (raises ``argparse.ArgumentTypeError`` with a clear message).
        default, choices, metavar, required: as argparse.
    """

    flags: tuple[str, ...]
    help: str
    purpose: str
    type: Callable[[str], Any] | None = None
    default: Any = None
    choices: Sequence[str] | None = None
    metavar: str | None = None
    required: bool = False

    @property
    def dest(self) -> str:
        """The attribute argparse stores the value under."""
        return self.flags[-1].lstrip("-").replace("-", "_")

    @property
    def positional(self) -> bool:
        """A positional argument (no leading dash)."""
        return not self.flags[0].startswith("-")


class SettingsError(ValueError):
    """Option values a study cannot run with; the message says what would be valid."""


SettingsT = TypeVar("SettingsT")
ResultT = TypeVar("ResultT")


class Study(ABC, Generic[SettingsT, ResultT]):
    """A study plug-in (see the module docstring). Subclasses set the class attributes."""

    #: Registry key and ``convcost study NAME``.
    name: ClassVar[str]
    #: One line for ``--help``.
    title: ClassVar[str]
    #: Place in the main report (smaller first).
    position: ClassVar[int]
    invocation: ClassVar[Invocation] = Invocation.STUDY_COMMAND
    options: ClassVar[tuple[StudyOption, ...]] = ()
    #: A longer description for the study's own ``--help``.
    description: ClassVar[str] = ""

    def settings(self, values: Mapping[str, Any]) -> SettingsT:
        """Settings from the values of :attr:`options` (keyed by :attr:`StudyOption.dest`); a study without
        options runs with its :meth:`report_settings`.

        Raises:
            SettingsError: values the study cannot run with.
        """
        return self.report_settings()

    @abstractmethod
    def report_settings(self) -> SettingsT:
        """The settings of the main report's section."""

    @abstractmethod
    def jobs(self, settings: SettingsT) -> Sequence[Job]:
        """The work the study needs, in the order it wants it run."""

    @abstractmethod
    def assemble(self, settings: SettingsT, results: Mapping[Any, Any]) -> ResultT:
        """The study's result from the results of its :meth:`jobs` (keyed by job).

        Raises:
            KeyError: a job's result is missing.
        """

    @abstractmethod
    def section(self, result: ResultT) -> Section:
        """The study's report section."""

    def compute(self, settings: SettingsT) -> ResultT:
        """Run every job here, one after the other, and assemble the result."""
        return self.assemble(settings, {job: job.run() for job in self.jobs(settings)})


_STUDIES: Registry[str, Study[Any, Any]] = Registry("study", lambda study: study.name,
                                                    lambda study: study.position, plugins=__package__)


def register_study(study: Study[Any, Any]) -> Study[Any, Any]:
    """Add ``study`` to the registry.

    Raises:
        ValueError: its name is not a lower-case identifier or is taken, its position is taken, or it declares
            options without reading them in :meth:`Study.settings`.
    """
    if not study.name.isidentifier() or study.name != study.name.lower():
        raise ValueError(f"a study's name must be a lower-case identifier; got {study.name!r}")
    clash = next((other.name for other in _STUDIES if other.position == study.position), None)
    if clash is not None and clash != study.name:
        raise ValueError(f"study {study.name!r} takes position {study.position}, which {clash!r} has")
    if study.options and type(study).settings is Study.settings:
        raise ValueError(f"study {study.name!r} declares options, so it must read them in settings()")
    return _STUDIES.register(study)


def unregister_study(name: str) -> None:
    """Remove a study (for tests that register a throw-away one)."""
    _STUDIES.unregister(name)


def registered_studies() -> tuple[Study[Any, Any], ...]:
    """Every registered study, in report order."""
    return tuple(_STUDIES)


def study_names() -> tuple[str, ...]:
    """Names of every registered study, in report order."""
    return tuple(study.name for study in registered_studies())


def get_study(name: str) -> Study[Any, Any]:
    """The study registered as ``name``.

    Raises:
        NotRegisteredError: no such study (the message lists them).
    """
    if name not in _STUDIES:
        raise NotRegisteredError(f"studies are {', '.join(study_names())}; got {name!r}")
    return _STUDIES.get(name)
