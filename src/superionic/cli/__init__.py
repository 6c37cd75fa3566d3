"""The `superionic` command line (typer). Each command lives in its own module of this package."""

from __future__ import annotations

import sys

from .app import app


def main() -> None:
    """Entry point: run the app; a SuperionicError becomes one clear line on stderr and exit code 2."""
    from ..errors import SuperionicError

    try:
        app(standalone_mode=False)
    except SuperionicError as err:
        print(f"superionic: error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("superionic: interrupted", file=sys.stderr)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as err:  # click's own usage errors
        import click

        if isinstance(err, click.exceptions.ClickException):
            err.show()
            sys.exit(err.exit_code)
        if isinstance(err, click.exceptions.Abort):
            sys.exit(1)
        raise


__all__ = ["app", "main"]
