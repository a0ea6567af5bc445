"""The ``aqr-sweep`` command line: the top layer, above ``reports/`` and ``sweeps/``."""
