#!/usr/bin/env python3
"""Prints a port P such that P .. P+N-1 (default N=8) are all free on 127.0.0.1.

Ports are drawn below the kernel's ephemeral range (32768+), so outgoing
connections of other processes cannot take them between this check and the
server's bind."""
import random
import socket
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 8
for _ in range(200):
    base = random.randrange(10000, 32000 - n, n)
    socks = []
    try:
        for p in range(base, base + n):
            s = socket.socket()
            s.bind(("127.0.0.1", p))
            socks.append(s)
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(base)
    sys.exit(0)
sys.exit("no free port range found")
