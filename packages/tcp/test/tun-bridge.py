#!/usr/bin/env python3
# The Linux side of test/linux.test.ts. Runs inside a network namespace the test created: makes
# a TUN device tun0 (10.9.0.1/24), relays raw IPv4 packets between it and stdin/stdout (each
# framed by a 2-byte big-endian length), and runs a kernel TCP peer in a thread:
#   echo-server PORT        accept one connection on 10.9.0.1:PORT and echo it until EOF
#   client PORT BYTES       connect to 10.9.0.2:PORT, send BYTES pattern bytes, half-close,
#                           read the echo to EOF and report whether it matched
# Reports go to stderr as single lines.
import fcntl, hashlib, os, select, socket, struct, subprocess, sys, threading

TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454CA, 0x0001, 0x1000


def log(line):
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def pattern(n):
    return bytes((i * 7 + 3) & 0xFF for i in range(n))


def echo_server(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("10.9.0.1", port))
    s.listen(1)
    c, _ = s.accept()
    total = 0
    while True:
        b = c.recv(65536)
        if not b:
            break
        total += len(b)
        c.sendall(b)
    c.close()
    log(f"server-done {total}")


def client(port, n):
    data = pattern(n)
    try:
        c = socket.create_connection(("10.9.0.2", port), timeout=20)
    except OSError as e:
        log(f"client-error {e.errno}")
        return
    def send():
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
    threading.Thread(target=send, daemon=True).start()
    got = bytearray()
    while True:
        b = c.recv(65536)
        if not b:
            break
        got += b
    c.close()
    same = hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest()
    log(f"client-done {len(got)} {'match' if same else 'mismatch'}")


fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", b"tun0", IFF_TUN | IFF_NO_PI))
subprocess.check_call(["ip", "addr", "add", "10.9.0.1/24", "dev", "tun0"])
subprocess.check_call(["ip", "link", "set", "tun0", "up"])
mode = sys.argv[1]
if mode == "echo-server":
    threading.Thread(target=echo_server, args=(int(sys.argv[2]),), daemon=True).start()
elif mode == "client":
    threading.Thread(target=client, args=(int(sys.argv[2]), int(sys.argv[3])), daemon=True).start()
log("ready")

out = sys.stdout.buffer
pending = b""
while True:
    r, _, _ = select.select([fd, 0], [], [], 1.0)
    if fd in r:
        pkt = os.read(fd, 65536)
        out.write(struct.pack(">H", len(pkt)) + pkt)
        out.flush()
    if 0 in r:
        chunk = os.read(0, 1 << 20)
        if not chunk:
            break
        pending += chunk
        while len(pending) >= 2:
            n = struct.unpack(">H", pending[:2])[0]
            if len(pending) < 2 + n:
                break
            try:
                os.write(fd, pending[2 : 2 + n])
            except OSError:
                pass
            pending = pending[2 + n :]
