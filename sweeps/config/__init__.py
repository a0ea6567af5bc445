"""The training's config as a sweep sees it: dotted keys (``keys``), the base config and its
check for dead knobs (``base``), a trial's parameters as overrides (``overrides``), and the config
file a trial trains or ``export-best`` writes (``writer``)."""
