"""``python -m pipeline.cli``: the ``callqa`` command."""

from pipeline.cli import main

main()
