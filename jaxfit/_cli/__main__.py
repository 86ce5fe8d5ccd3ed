"""``python -m jaxfit._cli``: the ``jaxfit`` command without the console script."""

from .main import main

if __name__ == "__main__":  # not when a tool imports every module (doctest collection)
    raise SystemExit(main())
