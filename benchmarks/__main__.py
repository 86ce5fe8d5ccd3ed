"""``python -m benchmarks [--quick] [--max-minutes M]``: runs every benchmark."""

from benchmarks.run import main

main()
