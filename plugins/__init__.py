"""loopkit's built-in plugins, importable as ``loopkit.plugins.<name>``.

Each one (the transport families tcp, udp, unix, pipes, signals,
subprocess; the pollers, the resolver, the executor, the instruments) is a
plugin package registered in the ``loopkit`` entry-point group, exactly as a
third-party plugin would be. This package itself registers nothing and holds
no code: what families share lives in :mod:`loopkit.transports`, and every
plugin reaches it, and the kernel, through :mod:`loopkit.plugin` alone.
"""
