"""The command line: ``jaxfit demo``, ``jaxfit sweep CONFIG.toml``, ``jaxfit bench``.

The top wing: nothing imports it but the package face's lazy names and the console script.
"""
