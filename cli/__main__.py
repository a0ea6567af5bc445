"""``python -m cli``: the same as ``aqr-sweep``."""

from cli.app import main

main()
