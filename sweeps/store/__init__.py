"""Where a sweep lives on disk: its folder and record (``sweep_dir``), the driver's lock
(``lock``), the Optuna study (``study``), setting a new sweep up (``create``), and its trials read
back from the study (``status``)."""
