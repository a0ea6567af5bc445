"""Sweeps in simulated time over tabulated learning curves: surfaces (``surface``), the loop that
drives a searcher and scheduler in Ray Tune's order (``loop``), outcomes against the truth
(``outcome``), aqr-sweep's own strategy (``strategies``), pruner settings (``settings``) and the
replays behind ``aqr-sweep simulate`` (``replay``, ``compare``)."""
