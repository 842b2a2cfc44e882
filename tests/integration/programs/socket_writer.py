"""Connects to 127.0.0.1:PORT and does exactly N send() calls of M bytes each, then waits
for the server to close (so every byte is counted before exit).

    python socket_writer.py PORT N M
"""

from __future__ import annotations

import socket
import sys


def main() -> int:
    port, count, size = (int(arg) for arg in sys.argv[1:4])
    payload = b"w" * size
    with socket.create_connection(("127.0.0.1", port)) as connection:
        for _ in range(count):
            sent = connection.send(payload)
            assert sent == size, sent  # loopback with a listening reader takes it all
        connection.shutdown(socket.SHUT_WR)
        connection.recv(1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
