"""Exceptions that carry a one-line, actionable message for the user."""


class SuperionicError(Exception):
    """Base class: the CLI prints ``str(error)`` as one line, without a traceback."""


class InputError(SuperionicError, ValueError):
    """Bad user input: a missing file, an unknown format or species, a missing time step …"""
