"""loopkit's tools, apart from the loop and its plugins.

``python -m loopkit`` (:mod:`~loopkit.tools.cli`), the conformance runner
that holds loopkit against CPython's own asyncio test suite
(:mod:`~loopkit.tools.conformance`), the API comparison with asyncio's loop
(:mod:`~loopkit.tools.apicompare`) and the pytest plugin
(:mod:`~loopkit.tools.pytest_plugin`). Nothing in the kernel or in a plugin
imports from here.
"""
