#!/usr/bin/env python3
"""Host side of the guest command channel, the QEMU monitor, and an NFS NULL probe.

  gx.py run SOCK [--timeout S] SCRIPT...   run SCRIPT (joined by spaces; "-" = stdin) with sh in
                                           the guest; prints its output, exits with its status
  gx.py wait SOCK [--timeout S]            wait until the guest's command loop answers
  gx.py mon SOCK COMMAND...                one QEMU monitor (HMP) command, e.g. "set_link n1 off"
  gx.py nfsnull ADDR [--port P] [--timeout S] [--vers V]
                                           wait until ADDR answers an NFS NULL call (RPC program
                                           100003, version V, procedure 0) over TCP; prints the
                                           seconds waited. Run it inside the guest's namespace.

SOCK is the unix socket of the guest's second serial port (boot.sh: STATE/GUEST/cmd.sock).
Calls on one socket are serialised with a lock file (SOCK.lock).
"""
import base64
import fcntl
import os
import random
import socket
import struct
import sys
import time


def connect_unix(path, deadline):
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def run(sock_path, script, timeout):
    deadline = time.monotonic() + timeout
    lock = open(sock_path + ".lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    s = connect_unix(sock_path, deadline)
    cid = "%08x" % random.getrandbits(32)
    line = "@@CMD %s %s\n" % (cid, base64.b64encode(script.encode()).decode())
    # A line lost in part (sent before the guest's loop listened) is ignored by the guest.
    s.sendall(b"\n" + line.encode())
    buf = b""
    marker = ("@@RC %s " % cid).encode()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            sys.stdout.write(buf.decode(errors="replace"))
            print("gx.py: timeout after %ss waiting for the guest" % timeout, file=sys.stderr)
            return 124
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            sys.stdout.write(buf.decode(errors="replace"))
            print("gx.py: the guest closed the channel (QEMU exited?)", file=sys.stderr)
            return 125
        buf += chunk
        i = buf.find(marker)
        if i >= 0 and buf.find(b"\n", i) >= 0:
            end = buf.find(b"\n", i)
            rc = int(buf[i + len(marker):end].strip() or b"1")
            out = buf[:i]
            # the guest puts a newline before the marker
            if out.endswith(b"\n"):
                out = out[:-1]
            sys.stdout.write(out.decode(errors="replace"))
            sys.stdout.flush()
            return rc


def wait(sock_path, timeout):
    t0 = time.monotonic()
    deadline = t0 + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            print("gx.py: the guest did not answer within %ss" % timeout, file=sys.stderr)
            return 1
        # Each try runs "true" with a short timeout: a line sent before the loop ran is lost.
        devnull = open(os.devnull, "w")
        old, olderr = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = devnull
        try:
            rc = run(sock_path, "true", min(2.0, max(left, 0.5)))
        except OSError:
            rc = 1
            time.sleep(0.5)
        finally:
            sys.stdout, sys.stderr = old, olderr
        if rc == 0:
            print("%.1f" % (time.monotonic() - t0))
            return 0


def monitor(sock_path, command):
    s = connect_unix(sock_path, time.monotonic() + 10)
    s.settimeout(10)
    buf = b""
    while not buf.endswith(b"(qemu) "):
        buf += s.recv(4096)
    s.sendall(command.encode() + b"\n")
    buf = b""
    while not buf.endswith(b"(qemu) "):
        chunk = s.recv(4096)
        if not chunk:
            break
        buf += chunk
    text = buf.decode(errors="replace").replace("\r", "")
    lines = [l for l in text.split("\n")[1:] if not l.startswith("(qemu)")]
    out = "\n".join(lines).strip()
    if out:
        print(out)
    return 0


def nfs_null(addr, port, vers):
    xid = random.getrandbits(32)
    # RPC call: xid, CALL, rpcvers 2, prog, vers, proc 0, AUTH_NONE cred and verifier
    body = struct.pack(">IIIIIIIIII", xid, 0, 2, 100003, vers, 0, 0, 0, 0, 0)
    rec = struct.pack(">I", 0x80000000 | len(body)) + body
    with socket.create_connection((addr, port), timeout=2) as s:
        s.settimeout(2)
        s.sendall(rec)
        data = b""
        while len(data) < 4 + 24:
            chunk = s.recv(4096)
            if not chunk:
                return False
            data += chunk
    rxid, mtype, reply_stat = struct.unpack(">III", data[4:16])
    accept_stat = struct.unpack(">I", data[4 + 20:4 + 24])[0]
    return rxid == xid and mtype == 1 and reply_stat == 0 and accept_stat == 0


def nfsnull_wait(addr, port, timeout, vers):
    t0 = time.monotonic()
    while True:
        try:
            if nfs_null(addr, port, vers):
                print("%.1f" % (time.monotonic() - t0))
                return 0
        except OSError:
            pass
        if time.monotonic() - t0 > timeout:
            print("gx.py: no NFS NULL reply from %s:%d within %ss" % (addr, port, timeout), file=sys.stderr)
            return 1
        time.sleep(0.3)


def main(argv):
    if len(argv) < 3 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 2
    cmd, target, rest = argv[1], argv[2], argv[3:]
    timeout = 60.0
    port = 2049
    vers = 4
    args = []
    i = 0
    while i < len(rest):
        if rest[i] == "--timeout":
            timeout = float(rest[i + 1]); i += 2
        elif rest[i] == "--port":
            port = int(rest[i + 1]); i += 2
        elif rest[i] == "--vers":
            vers = int(rest[i + 1]); i += 2
        else:
            args.append(rest[i]); i += 1
    if cmd == "run":
        script = sys.stdin.read() if args == ["-"] else " ".join(args)
        return run(target, script, timeout)
    if cmd == "wait":
        return wait(target, timeout)
    if cmd == "mon":
        return monitor(target, " ".join(args))
    if cmd == "nfsnull":
        return nfsnull_wait(target, port, timeout, vers)
    print("gx.py: unknown command %s" % cmd, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
