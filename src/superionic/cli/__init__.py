"""The `superionic` command line (typer). Each command lives in its own module of this package."""

from __future__ import annotations

import sys

from .app import app


def main() -> None:
    """Entry point: typer reports usage errors itself; a SuperionicError becomes one clear line on
    stderr and exit code 2 (no traceback)."""
    import warnings

    from ..errors import SuperionicError

    # deprecation chatter of the potential's own stack (torch, pymatgen inside CHGNet) is not the user's
    warnings.filterwarnings("ignore", module=r"(chgnet|pymatgen|torch)(\.|$)")
    try:
        app()
    except SuperionicError as err:
        print(f"superionic: error: {err}", file=sys.stderr)
        sys.exit(2)


__all__ = ["app", "main"]
