"""MLflow: the sweep's experiment and parent run, batched metrics, links into the UI (``runs``),
and the Ray Tune callback that keeps one nested run per trial (``trial_tracker``)."""
