"""What runs inside the training environment, on Python 3.8 and later with torch and, imported
when used, mmengine or mmcv 1.x: the knobs' schedules (``schedules``), the hook that drives them
and logs the AQR diagnostics into the runner's own log on both runners (``hook``), the matching
rules of the optimizer constructors (``param_groups``), the weight-map and attention-bias
diagnostics (``diagnostics``, ``attention_bias``) and the preflight's knob probe (``probe``).

Nothing here imports the sweep side (``sweeps``, ``reports``, ``cli``) or the Python 3.11 parts
of ``aqr``.
"""
