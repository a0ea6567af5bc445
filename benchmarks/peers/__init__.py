"""The peers aqr-sweep is measured against, each through its own library's classes, and the
searchers Ray Tune does not ship as classes (``searchers``)."""
