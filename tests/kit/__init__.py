"""The tests' kit of fakes: a scripted trainer, a space builder and a backend that replays log
lines (no subprocess), so the driver, scheduler and tracker run in seconds."""
