#!/usr/bin/env python3
"""Raw NFSv4.1 / v4.2 probe client for recording trunkcheck captures.

Standard library only.  XDR is encoded and decoded by hand with struct,
following RFC 4506 (XDR), RFC 5531 (ONC RPC), RFC 5661/8881 (NFSv4.1) and
RFC 7862 (NFSv4.2).

Sequence (see captures/README.md):
  connection 1 (from --src1):
    NULL, EXCHANGE_ID, CREATE_SESSION (CONN_BACK_CHAN),
    SEQUENCE+PUTROOTFH+GETATTR, SEQUENCE+RECLAIM_COMPLETE
  connection 2 (from --src2):
    BIND_CONN_TO_SESSION (CDFC4_FORE_OR_BOTH), SEQUENCE+PUTROOTFH+GETATTR,
    EXCHANGE_ID with the same owner and verifier (trunking probe)
  connection 1, minorversion 2:
    SEQUENCE+PUTROOTFH+LOOKUP+LOOKUP+GETATTR, SEQUENCE+PUTROOTFH+LOOKUP+OPEN+GETFH,
    SEQUENCE+PUTFH+SEEK(DATA)+SEEK(HOLE), SEQUENCE+PUTFH+READ_PLUS,
    SEQUENCE+PUTFH+ALLOCATE, SEQUENCE+PUTFH+CLOSE
  connection 1: DESTROY_SESSION, DESTROY_CLIENTID

Exit status: 0 when every session operation returned NFS4_OK, 1 otherwise.
"""

import argparse
import socket
import struct
import sys
import time

NFS_PROGRAM = 100003
NFS_V4 = 4
CB_PROGRAM = 0x40000000

AUTH_NONE = 0
AUTH_SYS = 1

# NFSv4 operation numbers (RFC 8881 section 18, RFC 7862 section 11)
OP_CLOSE = 4
OP_GETATTR = 9
OP_GETFH = 10
OP_LOOKUP = 15
OP_OPEN = 18
OP_PUTFH = 22
OP_PUTROOTFH = 24
OP_BIND_CONN_TO_SESSION = 41
OP_EXCHANGE_ID = 42
OP_CREATE_SESSION = 43
OP_DESTROY_SESSION = 44
OP_SEQUENCE = 53
OP_DESTROY_CLIENTID = 57
OP_RECLAIM_COMPLETE = 58
OP_ALLOCATE = 59
OP_READ_PLUS = 68
OP_SEEK = 69

OP_NAMES = {
    OP_CLOSE: "CLOSE", OP_GETATTR: "GETATTR", OP_GETFH: "GETFH",
    OP_LOOKUP: "LOOKUP", OP_OPEN: "OPEN", OP_PUTFH: "PUTFH",
    OP_PUTROOTFH: "PUTROOTFH", OP_BIND_CONN_TO_SESSION: "BIND_CONN_TO_SESSION",
    OP_EXCHANGE_ID: "EXCHANGE_ID", OP_CREATE_SESSION: "CREATE_SESSION",
    OP_DESTROY_SESSION: "DESTROY_SESSION", OP_SEQUENCE: "SEQUENCE",
    OP_DESTROY_CLIENTID: "DESTROY_CLIENTID",
    OP_RECLAIM_COMPLETE: "RECLAIM_COMPLETE", OP_ALLOCATE: "ALLOCATE",
    OP_READ_PLUS: "READ_PLUS", OP_SEEK: "SEEK",
}

NFS4_OK = 0
STATUS_NAMES = {
    0: "NFS4_OK", 1: "NFS4ERR_PERM", 2: "NFS4ERR_NOENT", 5: "NFS4ERR_IO",
    13: "NFS4ERR_ACCESS", 10004: "NFS4ERR_NOTSUPP", 10005: "NFS4ERR_TOOSMALL",
    10006: "NFS4ERR_SERVERFAULT", 10013: "NFS4ERR_GRACE",
    10020: "NFS4ERR_NOFILEHANDLE", 10022: "NFS4ERR_STALE_CLIENTID",
    10025: "NFS4ERR_BAD_STATEID", 10036: "NFS4ERR_BADXDR",
    10038: "NFS4ERR_OLD_STATEID", 10044: "NFS4ERR_OP_ILLEGAL",
    10052: "NFS4ERR_BADSESSION", 10053: "NFS4ERR_BADSLOT",
    10054: "NFS4ERR_COMPLETE_ALREADY", 10055: "NFS4ERR_CONN_NOT_BOUND_TO_SESSION",
    10063: "NFS4ERR_SEQ_MISORDERED", 10068: "NFS4ERR_NOT_ONLY_OP",
    10071: "NFS4ERR_OP_NOT_IN_SESSION", 10074: "NFS4ERR_CLIENTID_BUSY",
    10076: "NFS4ERR_SEQ_FALSE_RETRY", 10077: "NFS4ERR_BAD_HIGH_SLOT",
    10078: "NFS4ERR_DEADSESSION", 10079: "NFS4ERR_ENCR_ALG_UNSUPP",
    10086: "NFS4ERR_BADCHAR", 10087: "NFS4ERR_BADNAME",
    10088: "NFS4ERR_BAD_RANGE", 10089: "NFS4ERR_LOCK_RANGE",
    10015: "NFS4ERR_MINOR_VERS_MISMATCH", 10021: "NFS4ERR_RESOURCE",
    10008: "NFS4ERR_DELAY", 10003: "NFS4ERR_NOTSUPP?", 27: "NFS4ERR_FBIG",
    10011: "NFS4ERR_EXPIRED", 10012: "NFS4ERR_LOCKED",
}

# GETATTR attribute numbers used by the probe
FATTR4_SUPPORTED_ATTRS = 0
FATTR4_TYPE = 1
FATTR4_FH_EXPIRE_TYPE = 2
FATTR4_CHANGE = 3
FATTR4_SIZE = 4
FATTR4_FSID = 8
FATTR4_LEASE_TIME = 10
FATTR4_FILEID = 20
FATTR4_MOUNTED_ON_FILEID = 55

PROBE_ATTRS = [FATTR4_SUPPORTED_ATTRS, FATTR4_TYPE, FATTR4_FH_EXPIRE_TYPE,
               FATTR4_CHANGE, FATTR4_SIZE, FATTR4_FSID, FATTR4_LEASE_TIME,
               FATTR4_FILEID, FATTR4_MOUNTED_ON_FILEID]


class ProbeError(Exception):
    pass


# ---------------------------------------------------------------- XDR encode

class Enc:
    def __init__(self):
        self.parts = []

    def u32(self, v):
        self.parts.append(struct.pack(">I", v & 0xFFFFFFFF))
        return self

    def i32(self, v):
        self.parts.append(struct.pack(">i", v))
        return self

    def u64(self, v):
        self.parts.append(struct.pack(">Q", v & 0xFFFFFFFFFFFFFFFF))
        return self

    def i64(self, v):
        self.parts.append(struct.pack(">q", v))
        return self

    def boolean(self, v):
        return self.u32(1 if v else 0)

    def fixed(self, data):
        """Fixed-length opaque: bytes, then zero padding to 4."""
        self.parts.append(bytes(data))
        pad = (-len(data)) % 4
        if pad:
            self.parts.append(b"\0" * pad)
        return self

    def opaque(self, data):
        """Variable-length opaque / string: length, bytes, padding."""
        data = data.encode() if isinstance(data, str) else bytes(data)
        self.u32(len(data))
        return self.fixed(data)

    def bitmap(self, bits):
        words = []
        for b in bits:
            w = b // 32
            while len(words) <= w:
                words.append(0)
            words[w] |= 1 << (b % 32)
        self.u32(len(words))
        for w in words:
            self.u32(w)
        return self

    def raw(self, data):
        self.parts.append(bytes(data))
        return self

    def bytes(self):
        return b"".join(self.parts)


# ---------------------------------------------------------------- XDR decode

class Dec:
    def __init__(self, data, pos=0):
        self.data = data
        self.pos = pos

    def _take(self, n):
        if self.pos + n > len(self.data):
            raise ProbeError("short XDR data: need %d bytes at %d of %d"
                             % (n, self.pos, len(self.data)))
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def u32(self):
        return struct.unpack(">I", self._take(4))[0]

    def i32(self):
        return struct.unpack(">i", self._take(4))[0]

    def u64(self):
        return struct.unpack(">Q", self._take(8))[0]

    def i64(self):
        return struct.unpack(">q", self._take(8))[0]

    def boolean(self):
        v = self.u32()
        if v not in (0, 1):
            raise ProbeError("bad XDR bool %d" % v)
        return bool(v)

    def fixed(self, n):
        b = self._take(n)
        self._take((-n) % 4)
        return b

    def opaque(self, limit=1 << 24):
        n = self.u32()
        if n > limit:
            raise ProbeError("opaque length %d over limit" % n)
        return self.fixed(n)

    def bitmap(self):
        n = self.u32()
        if n > 64:
            raise ProbeError("bitmap of %d words" % n)
        return [self.u32() for _ in range(n)]

    def remaining(self):
        return len(self.data) - self.pos


def bitmap_bits(words):
    return [i * 32 + b for i, w in enumerate(words) for b in range(32) if w >> b & 1]


# ---------------------------------------------------------------- RPC layer

def auth_sys_cred(machine, uid, gid, gids=()):
    body = Enc().u32(int(time.time()) & 0xFFFFFFFF).opaque(machine).u32(uid).u32(gid)
    body.u32(len(gids))
    for g in gids:
        body.u32(g)
    return Enc().u32(AUTH_SYS).opaque(body.bytes()).bytes()


AUTH_NONE_OPAQUE = Enc().u32(AUTH_NONE).u32(0).bytes()


def send_record(sock, payload):
    """One RPC message as a single last fragment (RFC 5531 section 11)."""
    sock.sendall(struct.pack(">I", 0x80000000 | len(payload)) + payload)


def recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ProbeError("connection closed by server")
        buf += chunk
    return bytes(buf)


def recv_record(sock):
    """Read fragments until the last-fragment bit; return the whole message."""
    msg = bytearray()
    while True:
        (hdr,) = struct.unpack(">I", recv_exact(sock, 4))
        length = hdr & 0x7FFFFFFF
        if length > 16 * 1024 * 1024:
            raise ProbeError("fragment of %d bytes" % length)
        msg += recv_exact(sock, length)
        if hdr & 0x80000000:
            return bytes(msg)


class Conn:
    def __init__(self, name, server, port, src, cred, timeout):
        self.name = name
        self.cred = cred
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(timeout)
        self.sock.bind((src, 0))
        self.sock.connect((server, port))
        self.local = self.sock.getsockname()
        log("[%s] connected %s:%d -> %s:%d" % (name, self.local[0], self.local[1],
                                               server, port))
        self.cb_session = None  # session id to echo in CB_SEQUENCE replies

    def close(self):
        self.sock.close()

    def call(self, xid, proc, args, cred=None):
        cred = self.cred if cred is None else cred
        hdr = (Enc().u32(xid).u32(0).u32(2).u32(NFS_PROGRAM).u32(NFS_V4).u32(proc)
               .raw(cred).raw(AUTH_NONE_OPAQUE).bytes())
        send_record(self.sock, hdr + args)
        while True:
            msg = recv_record(self.sock)
            d = Dec(msg)
            rxid = d.u32()
            mtype = d.u32()
            if mtype == 0:
                self.answer_callback(rxid, d)
                continue
            if mtype != 1:
                raise ProbeError("bad msg_type %d" % mtype)
            if rxid != xid:
                log("[%s] ignoring reply with unexpected xid 0x%08x" % (self.name, rxid))
                continue
            reply_stat = d.u32()
            if reply_stat != 0:
                rej = d.u32()
                raise ProbeError("RPC call denied (reject_stat %d, detail %d)"
                                 % (rej, d.u32()))
            d.u32()          # verifier flavor
            d.opaque()       # verifier body
            accept = d.u32()
            if accept != 0:
                raise ProbeError("RPC accept_stat %d" % accept)
            return d

    # -- back channel on the fore connection (CONN_BACK_CHAN) -------------
    def answer_callback(self, xid, d):
        d.u32()                       # rpcvers
        prog, vers, proc = d.u32(), d.u32(), d.u32()
        d.u32(); d.opaque()           # cred
        d.u32(); d.opaque()           # verf
        log("[%s] callback from server: xid 0x%08x prog 0x%x vers %d proc %d"
            % (self.name, xid, prog, vers, proc))
        reply = Enc().u32(xid).u32(1).u32(0).raw(AUTH_NONE_OPAQUE)
        if prog != CB_PROGRAM:
            reply.u32(1)              # PROG_UNAVAIL
        elif proc == 0:
            reply.u32(0)              # CB_NULL: SUCCESS, void
        elif proc == 1:
            reply.u32(0)
            reply.raw(self.cb_compound_reply(d))
        else:
            reply.u32(3)              # PROC_UNAVAIL
        send_record(self.sock, reply.bytes())

    def cb_compound_reply(self, d):
        tag = d.opaque()
        d.u32()                       # minorversion
        d.u32()                       # callback_ident
        nops = d.u32()
        results = Enc()
        count = 0
        status = NFS4_OK
        for _ in range(nops):
            op = d.u32()
            count += 1
            if op == 11:              # CB_SEQUENCE
                sid = d.fixed(16)
                seq, slot, hi = d.u32(), d.u32(), d.u32()
                d.boolean()
                for _ in range(d.u32()):      # referring_call_lists
                    d.fixed(16)
                    for _ in range(d.u32()):
                        d.u32(); d.u32()
                results.u32(op).u32(NFS4_OK).fixed(sid).u32(seq).u32(slot).u32(hi).u32(hi)
                log("      CB_SEQUENCE seqid %d slot %d -> NFS4_OK" % (seq, slot))
            else:
                status = 10004        # NFS4ERR_NOTSUPP: stop here
                results.u32(op).u32(status)
                log("      CB op %d -> NFS4ERR_NOTSUPP" % op)
                break
        return Enc().u32(status).opaque(tag).u32(count).raw(results.bytes()).bytes()


# ---------------------------------------------------------------- NFSv4 layer

def compound(tag, minorversion, ops):
    e = Enc().opaque(tag).u32(minorversion).u32(len(ops))
    for op in ops:
        e.raw(op)
    return e.bytes()


def op(opnum, body=b""):
    return struct.pack(">I", opnum) + body


def op_sequence(sessionid, seqid, slot=0, highest=0, cachethis=False):
    return op(OP_SEQUENCE, Enc().fixed(sessionid).u32(seqid).u32(slot).u32(highest)
              .boolean(cachethis).bytes())


def op_getattr(bits):
    return op(OP_GETATTR, Enc().bitmap(bits).bytes())


def op_lookup(name):
    return op(OP_LOOKUP, Enc().opaque(name).bytes())


def op_putfh(fh):
    return op(OP_PUTFH, Enc().opaque(fh).bytes())


def stateid_enc(e, st):
    seqid, other = st
    e.u32(seqid).fixed(other)


def decode_stateid(d):
    return (d.u32(), d.fixed(12))


def channel_attrs(e, padsize, maxreq, maxresp, maxcached, maxops, maxreqs):
    e.u32(padsize).u32(maxreq).u32(maxresp).u32(maxcached).u32(maxops).u32(maxreqs)
    e.u32(0)        # ca_rdma_ird<1>: empty


def decode_channel_attrs(d):
    a = [d.u32() for _ in range(6)]
    ird = [d.u32() for _ in range(d.u32())]
    return dict(headerpad=a[0], maxreq=a[1], maxresp=a[2], maxcached=a[3],
                maxops=a[4], maxreqs=a[5], rdma_ird=ird)


def decode_fattr(words, vals):
    d = Dec(vals)
    out = {}
    for bit in bitmap_bits(words):
        if bit == FATTR4_SUPPORTED_ATTRS:
            out["supported_attrs"] = len(bitmap_bits(d.bitmap()))
        elif bit in (FATTR4_TYPE, FATTR4_FH_EXPIRE_TYPE, FATTR4_LEASE_TIME):
            out[{1: "type", 2: "fh_expire_type", 10: "lease_time"}[bit]] = d.u32()
        elif bit in (FATTR4_CHANGE, FATTR4_SIZE, FATTR4_FILEID, FATTR4_MOUNTED_ON_FILEID):
            out[{3: "change", 4: "size", 20: "fileid",
                 55: "mounted_on_fileid"}[bit]] = d.u64()
        elif bit == FATTR4_FSID:
            out["fsid"] = (d.u64(), d.u64())
        else:
            out["attr%d" % bit] = "(not decoded)"
            break
    return out


def decode_op_result(opnum, d):
    """Decode the body of a successful op result; return a printable dict."""
    if opnum == OP_SEQUENCE:
        return dict(sessionid=d.fixed(16).hex(), seqid=d.u32(), slot=d.u32(),
                    highest=d.u32(), target_highest=d.u32(),
                    status_flags="0x%08x" % d.u32())
    if opnum in (OP_PUTROOTFH, OP_PUTFH, OP_LOOKUP, OP_RECLAIM_COMPLETE,
                 OP_DESTROY_SESSION, OP_DESTROY_CLIENTID, OP_ALLOCATE):
        return {}
    if opnum == OP_GETATTR:
        words = d.bitmap()
        vals = d.opaque()
        return decode_fattr(words, vals)
    if opnum == OP_GETFH:
        return dict(fh=d.opaque(128))
    if opnum == OP_OPEN:
        st = decode_stateid(d)
        atomic, before, after = d.boolean(), d.u64(), d.u64()
        rflags = d.u32()
        attrset = d.bitmap()
        dtype = d.u32()
        deleg = {0: "NONE", 1: "READ", 2: "WRITE", 3: "NONE_EXT"}.get(dtype, dtype)
        if dtype in (1, 2):
            decode_stateid(d)
            d.boolean()
            if dtype == 2:
                if d.u32() == 1:          # NFS_LIMIT_SIZE
                    d.u64()
                else:
                    d.u32(); d.u32()
            d.u32(); d.u32(); d.u32(); d.opaque()   # nfsace4
        elif dtype == 3:
            why = d.u32()
            if why in (1, 2):
                d.boolean()
            deleg = "NONE_EXT(why=%d)" % why
        return dict(stateid=st, rflags="0x%x" % rflags, attrset=attrset,
                    delegation=deleg, cinfo=(atomic, before, after))
    if opnum == OP_CLOSE:
        return dict(stateid=decode_stateid(d))
    if opnum == OP_SEEK:
        return dict(eof=d.boolean(), offset=d.u64())
    if opnum == OP_READ_PLUS:
        eof = d.boolean()
        segs = []
        for _ in range(d.u32()):
            kind = d.u32()
            if kind == 0:
                off = d.u64()
                segs.append(("DATA", off, len(d.opaque())))
            elif kind == 1:
                segs.append(("HOLE", d.u64(), d.u64()))
            else:
                segs.append(("content%d" % kind,))
        return dict(eof=eof, contents=segs)
    if opnum == OP_EXCHANGE_ID:
        r = dict(clientid=d.u64(), sequenceid=d.u32(), flags=d.u32())
        sp = d.u32()
        if sp != 0:
            raise ProbeError("state protection %d not decoded" % sp)
        r["so_minor_id"] = d.u64()
        r["so_major_id"] = d.opaque()
        r["server_scope"] = d.opaque()
        impl = []
        for _ in range(d.u32()):
            impl.append((d.opaque(), d.opaque(), d.i64(), d.u32()))
        r["impl_id"] = impl
        return r
    if opnum == OP_CREATE_SESSION:
        return dict(sessionid=d.fixed(16), sequenceid=d.u32(), flags=d.u32(),
                    fore=decode_channel_attrs(d), back=decode_channel_attrs(d))
    if opnum == OP_BIND_CONN_TO_SESSION:
        return dict(sessionid=d.fixed(16), dir=d.u32(), rdma=d.boolean())
    raise ProbeError("no decoder for op %d" % opnum)


class Compound:
    def __init__(self, status, tag, results):
        self.status = status
        self.tag = tag
        self.results = results   # list of (opnum, status, decoded)

    def result(self, opnum):
        for o, s, r in self.results:
            if o == opnum and s == NFS4_OK:
                return r
        return None


def status_name(s):
    return STATUS_NAMES.get(s, str(s))


def parse_compound_reply(d):
    status = d.u32()
    tag = d.opaque()
    n = d.u32()
    results = []
    for _ in range(n):
        opnum = d.u32()
        st = d.u32()
        decoded = decode_op_result(opnum, d) if st == NFS4_OK else None
        results.append((opnum, st, decoded))
        if st != NFS4_OK:
            break
    return Compound(status, tag, results)


def log(msg):
    print(msg, flush=True)


def show(conn, label, comp):
    log("[%s] %s: COMPOUND status %s" % (conn.name, label, status_name(comp.status)))
    for opnum, st, decoded in comp.results:
        extra = ""
        if decoded:
            extra = "  " + ", ".join("%s=%s" % (k, fmt(v)) for k, v in decoded.items())
        log("      %-22s %s%s" % (OP_NAMES.get(opnum, "op%d" % opnum), status_name(st),
                                  extra))


def fmt(v):
    if isinstance(v, bytes):
        try:
            s = v.decode("ascii")
            if s.isprintable():
                return repr(s)
        except UnicodeDecodeError:
            pass
        return v.hex()
    return str(v)


# ---------------------------------------------------------------- the probe

class Probe:
    def __init__(self, args):
        self.args = args
        self.xid = args.xid_base
        self.failures = []
        self.cred = auth_sys_cred(args.machine, args.uid, args.gid)
        self.verifier = args.verifier.encode().ljust(8, b"\0")[:8]
        self.slot_seq = 0

    def next_xid(self):
        self.xid = (self.xid + 1) & 0xFFFFFFFF
        return self.xid

    def compound(self, conn, label, minor, ops, required=True):
        args = compound(label, minor, ops)
        d = conn.call(self.next_xid(), 1, args)
        comp = parse_compound_reply(d)
        show(conn, label, comp)
        if required and comp.status != NFS4_OK:
            self.failures.append("%s: %s" % (label, status_name(comp.status)))
        return comp

    def seq(self):
        self.slot_seq += 1
        return op_sequence(self.sessionid, self.slot_seq, 0, 0, False)

    def exchange_id(self, conn, label):
        body = (Enc().fixed(self.verifier).opaque(self.args.owner)
                .u32(0)                      # eia_flags
                .u32(0)                      # SP4_NONE
                .u32(1)                      # eia_client_impl_id<1>: one entry
                .opaque("trunkcheck.invalid").opaque("trunkcheck nfs41_probe")
                .i64(1700000000).u32(0))     # nii_date
        return self.compound(conn, label, 1, [op(OP_EXCHANGE_ID, body.bytes())])

    def run(self):
        a = self.args
        c1 = Conn("conn1", a.server, a.port, a.src1, self.cred, a.timeout)

        # NULL procedure (AUTH_NONE, empty body)
        c1.call(self.next_xid(), 0, b"", cred=AUTH_NONE_OPAQUE)
        log("[conn1] NULL: ok")

        comp = self.exchange_id(c1, "exchange_id")
        eid = comp.result(OP_EXCHANGE_ID)
        if eid is None:
            raise ProbeError("EXCHANGE_ID failed")
        clientid, eseq = eid["clientid"], eid["sequenceid"]

        cs = Enc().u64(clientid).u32(eseq).u32(0x2)     # CREATE_SESSION4_FLAG_CONN_BACK_CHAN
        channel_attrs(cs, 0, 1048576, 1048576, 4096, 8, 16)   # fore
        channel_attrs(cs, 0, 4096, 4096, 0, 2, 1)             # back
        cs.u32(CB_PROGRAM)
        cs.u32(1).u32(AUTH_NONE)                              # csa_sec_parms: AUTH_NONE
        comp = self.compound(c1, "create_session", 1, [op(OP_CREATE_SESSION, cs.bytes())])
        res = comp.result(OP_CREATE_SESSION)
        if res is None:
            raise ProbeError("CREATE_SESSION failed")
        self.sessionid = res["sessionid"]
        c1.cb_session = self.sessionid

        self.compound(c1, "sequence_getattr", 1,
                      [self.seq(), op(OP_PUTROOTFH), op_getattr(PROBE_ATTRS)])
        self.compound(c1, "reclaim_complete", 1,
                      [self.seq(), op(OP_RECLAIM_COMPLETE, Enc().boolean(False).bytes())])

        # ---- connection 2: trunk a second connection into the session
        c2 = Conn("conn2", a.server, a.port, a.src2, self.cred, a.timeout)
        bc = Enc().fixed(self.sessionid).u32(3).boolean(False)   # CDFC4_FORE_OR_BOTH
        self.compound(c2, "bind_conn_to_session", 1,
                      [op(OP_BIND_CONN_TO_SESSION, bc.bytes())])
        self.compound(c2, "sequence_getattr_conn2", 1,
                      [self.seq(), op(OP_PUTROOTFH), op_getattr(PROBE_ATTRS)])
        comp = self.exchange_id(c2, "exchange_id_trunk_probe")
        eid2 = comp.result(OP_EXCHANGE_ID)
        if eid2 is not None:
            same = (eid2["clientid"] == clientid and
                    eid2["so_major_id"] == eid["so_major_id"] and
                    eid2["server_scope"] == eid["server_scope"])
            log("[conn2] trunking probe: clientid %s, server owner/scope %s"
                % ("same" if eid2["clientid"] == clientid else "DIFFERENT",
                   "match" if same else "differ"))

        # ---- minorversion 2 on connection 1
        self.v42(c1)

        # ---- tear down
        self.compound(c1, "destroy_session", 1,
                      [op(OP_DESTROY_SESSION, Enc().fixed(self.sessionid).bytes())])
        self.compound(c1, "destroy_clientid", 1,
                      [op(OP_DESTROY_CLIENTID, Enc().u64(clientid).bytes())])
        c2.close()
        c1.close()
        self.clientid = clientid

    def v42(self, c):
        a = self.args
        self.compound(c, "v42_lookup_getattr", 2,
                      [self.seq(), op(OP_PUTROOTFH), op_lookup(a.export_name),
                       op_lookup(a.file), op_getattr([FATTR4_TYPE, FATTR4_CHANGE,
                                                      FATTR4_SIZE, FATTR4_FILEID])])
        owner = Enc().u64(0).opaque(b"trunkcheck-open-owner").bytes()
        ob = (Enc().u32(0)                    # seqid (ignored in 4.1+)
              .u32(0x0003 | 0x0400)           # SHARE_ACCESS_BOTH | WANT_NO_DELEG
              .u32(0)                         # SHARE_DENY_NONE
              .raw(owner)
              .u32(0)                         # OPEN4_NOCREATE
              .u32(0).opaque(a.file))         # CLAIM_NULL, file name
        comp = self.compound(c, "v42_open", 2,
                             [self.seq(), op(OP_PUTROOTFH), op_lookup(a.export_name),
                              op(OP_OPEN, ob.bytes()), op(OP_GETFH)])
        opened = comp.result(OP_OPEN)
        fh = comp.result(OP_GETFH)
        if opened is None or fh is None:
            return
        st = opened["stateid"]
        fh = fh["fh"]

        def sb(e):
            stateid_enc(e, st)
            return e

        self.compound(c, "v42_seek", 2,
                      [self.seq(), op_putfh(fh),
                       op(OP_SEEK, sb(Enc()).u64(0).u32(0).bytes()),      # DATA
                       op(OP_SEEK, sb(Enc()).u64(0).u32(1).bytes())],     # HOLE
                      required=False)
        self.compound(c, "v42_read_plus", 2,
                      [self.seq(), op_putfh(fh),
                       op(OP_READ_PLUS, sb(Enc()).u64(0).u32(8192).bytes())],
                      required=False)
        self.compound(c, "v42_allocate", 2,
                      [self.seq(), op_putfh(fh),
                       op(OP_ALLOCATE, sb(Enc()).u64(0).u64(65536).bytes())],
                      required=False)
        self.compound(c, "v42_close", 2,
                      [self.seq(), op_putfh(fh),
                       op(OP_CLOSE, sb(Enc().u32(0)).bytes())])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--server", default="127.0.0.2")
    p.add_argument("--port", type=int, default=2049)
    p.add_argument("--src1", default="127.0.0.1", help="source address of connection 1")
    p.add_argument("--src2", default="127.0.0.5", help="source address of connection 2")
    p.add_argument("--owner", default="trunkcheck-probe", help="co_ownerid")
    p.add_argument("--verifier", default="tcprobe1", help="co_verifier (8 bytes)")
    p.add_argument("--machine", default="trunkcheck-probe", help="AUTH_SYS machine name")
    p.add_argument("--uid", type=int, default=0)
    p.add_argument("--gid", type=int, default=0)
    p.add_argument("--export-name", default="export", help="pseudo-fs component of the export")
    p.add_argument("--file", default="sparse.bin", help="file in the export for the v4.2 ops")
    p.add_argument("--xid-base", type=lambda s: int(s, 0), default=0x7C000000)
    p.add_argument("--timeout", type=float, default=10.0)
    a = p.parse_args()
    probe = Probe(a)
    try:
        probe.run()
    except (ProbeError, OSError) as e:
        log("probe failed: %s" % e)
        return 2
    if probe.failures:
        log("FAILED: " + "; ".join(probe.failures))
        return 1
    log("all session operations returned NFS4_OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
