"""``python -m cli``: the same as ``aqr-sweep``."""

from cli.app import app

app(prog_name="aqr-sweep")
