"""Watch a file descriptor for reading with add_reader(), on a socket pair.

The classic low-level asyncio example, on a loop made by loopkit: the loop
calls reader() once data is waiting on the receiving socket.
"""

import socket

import loopkit

# Two connected sockets: what is sent on one can be read from the other.
rsock, wsock = socket.socketpair()

loop = loopkit.new_event_loop()


def reader() -> None:
    """Read what arrived, stop watching the socket and stop the loop."""
    data = rsock.recv(100)
    print("Received:", data.decode())
    loop.remove_reader(rsock)
    loop.stop()


# Call reader() whenever rsock becomes readable.
loop.add_reader(rsock, reader)

# Stand in for data arriving from the network.
loop.call_soon(wsock.send, b"abc")

try:
    loop.run_forever()
finally:
    rsock.close()
    wsock.close()
    loop.close()
