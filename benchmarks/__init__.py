"""Benchmarks that print ratios measured side by side in one run, and the peers they measure
aqr-sweep against (``peers``)."""
