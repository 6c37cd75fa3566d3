"""The `superionic` command line (typer). Each command lives in its own module of this package.

Exit codes (docs/reliability.md):
  0  success
  1  error: wrong input (a SuperionicError), a file that cannot be read or written, or a bug; one line
     ``superionic: error: …`` on stderr, no traceback (SUPERIONIC_DEBUG=1 adds it)
  2  usage error: an unknown option or command, a missing argument, a value of the wrong type; one line
     ``superionic: usage error: …`` on stderr
With ``--json`` on the command line an error is also printed on stdout as one JSON object
``{"error": "…", "exit_code": 1, "kind": "input"}`` (kind: input, file, memory, usage or bug).
Ctrl-C ends a command with exit code 130.
"""

from __future__ import annotations

import json
import os
import sys

from .app import app

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
#: set to 1 for the traceback of an error (bugs in particular)
DEBUG_ENV = "SUPERIONIC_DEBUG"
#: where a bug goes
BUG_REPORT = (
    "please report it to the superionic developers (project issue tracker) with the command line and "
    "the output of `superionic info`"
)


def _click_exceptions():
    """The click exception classes typer raises (typer ≥ 0.20 vendors click as typer._click)."""
    try:
        from typer._click import exceptions
    except ImportError:  # pragma: no cover - older typer
        from click import exceptions
    return exceptions


def _wants_json(args: list[str]) -> bool:
    return "--json" in (args[: args.index("--")] if "--" in args else args)


def _debug() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip() not in ("", "0", "false", "no")


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _fail(message: str, code: int, kind: str, as_json: bool) -> int:
    """Print the one-line error (stderr) and, with --json, the JSON error object (stdout); return the code."""
    label = "usage error" if code == EXIT_USAGE else "error"
    print(f"superionic: {label}: {message}", file=sys.stderr)
    if as_json:
        print(json.dumps({"error": message, "exit_code": code, "kind": kind}))
    return code


def _format_warning(message, category, filename, lineno, line=None) -> str:
    """Warnings reach the user as one line `warning: …` (no source file, line number or code excerpt)."""
    return f"warning: {_one_line(message)}\n"


def _os_message(err: OSError) -> str:
    if err.strerror and err.filename:
        return f"{err.strerror}: {err.filename}" + (f" → {err.filename2}" if err.filename2 else "")
    return _one_line(err) or type(err).__name__


def run(args: list[str] | None = None) -> int:
    """Run the command line `args` (default sys.argv[1:]) and return the exit code (130 after Ctrl-C); only a
    SystemExit raised inside a command passes through.
    """
    import traceback
    import warnings

    import typer

    from .. import __version__
    from ..errors import SuperionicError

    args = sys.argv[1:] if args is None else [str(a) for a in args]
    as_json = _wants_json(args)
    ex = _click_exceptions()
    # deprecation chatter of the potential's own stack (torch, pymatgen inside CHGNet) is not the user's
    warnings.filterwarnings("ignore", module=r"(chgnet|pymatgen|torch)(\.|$)")
    previous_format, warnings.formatwarning = warnings.formatwarning, _format_warning
    try:
        rv = app(args=args, prog_name="superionic", standalone_mode=False)
        return rv if isinstance(rv, int) else EXIT_OK
    except ex.NoArgsIsHelpError:  # the help was printed already
        return EXIT_USAGE
    except ex.UsageError as err:
        where = f" (see '{err.ctx.command_path} --help')" if err.ctx is not None else ""
        return _fail(_one_line(err.format_message()) + where, EXIT_USAGE, "usage", as_json)
    except typer.Abort:
        return _fail("aborted", EXIT_ERROR, "input", as_json)
    except ex.ClickException as err:
        return _fail(_one_line(err.format_message()), err.exit_code or EXIT_ERROR, "usage", as_json)
    except SuperionicError as err:
        if _debug():
            traceback.print_exc()
        return _fail(_one_line(err), EXIT_ERROR, "input", as_json)
    except BrokenPipeError:  # e.g. `superionic … --json | head`: the reader went away
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:  # pragma: no cover
            pass
        return EXIT_ERROR
    except (OSError, MemoryError) as err:
        if _debug():
            traceback.print_exc()
        if isinstance(err, OSError):
            return _fail(_os_message(err), EXIT_ERROR, "file", as_json)
        return _fail(
            "out of memory: use a shorter --max-lag, fewer frames or a machine with more memory",
            EXIT_ERROR,
            "memory",
            as_json,
        )
    except Exception as err:  # a bug: one line, the traceback only on request
        if _debug():
            traceback.print_exc()
        where = ""
        tb = traceback.extract_tb(err.__traceback__)
        if tb:
            where = f" at {os.path.basename(tb[-1].filename)}:{tb[-1].lineno}"
        hint = "" if _debug() else f"; set {DEBUG_ENV}=1 for the traceback"
        return _fail(
            f"unexpected {type(err).__name__}: {_one_line(err)}{where} — this is a bug in superionic "
            f"{__version__}; {BUG_REPORT}{hint}",
            EXIT_ERROR,
            "bug",
            as_json,
        )
    finally:
        warnings.formatwarning = previous_format


def main() -> None:
    """Entry point of the `superionic` command (see the module docstring for the exit codes)."""
    sys.exit(run())


__all__ = ["app", "main", "run", "EXIT_OK", "EXIT_ERROR", "EXIT_USAGE", "DEBUG_ENV"]
