"""A known byte count over a Unix socket pair between a process and its forked child:
the parent sends 2 bytes ("go"), the child answers with TOTAL bytes in CHUNK-byte sends.
Both hold their ends HOLD_S seconds after the transfer (a socketpair is resolved from
/proc while it lives).

    python unix_pair.py TOTAL CHUNK HOLD_S

stdin: one byte to start (once tracked), a second to transfer (once the test has seen the
fork).
"""

from __future__ import annotations

import os
import socket
import sys
import time


def main() -> int:
    total, chunk, hold_s = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    stdin = sys.stdin.buffer
    stdin.read(1)
    mine, theirs = socket.socketpair()
    child = os.fork()
    if child == 0:
        mine.close()
        if theirs.recv(2) != b"go":
            os._exit(3)
        for offset in range(0, total, chunk):
            theirs.sendall(b"u" * min(chunk, total - offset))
        time.sleep(hold_s)
        theirs.close()
        os._exit(0)
    theirs.close()
    stdin.read(1)
    mine.sendall(b"go")
    received = 0
    while received < total:
        received += len(mine.recv(1 << 16))
    time.sleep(hold_s)
    mine.close()
    _, status = os.waitpid(child, 0)
    return os.waitstatus_to_exitcode(status) or (0 if received == total else 4)


if __name__ == "__main__":
    sys.exit(main())
