"""The command line's error: bad input, reported as one line with exit status 2."""

#: Exit status of a usage error (as argparse's own).
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad command-line input; :func:`convcost.cli.main` prints the message and exits with status 2."""
