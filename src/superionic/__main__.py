"""`python -m superionic` is the `superionic` command."""

from .cli import main

main()
