"""The command line's error: bad input, reported as one line with exit status 2."""

#: Exit status of a usage error (as argparse's own).
EXIT_USAGE = 2
#: Exit status after Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad command-line input; :func:`convcost.cli.main` prints the message and exits with status 2."""
