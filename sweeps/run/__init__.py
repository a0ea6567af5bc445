"""Running a sweep: the driver (Ray Tune's ``Tuner``), one trial's trainable, the Optuna
searcher with its samplers, the pruning scheduler with its pruners, the ledger of the driver's
trials, and the supervisor that ends every process of a training."""
