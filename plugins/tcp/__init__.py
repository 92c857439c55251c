"""The tcp transport family: stream connections, servers and TLS.

This package is the tcp plugin. ``tls`` (with ``tls_transport`` and
``tls_start``) is the TLS layer that any stream transport of the family (tcp,
unix, third-party) places itself under; it registers no loop method by itself.
"""
