"""Names that changed, kept working for one release with a DeprecationWarning.

`renamed_keyword(window="lag_window")` lets a function that now takes `lag_window=` still be called with
`window=`: the old keyword is passed on under its new name, with a warning that names the new one.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def renamed_keyword(**renamed: str) -> Callable[[F], F]:
    """Decorator: accept each old keyword (the argument name) as the new one (its value), with a DeprecationWarning."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            for old, new in renamed.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(
                            f"{func.__name__}() got both {old}= and {new}=; {old}= is the old name of {new}="
                        )
                    warnings.warn(
                        f"{func.__name__}({old}=...) is deprecated: use {new}= (the old name goes in the next release)",
                        DeprecationWarning,
                        stacklevel=2,
                    )
                    kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
