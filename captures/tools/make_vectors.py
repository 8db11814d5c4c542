#!/usr/bin/env python3
"""Extract byte-exact ONC RPC test vectors from captures, checked against tshark.

    python3 captures/tools/make_vectors.py            # from the repository root

For every vector below it finds the first call matching a tshark display
filter, takes the call and its reply (the frame whose rpc.repframe is the call) out of the
capture with its own pcap reader and TCP reassembly (standard library only),
and writes the complete RPC message without the 4-byte record-marking header
(starting at the xid) to analyzer/tests/vectors/<name>.call.bin and
<name>.reply.bin.  Each file is checked against tshark: the first four bytes
are tshark's rpc.xid and the record-marked bytes equal tshark's TCP payload or
reassembled data for that frame.  Then it writes <name>.tshark.txt (tshark -V
of both frames, RPC and NFS layers) and README.md with the key fields, taken
from tshark's PDML so the values are exactly tshark's.
"""

import os
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "analyzer", "tests", "vectors")
SHARED = os.environ.get("SHARED_CAPTURES",
                        os.path.join(ROOT, "..", "shared", "captures"))

V40 = ("captures/ganesha-v40-libnfs.pcap", os.path.join(ROOT, "captures", "ganesha-v40-libnfs.pcap"))
V41 = ("captures/ganesha-v41-session.pcap", os.path.join(ROOT, "captures", "ganesha-v41-session.pcap"))
LINUX = ("shared/captures/nfstrace__eth-ipv4-tcp-nfsv41.pcap",
         os.path.join(SHARED, "nfstrace__eth-ipv4-tcp-nfsv41.pcap"))

SEQ_GETATTR = "rpc.msgtyp==0 && nfs.opcode==53 && nfs.opcode==24 && nfs.opcode==9"

# name, capture, display filter of the call (first match is used), description
VECTORS = [
    ("exchange_id", V41, "rpc.msgtyp==0 && nfs.opcode==42",
     "EXCHANGE_ID from nfs41_probe.py to NFS-Ganesha 4.3 (connection 1)"),
    ("create_session", V41, "rpc.msgtyp==0 && nfs.opcode==43",
     "CREATE_SESSION with CONN_BACK_CHAN, cb program 0x40000000, AUTH_NONE"),
    ("bind_conn_to_session", V41, "rpc.msgtyp==0 && nfs.opcode==41",
     "BIND_CONN_TO_SESSION CDFC4_FORE_OR_BOTH on connection 2 (from 127.0.0.5)"),
    ("sequence", V41, SEQ_GETATTR,
     "SEQUENCE + PUTROOTFH + GETATTR on connection 1"),
    ("setclientid", V40, "rpc.msgtyp==0 && nfs.opcode==35",
     "SETCLIENTID from libnfs 4.0 (nfs-ls) to NFS-Ganesha 4.3"),
    ("setclientid_confirm", V40, "rpc.msgtyp==0 && nfs.opcode==36",
     "SETCLIENTID_CONFIRM from libnfs 4.0 (nfs-ls) to NFS-Ganesha 4.3"),
    ("exchange_id_linux", LINUX, "rpc.msgtyp==0 && nfs.opcode==42",
     "EXCHANGE_ID, Linux NFSv4.1 client to Linux server (epam/nfstrace capture)"),
    ("create_session_linux", LINUX, "rpc.msgtyp==0 && nfs.opcode==43",
     "CREATE_SESSION, Linux client to Linux server"),
    ("sequence_linux", LINUX, SEQ_GETATTR,
     "SEQUENCE + PUTROOTFH + GETATTR, Linux client to Linux server"),
]


class PcapError(Exception):
    pass


# ------------------------------------------------------------------ pcap reader

def read_pcap(path):
    """Yield (frame_number, linktype, packet bytes) from a classic pcap file."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise PcapError("%s: too short for a pcap header" % path)
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        raise PcapError("%s: not a classic pcap file (magic %s)" % (path, magic.hex()))
    linktype = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
    pos, frame = 24, 0
    while pos + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(e + "IIII", data[pos:pos + 16])
        pos += 16
        frame += 1
        if pos + caplen > len(data):
            raise PcapError("%s: frame %d truncated" % (path, frame))
        yield frame, linktype, data[pos:pos + caplen]
        pos += caplen


def tcp_segment(linktype, pkt):
    """Return (src, sport, dst, dport, seq, flags, payload) or None."""
    if linktype == 1:                       # Ethernet
        off, etype = 14, struct.unpack(">H", pkt[12:14])[0]
        while etype in (0x8100, 0x88A8):    # VLAN tags
            etype = struct.unpack(">H", pkt[off + 2:off + 4])[0]
            off += 4
    elif linktype == 113:                   # Linux cooked
        off, etype = 16, struct.unpack(">H", pkt[14:16])[0]
    elif linktype == 0:                     # BSD loopback
        fam = struct.unpack("<I", pkt[:4])[0]
        off, etype = 4, 0x0800 if fam == 2 else 0x86DD
    else:
        raise PcapError("unsupported link type %d" % linktype)
    if etype == 0x0800:
        ihl = (pkt[off] & 0x0F) * 4
        total = struct.unpack(">H", pkt[off + 2:off + 4])[0]
        if pkt[off + 9] != 6:
            return None
        if struct.unpack(">H", pkt[off + 6:off + 8])[0] & 0x3FFF:
            return None                     # IP fragment: not needed here
        src, dst = pkt[off + 12:off + 16], pkt[off + 16:off + 20]
        end = off + total
        off += ihl
    elif etype == 0x86DD:
        if pkt[off + 6] != 6:
            return None
        plen = struct.unpack(">H", pkt[off + 4:off + 6])[0]
        src, dst = pkt[off + 8:off + 24], pkt[off + 24:off + 40]
        off += 40
        end = off + plen
    else:
        return None
    sport, dport, seq = struct.unpack(">HHI", pkt[off:off + 8])
    doff = (pkt[off + 12] >> 4) * 4
    flags = pkt[off + 13]
    return src, sport, dst, dport, seq, flags, pkt[off + doff:end]


class Stream:
    """One direction of a TCP connection, reassembled in sequence order."""

    def __init__(self):
        self.next_seq = None
        self.data = bytearray()
        self.frame_at = []                  # (stream offset, frame) per chunk
        self.pending = {}                   # seq -> (payload, frame)

    def add(self, seq, flags, payload, frame):
        if flags & 0x02:                    # SYN
            self.next_seq = (seq + 1) & 0xFFFFFFFF
            return
        if not payload:
            return
        if self.next_seq is None:           # capture started mid-stream
            self.next_seq = seq
        self.pending[seq] = (payload, frame)
        self._drain()

    def _drain(self):
        progress = True
        while progress:
            progress = False
            for seq in list(self.pending):
                payload, frame = self.pending[seq]
                delta = (seq - self.next_seq) & 0xFFFFFFFF
                if delta >= 0x80000000:     # starts before next_seq: overlap
                    behind = 0x100000000 - delta
                    del self.pending[seq]
                    if behind < len(payload):
                        self._append(payload[behind:], frame)
                    progress = True
                elif delta == 0:
                    del self.pending[seq]
                    self._append(payload, frame)
                    progress = True

    def _append(self, payload, frame):
        self.frame_at.append((len(self.data), frame))
        self.data += payload
        self.next_seq = (self.next_seq + len(payload)) & 0xFFFFFFFF

    def frame_of(self, offset):
        lo, hi = 0, len(self.frame_at) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.frame_at[mid][0] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return self.frame_at[lo][1]

    def messages(self):
        """Split into RPC messages: (first frame, last frame, record-marked bytes, message)."""
        pos, out = 0, []
        while pos + 4 <= len(self.data):
            start, body = pos, bytearray()
            while True:
                if pos + 4 > len(self.data):
                    return out
                (hdr,) = struct.unpack(">I", self.data[pos:pos + 4])
                n = hdr & 0x7FFFFFFF
                if pos + 4 + n > len(self.data):
                    return out
                body += self.data[pos + 4:pos + 4 + n]
                pos += 4 + n
                if hdr & 0x80000000:
                    break
            out.append((self.frame_of(start), self.frame_of(pos - 1),
                        bytes(self.data[start:pos]), bytes(body)))
        return out


def rpc_messages(path):
    streams = {}
    for frame, linktype, pkt in read_pcap(path):
        seg = tcp_segment(linktype, pkt)
        if seg is None:
            continue
        src, sport, dst, dport, seq, flags, payload = seg
        streams.setdefault((src, sport, dst, dport), Stream()).add(seq, flags, payload, frame)
    msgs = []
    for s in streams.values():
        msgs.extend(s.messages())
    return msgs


# ------------------------------------------------------------------ tshark

def client_ports(path):
    out = subprocess.run(["tshark", "-r", path, "-Y",
                          "tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.dstport==2049",
                          "-T", "fields", "-e", "tcp.srcport"],
                         capture_output=True, text=True, check=True).stdout
    return sorted({p for p in out.split() if p})


def decode_args(path):
    args = []
    for p in client_ports(path):
        args += ["-d", "tcp.port==%s,rpc" % p]
    return args


def tshark_fields(path, dfilter, fields):
    cmd = ["tshark", "-r", path] + decode_args(path) + ["-Y", dfilter, "-T", "fields"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines() if line.strip()]


def tshark_pdml(path, frame):
    cmd = (["tshark", "-r", path] + decode_args(path) +
           ["-Y", "frame.number==%d" % frame, "-T", "pdml"])
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return ET.fromstring(out).find("packet")


def tshark_verbose(path, frame):
    cmd = (["tshark", "-r", path] + decode_args(path) +
           ["-Y", "frame.number==%d" % frame, "-V", "-O", "rpc,nfs"])
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return out


# ------------------------------------------------------------------ extraction

def find_message(msgs, frame, xid):
    hits = [m for m in msgs if m[1] == frame and m[3][:4] == xid]
    if len(hits) != 1:
        raise PcapError("%d RPC messages with xid %s end in frame %d" % (len(hits), xid.hex(), frame))
    return hits[0]


def check_against_tshark(path, frame, record):
    """The record-marked message must be tshark's TCP payload or reassembled data."""
    rows = tshark_fields(path, "frame.number==%d" % frame,
                         ["tcp.reassembled.data", "tcp.payload"])
    reasm, payload = rows[0][0].replace(":", ""), rows[0][1].replace(":", "")
    want = record.hex()
    if reasm:
        if want not in reasm:
            raise PcapError("frame %d: extracted bytes differ from tshark's reassembled data" % frame)
        return "tcp.reassembled.data"
    if want not in payload:
        raise PcapError("frame %d: extracted bytes differ from tshark's tcp.payload" % frame)
    return "tcp.payload"


def extract(name, cap, dfilter):
    label, path = cap
    rows = tshark_fields(path, dfilter, ["frame.number", "rpc.xid"])
    if not rows:
        raise PcapError("%s: no frame matches %r in %s" % (name, dfilter, label))
    call_frame = int(rows[0][0])
    xid_text = rows[0][1].split(",")[0]
    # rpc.repframe is set on the reply ("This is a reply to a request in frame N")
    reply = tshark_fields(path, "rpc.msgtyp==1 && rpc.repframe==%d && rpc.xid==%s"
                          % (call_frame, xid_text), ["frame.number"])
    if len(reply) != 1:
        raise PcapError("%s: %d replies to frame %d" % (name, len(reply), call_frame))
    reply_frame = int(reply[0][0])
    xid = struct.pack(">I", int(xid_text, 16))
    msgs = rpc_messages(path)
    result = {}
    for kind, frame in (("call", call_frame), ("reply", reply_frame)):
        first, last, record, body = find_message(msgs, frame, xid)
        (hdr,) = struct.unpack(">I", record[:4])
        how = check_against_tshark(path, frame, record)
        tx = tshark_fields(path, "frame.number==%d" % frame, ["rpc.xid"])[0][0].split(",")
        if "0x" + body[:4].hex() not in tx:
            raise PcapError("%s.%s: first 4 bytes %s are not tshark's xid %s" % (name, kind, body[:4].hex(), tx))
        out = os.path.join(OUT, "%s.%s.bin" % (name, kind))
        with open(out, "wb") as f:
            f.write(body)
        result[kind] = dict(frame=frame, first=first, last=last, size=len(body),
                            fragments=1 if hdr & 0x80000000 else "several",
                            checked=how, xid=xid_text)
    return result


# ------------------------------------------------------------------ README

SKIP_NAMES = {"rpc.opaque_length", "rpc.fill_bytes", "nfs.status", "nfs.attr_count",
              "rpc.programversion", "nfs.procedure_v4", "nfs.main_opcode", "rpc.time",
              "rpc.lastfrag", "rpc.fraglen", "nfs.ops.count"}


def walk(elem, depth, rows, skip_children=False):
    for f in elem.findall("field"):
        name = f.get("name", "")
        show = f.get("showname") or f.get("show") or ""
        if f.get("hide") == "yes" or f.get("unmaskedvalue") is not None:
            continue
        if name == "nfs.attr" and f.get("size") == "0":
            continue                        # bitmap expansion line, no bytes
        if name in SKIP_NAMES:
            walk(f, depth, rows)
            continue
        value = f.get("value", "")
        if name:
            if show.endswith("<DATA>") or "<DATA>" in show:
                raw = bytes.fromhex(value)
                body = raw.rstrip(b"\0")
                printable = bool(body) and all(32 <= c < 127 for c in body)
                text = body.decode("ascii") + "\\0" * (len(raw) - len(body)) if printable else ""
                show = show.replace("<DATA>", ("hex %s (text \"%s\")" % (value, text))
                                    if printable else "hex %s" % value)
            rows.append((depth, name, show, value))
        elif f.get("show"):
            rows.append((depth, "", f.get("show"), value if not list(f) else ""))
        walk(f, depth + (1 if name or f.get("show") else 0), rows)


def pdml_rows(pkt):
    rows = []
    for proto in pkt.findall("proto"):
        if proto.get("name") in ("rpc", "nfs"):
            rows.append((0, proto.get("name"), proto.get("showname"), ""))
            walk(proto, 1, rows)
    return rows


def md_escape(s):
    return s.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def table(rows):
    lines = ["| tshark field | as tshark shows it | raw value (hex) |", "|---|---|---|"]
    for depth, name, show, value in rows:
        indent = "&nbsp;&nbsp;" * depth
        raw = value if len(value) <= 256 else value[:256] + "…"
        lines.append("| %s | %s%s | %s |" % (("`%s`" % name) if name else "",
                                           indent, md_escape(show), raw))
    return "\n".join(lines)


HEADER = """# NFSv4 test vectors

Each `<name>.call.bin` / `<name>.reply.bin` is one complete ONC RPC message as
it was on the wire, **without** the 4-byte record-marking header: the file
starts at the xid (RFC 5531 section 9) and ends with the last byte of the
COMPOUND arguments or results. `<name>.tshark.txt` is `tshark -V -O rpc,nfs`
of the two frames.

Generated by `python3 captures/tools/make_vectors.py` (run from the repository
root, after `captures/record.sh`): it picks the first call that matches the
display filter below, takes the reply whose `rpc.repframe` is that call, extracts
both with its own pcap reader and TCP reassembly, and checks each file against
tshark (first 4 bytes = `rpc.xid`; the record-marked bytes equal tshark's
`tcp.payload` or `tcp.reassembled.data` of that frame). The tables below are
rendered from tshark's PDML of the same frames, so every value is exactly what
tshark %(tshark)s decodes (`<DATA>` fields are given as hex and, when
printable, as text). Bit-field breakdowns, opaque lengths, fill bytes and
bitmap expansion lines are left out; they are in the `.tshark.txt` files.

Frame numbers are 1-based, as tshark numbers them. libnfs picks a random
reserved source port; when it collides with a port that has its own dissector
(639 is MSDP) tshark needs `-d tcp.port==PORT,rpc`, which the generator adds
for every client port.

Server identity in the Ganesha captures: `Server_Owner = "trunkcheck-ganesha-a"`,
`Server_Scope = "trunkcheck-scope"` (Ganesha appends a NUL byte to the scope).

## Index

| vector | source capture | call frame | reply frame | xid | call bytes | reply bytes |
|---|---|---|---|---|---|---|
"""


def main():
    os.makedirs(OUT, exist_ok=True)
    version = subprocess.run(["tshark", "-v"], capture_output=True, text=True).stdout.split("\n")[0]
    version = version.replace("TShark (Wireshark) ", "").strip().rstrip(".")
    index, sections = [], []
    for name, cap, dfilter, desc in VECTORS:
        res = extract(name, cap, dfilter)
        c, r = res["call"], res["reply"]
        index.append("| [%s](#%s) | `%s` | %s | %s | %s | %d | %d |"
                     % (name, name, cap[0], frames(c), frames(r), c["xid"], c["size"], r["size"]))
        verbose = []
        parts = ["## %s\n\n%s.\n\n" % (name, desc),
                 "- source: `%s`, display filter `%s` (first match)\n" % (cap[0], dfilter)]
        for kind in ("call", "reply"):
            m = res[kind]
            parts.append("- `%s.%s.bin`: frame %s, xid %s, %d bytes, one last fragment: %s, "
                         "checked against tshark `%s`\n"
                         % (name, kind, frames(m), m["xid"], m["size"],
                            "yes" if m["fragments"] == 1 else "no", m["checked"]))
        for kind in ("call", "reply"):
            m = res[kind]
            pkt = tshark_pdml(cap[1], m["frame"])
            parts.append("\n### %s.%s.bin (frame %d)\n\n%s\n" % (name, kind, m["frame"],
                                                                 table(pdml_rows(pkt))))
            verbose.append("==== %s.%s.bin: %s frame %d ====\n%s"
                           % (name, kind, cap[0], m["frame"], tshark_verbose(cap[1], m["frame"])))
        sections.append("".join(parts))
        with open(os.path.join(OUT, "%s.tshark.txt" % name), "w") as f:
            f.write("\n".join(verbose))
        print("%-22s call frame %-4s reply frame %-4s xid %s (%d / %d bytes)"
              % (name, frames(c), frames(r), c["xid"], c["size"], r["size"]))
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write(HEADER % {"tshark": version})
        f.write("\n".join(index) + "\n\n")
        f.write("\n\n".join(sections))
    return 0


def frames(m):
    if m["first"] == m["last"]:
        return str(m["last"])
    return "%d-%d" % (m["first"], m["last"])


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (PcapError, subprocess.CalledProcessError) as e:
        print("make_vectors: %s" % e, file=sys.stderr)
        sys.exit(1)
