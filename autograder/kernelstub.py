"""The grader's side of one warm kernel (`autograder.forkserver`): what jupyter_client starts,
watches, interrupts and kills as the kernel's process.

``python -I -S kernelstub.py SOCKET RUNTIME REQUEST`` connects to the fork server at SOCKET,
hands it REQUEST (the kernel's JSON, passed on as it is) and its standard streams (stderr
through a pipe, the first KEPT_STDERR bytes kept), relays SIGINT, waits, and exits with the
kernel's status. When the kernel did not end well, why goes to RUNTIME/kernel-start.log for the
grader. It starts once per kernel, so it imports next to nothing.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import sys

#: What a stub keeps of its kernel's standard error (the kernel's own log lines, a traceback
#: if it could not start): the first bytes only, the rest read and dropped.
KEPT_STDERR = 8192


def stub(control_socket: str, runtime: str, request: str) -> int:
    err_r, err_w = os.pipe()
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    kept, status, why = b"", 1, ""
    try:
        conn.connect(control_socket)
        socket.send_fds(conn, [request.encode()], [0, 1, err_w])
        os.close(err_w)
        signal.signal(signal.SIGINT, lambda *_: conn.sendall(b"I"))
        signal.signal(signal.SIGTERM, lambda *_: os._exit(143))
        reply, streams = b"", [conn, err_r]
        while conn in streams:
            for ready in select.select(streams, [], [])[0]:
                data = (conn.recv if ready is conn else lambda n: os.read(err_r, n))(1 << 16)
                if not data:
                    streams.remove(ready)
                elif ready is conn:
                    reply += data
                elif len(kept) < KEPT_STDERR:
                    kept += data[:KEPT_STDERR - len(kept)]
        word, _, rest = reply.decode(errors="replace").partition(" ")
        if word == "exit":
            status = int(rest)
        elif word == "error":
            why = f"the kernel's sandbox could not be built:\n{rest}"
        else:
            why = "the fork server closed the connection"
    except OSError as e:
        why = f"could not reach the fork server: {e}"
    if status != 0:
        with open(os.path.join(runtime, "kernel-start.log"), "w") as log:
            log.write(f"{why or f'the kernel exited with status {status}'}\n{kept.decode(errors='replace')}")
    return status


if __name__ == "__main__":
    sys.exit(stub(*sys.argv[1:4]))
