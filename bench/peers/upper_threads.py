#!/usr/bin/env python3
"""The tutorial's multi-threaded uppercase server: a thread per connection, blocking
sockets. A peer of `weft serve upper` in bench/net_upper.sh.

    upper_threads.py PORT     (0: any free port)
"""
import signal
import socket
import sys
import threading

QUIT = (b"quit", b"quit\n", b"quit\r\n")


def handle(conn):
    with conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                data = conn.recv(1024)
                if not data or data in QUIT:
                    break
                conn.sendall(data.upper())
        except OSError:
            pass


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8899
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(1024)
        print(f"Server started at 127.0.0.1:{s.getsockname()[1]} (python threads)", file=sys.stderr, flush=True)
        while True:
            conn, _ = s.accept()
            threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
