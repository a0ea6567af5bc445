"""Preflight: before a sweep spends a GPU-hour, run the first trial's exact command until it has
trained a few iterations (``smoke``), and probe inside the training environment whether each
knob changes what the training computes (``plan``: the targets; ``probe``: the run of
:mod:`aqr.runtime.probe`); ``check`` runs both and keeps the result."""
