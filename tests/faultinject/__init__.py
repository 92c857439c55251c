"""Tests of the fault injector (:mod:`loopkit.testing.faults`)."""
