"""A selector's short life, like Spark's task thread waiting on its Python worker: a forked
peer answers each request DELAY_MS late; the parent waits for every answer in epoll_wait on
an epoll fd it creates, registers the socket in, and closes with the socket, all well within
one drain of the profiler (nothing is left in /proc/PID/fdinfo to read).

    python epoll_bridge.py WAITS DELAY_MS

stdin: one byte to start (once tracked), a second to connect (once the test has seen the
fork). stdout: the peer's port and the epoll fd number, one line.
"""

from __future__ import annotations

import os
import select
import socket
import sys
import time


def peer(listener: socket.socket, waits: int, delay_s: float) -> None:
    connection, _ = listener.accept()
    with connection:
        for _ in range(waits):
            if connection.recv(1) != b"?":
                os._exit(3)
            time.sleep(delay_s)
            connection.sendall(b"!")
        connection.recv(1)  # until the parent closes
    os._exit(0)


def main() -> int:
    waits, delay_ms = int(sys.argv[1]), int(sys.argv[2])
    stdin = sys.stdin.buffer
    stdin.read(1)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    child = os.fork()
    if child == 0:
        peer(listener, waits, delay_ms / 1000)
    listener.close()
    stdin.read(1)
    with socket.create_connection(("127.0.0.1", port)) as connection:
        poller = select.epoll()
        print(port, poller.fileno(), flush=True)
        poller.register(connection.fileno(), select.EPOLLIN)
        for _ in range(waits):
            connection.sendall(b"?")
            while not poller.poll():
                pass
            connection.recv(1)
        poller.close()
    _, status = os.waitpid(child, 0)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
