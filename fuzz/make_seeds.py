#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into fuzz/seeds/<target>/.

    python3 fuzz/make_seeds.py          # from the repository root

- pcap, analyze: the captures (captures/*.pcap and ../shared/captures/*),
  cut at a record/block boundary to at most 32 KiB each.
- rpc: the RPC messages of analyzer/tests/vectors/*.bin and of the captures,
  as they are (for RpcMessage::parse) and record-marked behind a split byte
  (for the record assembler); every RPCSEC_GSS context-creation call, and
  its GSS token alone (for the token parser).
- compound: the (CB_)COMPOUND arguments and results of those messages (the
  bytes after the RPC header).

Messages from the captures are taken with the reassembly of
captures/tools/make_vectors.py, at most one per (direction, procedure,
first operation, size class), each cut to 2 KiB.
"""

import glob
import hashlib
import os
import shutil
import struct
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
SEEDS = os.path.join(ROOT, "fuzz", "seeds")
SHARED = os.environ.get("SHARED_CAPTURES", os.path.join(ROOT, "..", "shared", "captures"))
sys.path.insert(0, os.path.join(ROOT, "captures", "tools"))
import make_vectors  # noqa: E402  (its pcap reader and TCP reassembly)

MAX_CAPTURE = 32 << 10
MAX_MESSAGE = 2 << 10


def cut_capture(data):
    """The capture cut to at most MAX_CAPTURE bytes at a record boundary."""
    if len(data) <= MAX_CAPTURE:
        return data
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = "<" if magic[0] in (0xd4, 0x4d) else ">"
        hdr = 16
        pos = 24
        while pos + hdr <= len(data):
            caplen = struct.unpack(e + "I", data[pos + 8:pos + 12])[0]
            if pos + hdr + caplen > MAX_CAPTURE:
                break
            pos += hdr + caplen
        return data[:pos]
    if magic == b"\x0a\x0d\x0d\x0a":
        e = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
        pos = 0
        while pos + 12 <= len(data):
            blen = struct.unpack(e + "I", data[pos + 4:pos + 8])[0]
            if blen < 12 or pos + blen > MAX_CAPTURE:
                break
            pos += blen
        return data[:pos]
    return data[:MAX_CAPTURE]


def skip_opaque(b, pos):
    n = struct.unpack(">I", b[pos:pos + 4])[0]
    return pos + 4 + ((n + 3) & ~3)


def payload_offset(msg):
    """Offset of the arguments or results after the RPC header (RFC 5531),
    with (msg type, procedure), or None when there are none."""
    try:
        xid, mtype = struct.unpack(">II", msg[:8])
        if mtype == 0:                                  # CALL
            _, prog, vers, proc = struct.unpack(">IIII", msg[8:24])
            pos = skip_opaque(msg, 28)                  # cred body
            pos = skip_opaque(msg, pos + 4)             # verf body
            return pos, ("call", prog, proc)
        if mtype == 1:                                  # REPLY
            if struct.unpack(">I", msg[8:12])[0] != 0:  # MSG_DENIED
                return None
            pos = skip_opaque(msg, 16)                  # verf body
            if struct.unpack(">I", msg[pos:pos + 4])[0] != 0:
                return None                             # not SUCCESS
            return pos + 4, ("reply", 0, 0)
    except struct.error:
        return None
    return None


def first_op(body, is_call):
    """The first operation number of a (CB_)COMPOUND body, if readable."""
    try:
        if is_call:
            pos = skip_opaque(body, 0) + 4              # tag, minorversion
        else:
            pos = skip_opaque(body, 4)                  # status, tag
        if struct.unpack(">I", body[pos:pos + 4])[0] == 0:
            return -1
        return struct.unpack(">I", body[pos + 4:pos + 8])[0]
    except struct.error:
        return None


def gss_init_token(msg):
    """The gss_token of an RPCSEC_GSS_INIT / CONTINUE_INIT call (RFC
    2203: a NULL call whose RPCSEC_GSS credential names one), else None."""
    try:
        mtype, _, _, _, proc, flavor = struct.unpack(">IIIIII", msg[4:28])
        if mtype != 0 or proc != 0 or flavor != 6:
            return None
        gss_proc = struct.unpack(">I", msg[36:40])[0]     # after cred length, version
        if gss_proc not in (1, 2):
            return None
        pos = skip_opaque(msg, 28)                      # cred body
        pos = skip_opaque(msg, pos + 4)                 # verf body
        n = struct.unpack(">I", msg[pos:pos + 4])[0]
        return msg[pos + 4:pos + 4 + n]
    except struct.error:
        return None


def write(target, name, data):
    d = os.path.join(SEEDS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    for t in ("compound", "rpc", "pcap"):
        shutil.rmtree(os.path.join(SEEDS, t), ignore_errors=True)

    captures = sorted(glob.glob(os.path.join(ROOT, "captures", "*.pcap")))
    captures += sorted(glob.glob(os.path.join(ROOT, "captures", "krb5", "*.pcap")))
    captures += sorted(glob.glob(os.path.join(SHARED, "*.pcap*")))
    seen = set()
    for path in captures:
        data = cut_capture(open(path, "rb").read())
        h = hashlib.sha1(data).hexdigest()
        if h in seen:
            continue
        seen.add(h)
        write("pcap", os.path.basename(path), data)

    messages = []
    for path in sorted(glob.glob(os.path.join(ROOT, "analyzer", "tests", "vectors", "*.bin"))):
        messages.append((os.path.basename(path)[:-4], open(path, "rb").read()))
    keys = set()
    for path in captures:
        try:
            msgs = make_vectors.rpc_messages(path)
        except (make_vectors.PcapError, IndexError, struct.error):
            continue
        base = os.path.splitext(os.path.basename(path))[0]
        for i, (_, _, _, msg) in enumerate(msgs):
            off = payload_offset(msg)
            if off is None:
                continue
            pos, (kind, prog, proc) = off
            token = gss_init_token(msg)
            if token is not None:
                write("rpc", "%s-%d-gss-token.bin" % (base, i), token)
                messages.append(("%s-%d" % (base, i), msg[:MAX_MESSAGE]))
                continue
            op = first_op(msg[pos:], kind == "call")
            key = (kind, prog, proc, op, len(msg).bit_length())
            if key in keys:
                continue
            keys.add(key)
            messages.append(("%s-%d" % (base, i), msg[:MAX_MESSAGE]))

    for name, msg in messages:
        write("rpc", name + ".msg", msg)
        # A split byte, then the message as one record (two fragments when
        # it is long enough).
        if len(msg) > 16:
            half = len(msg) // 2
            rec = struct.pack(">I", half) + msg[:half]
            rec += struct.pack(">I", 0x80000000 | (len(msg) - half)) + msg[half:]
        else:
            rec = struct.pack(">I", 0x80000000 | len(msg)) + msg
        write("rpc", name + ".rec", bytes([len(msg) // 3 & 0xFF]) + rec)
        off = payload_offset(msg)
        if off is not None and off[0] < len(msg):
            write("compound", name + ".body", msg[off[0]:])

    for t in ("compound", "rpc", "pcap"):
        d = os.path.join(SEEDS, t)
        files = os.listdir(d)
        size = sum(os.path.getsize(os.path.join(d, f)) for f in files)
        print("%-9s %4d files %8d bytes" % (t, len(files), size))


if __name__ == "__main__":
    main()
