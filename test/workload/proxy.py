#!/usr/bin/python3
"""A TCP proxy on 127.0.0.1 that adds a fixed latency in each direction.

Usage: proxy.py TARGET_PORT DELAY_MS PORT_FILE

Every chunk read from one side is forwarded to the other DELAY_MS after it
arrived, in order, like a link with that one-way latency: a round trip
through the proxy costs 2 x DELAY_MS more, however many packets it takes.
The listening port (chosen by the kernel) is written to PORT_FILE.
"""
import queue
import socket
import sys
import threading
import time


def forward(src, dst, delay):
    pending = queue.Queue()

    def sender():
        while True:
            due, data = pending.get()
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            try:
                if data is None:
                    dst.shutdown(socket.SHUT_WR)
                    return
                dst.sendall(data)
            except OSError:
                return

    threading.Thread(target=sender, daemon=True).start()
    while True:
        try:
            data = src.recv(65536)
        except OSError:
            data = b""
        pending.put((time.monotonic() + delay, data or None))
        if not data:
            return


def main():
    target_port, delay, port_file = int(sys.argv[1]), float(sys.argv[2]) / 1000, sys.argv[3]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(listener.getsockname()[1]))
    import os
    os.rename(port_file + ".tmp", port_file)
    while True:
        client, _ = listener.accept()
        server = socket.create_connection(("127.0.0.1", target_port))
        for s in (client, server):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=forward, args=(client, server, delay), daemon=True).start()
        threading.Thread(target=forward, args=(server, client, delay), daemon=True).start()


if __name__ == "__main__":
    main()
