#!/usr/bin/env python3
"""Presents one client (one owner, one verifier) to two server addresses.

For each address: EXCHANGE_ID, CREATE_SESSION, SEQUENCE+RECLAIM_COMPLETE,
and nothing is destroyed, so both client IDs stay live. Against two
independent servers that declare the same server owner and scope, the two
client IDs differ: the capture shows servers claiming to be one server
without sharing client IDs (RFC 8881 §2.10.5).

Usage: two_servers_probe.py --server-a 127.0.0.2 --server-b 127.0.0.3
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nfs41_probe as p  # noqa: E402


def establish(probe, server, label):
    c = p.Conn(label, server, probe.args.port, probe.args.src1, probe.cred, probe.args.timeout)
    comp = probe.exchange_id(c, label + "_exchange_id")
    eid = comp.result(p.OP_EXCHANGE_ID)
    if eid is None:
        raise p.ProbeError("EXCHANGE_ID failed at " + server)
    cs = p.Enc().u64(eid["clientid"]).u32(eid["sequenceid"]).u32(0)
    p.channel_attrs(cs, 0, 1048576, 1048576, 4096, 8, 16)
    p.channel_attrs(cs, 0, 4096, 4096, 0, 2, 1)
    cs.u32(p.CB_PROGRAM).u32(1).u32(p.AUTH_NONE)
    comp = probe.compound(c, label + "_create_session", 1, [p.op(p.OP_CREATE_SESSION, cs.bytes())])
    res = comp.result(p.OP_CREATE_SESSION)
    if res is None:
        raise p.ProbeError("CREATE_SESSION failed at " + server)
    probe.sessionid = res["sessionid"]
    probe.slot_seq = 0
    probe.compound(c, label + "_reclaim_complete", 1,
                   [probe.seq(), p.op(p.OP_RECLAIM_COMPLETE, p.Enc().boolean(False).bytes())])
    return c, eid["clientid"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server-a", default="127.0.0.2")
    ap.add_argument("--server-b", default="127.0.0.3")
    ap.add_argument("--port", type=int, default=2049)
    ap.add_argument("--src1", default="127.0.0.1")
    ap.add_argument("--owner", default="trunkcheck-two-servers")
    ap.add_argument("--verifier", default="tc2srv01")
    ap.add_argument("--machine", default="trunkcheck-probe")
    ap.add_argument("--uid", type=int, default=0)
    ap.add_argument("--gid", type=int, default=0)
    ap.add_argument("--xid-base", type=lambda s: int(s, 0), default=0x7D000000)
    ap.add_argument("--timeout", type=float, default=10.0)
    args = ap.parse_args()
    probe = p.Probe(args)
    conns = []
    ids = []
    for server, label in ((args.server_a, "a"), (args.server_b, "b")):
        c, clientid = establish(probe, server, label)
        conns.append(c)
        ids.append(clientid)
    for c in conns:
        c.close()
    print("client IDs: a=0x%016x b=0x%016x" % tuple(ids))
    return 1 if probe.failures else 0


if __name__ == "__main__":
    sys.exit(main())
