"""loopkit's transport-family plugins, importable as ``loopkit.plugins.<family>``.

Each family (tcp, udp, unix, pipes, signals, subprocess) is a plugin package
registered in the ``loopkit`` entry-point group, exactly as a third-party
plugin would be. This package itself registers nothing.
"""
