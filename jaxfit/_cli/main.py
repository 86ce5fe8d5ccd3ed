"""The ``jaxfit`` console command: a dispatcher over one module per subcommand."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence

__all__ = ["main"]

# Each module defines ``register(subparsers)``, which adds its subcommand and sets the
# parser default ``run`` to a callable ``run(args) -> int`` (the process exit code).
_SUBCOMMANDS = ("jaxfit._cli.demo", "jaxfit._cli.bench", "jaxfit._cli.sweep_command")


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the ``jaxfit`` command line.

    Args:
      argv: the arguments (default ``sys.argv[1:]``).

    Returns:
      The process exit code.
    """
    from .._version import VERSION

    parser = argparse.ArgumentParser(
        prog="jaxfit",
        description="Fit models and sweep their hyperparameters in one compiled JAX program.",
    )
    parser.add_argument("--version", action="version", version=f"jaxfit {VERSION}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _SUBCOMMANDS:
        importlib.import_module(name).register(sub)
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help()
        return 2
    return int(args.run(args))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
