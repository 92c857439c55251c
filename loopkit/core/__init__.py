"""The kernel of loopkit and the machinery that assembles loops from plugins.

Rule of the house: nothing in this package imports a plugin. Plugins import
the kernel; the kernel learns about plugins only through the hook specs in
:mod:`loopkit.core.hookspecs`, once, at assembly time.
"""
