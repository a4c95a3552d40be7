"""Speed and memory measurements, run with `make bench`; never asserted in unit tests."""
