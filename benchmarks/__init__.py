"""loopkit's benchmarks: loopkit against asyncio and uvloop, in one run.

Run them with ``python benchmarks/run.py`` (see ``benchmarks/README.md``).
Nothing here is imported by loopkit itself, and nothing here asserts a
timing: numbers are for reading, never for passing or failing a test.
"""
