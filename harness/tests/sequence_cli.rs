//! `trunkcheck analyze --sequence`: the sequence diagram of a capture, on
//! real captures and on captures built here (huge, many connections,
//! hostile owner strings).

mod common;

#[path = "../../analyzer/examples/common/pcapgen.rs"]
mod pcapgen;

use common::{repo, trunkcheck};
use pcapgen::{nfs_call_record, nfs_reply_record, record, rpc_call, rpc_reply, words};
use pcapgen::{PcapWriter, TcpConn, NFS_PROGRAM};
use std::io::BufWriter;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::{Path, PathBuf};

/// A directory of one test's files, removed when the test ends.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("trunkcheck-seq-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Draws `capture` into `svg`; the exit status and the picture.
fn draw(capture: &Path, svg: &Path) -> (i32, String) {
    let out = trunkcheck()
        .args(["analyze", "--sequence"])
        .arg(svg)
        .arg(capture)
        .output()
        .expect("run trunkcheck");
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (code, std::fs::read_to_string(svg).expect("the picture"))
}

/// Arrows drawn (one `<line>` per message).
fn arrows(svg: &str) -> usize {
    svg.matches("class=\"call").count() + svg.matches("class=\"reply").count()
}

/// Every `<` opens or closes one of the elements the diagram writes: no
/// markup came from the capture.
fn only_own_elements(svg: &str) {
    const OWN: [&str; 9] = [
        "svg", "title", "style", "rect", "text", "tspan", "line", "path", "g",
    ];
    for (i, _) in svg.match_indices('<') {
        let rest = svg[i + 1..].trim_start_matches('/');
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        assert!(OWN.contains(&name.as_str()), "unexpected <{name} at {i}");
    }
}

#[test]
fn the_two_address_capture_has_a_lifeline_per_connection_and_address() {
    let tmp = Scratch::new("two-addresses");
    let svg_path = tmp.path("two-addresses.svg");
    let (code, svg) = draw(
        &repo().join("captures/suite-one-server-two-addresses.pcap"),
        &svg_path,
    );
    assert_eq!(code, 1, "Ganesha 4.3 gives the owner two client IDs");
    // Two client connections, two server addresses: four lifelines.
    assert_eq!(svg.matches("class=\"life\"").count(), 4);
    assert!(svg.contains(">127.0.0.2:2049<") && svg.contains(">127.0.0.3:2049<"));
    // Five calls, five replies.
    assert_eq!(svg.matches("class=\"call").count(), 5);
    assert_eq!(svg.matches("class=\"reply").count(), 5);
    assert!(svg.contains("EXCHANGE_ID[owner="));
    assert!(svg.contains("NFS4_OK"));
    // The finding's frames are red: the two EXCHANGE_ID replies that
    // differ, the second call, and the use of the first client ID (9, 13,
    // 15, 18).
    assert!(svg.contains("[1] trunk.same-clientid"));
    assert_eq!(svg.matches("class=\"mark\"").count(), 4);
    assert_eq!(svg.matches("class=\"reply red\"").count(), 3);
    only_own_elements(&svg);
}

#[test]
fn findings_are_marked_red_on_their_frames() {
    let tmp = Scratch::new("findings");
    let svg_path = tmp.path("bcts-refused.svg");
    let (code, svg) = draw(
        &repo().join("captures/precision/check-bcts-same-address-refused.pcap"),
        &svg_path,
    );
    assert_eq!(code, 1, "a violation");
    assert!(svg.contains("Passive findings (1):"));
    assert!(svg.contains("[1] bcts.same-address [violation server"));
    // The refused BIND_CONN_TO_SESSION (call and reply) and two uses of the
    // session around it: four rows marked, each with its note.
    assert_eq!(svg.matches("class=\"mark\"").count(), 4);
    assert_eq!(svg.matches("✗ [1] bcts.same-address").count(), 4);
    assert_eq!(svg.matches("class=\"call red\"").count(), 2);
    assert_eq!(svg.matches("class=\"reply red\"").count(), 2);
}

#[test]
fn a_capture_of_100k_messages_gives_a_bounded_picture_that_says_so() {
    let tmp = Scratch::new("huge");
    let pcap = tmp.path("huge.pcap");
    let mut w = PcapWriter::new(BufWriter::new(
        std::fs::File::create(&pcap).expect("create"),
    ))
    .expect("header");
    let mut c = TcpConn::new(pcapgen::client_addr(1), pcapgen::server_addr(), 1);
    let mut t = 0;
    for f in c.handshake() {
        t += 10;
        w.frame(t, &f).expect("write");
    }
    for xid in 0..50_000u32 {
        t += 10;
        w.frame(t, &c.client_sends(&nfs_call_record(xid, true)))
            .expect("write");
        t += 10;
        w.frame(t, &c.server_sends(&nfs_reply_record(xid, true)))
            .expect("write");
    }
    drop(w);
    let svg_path = tmp.path("huge.svg");
    let (_, svg) = draw(&pcap, &svg_path);
    assert!(svg.len() < 2_000_000, "{} bytes", svg.len());
    assert_eq!(arrows(&svg), 2000);
    assert!(svg.contains("100000 NFSv4 messages, 2000 drawn"));
    assert!(svg.contains("Only the first 2000 messages are drawn"));
    assert!(svg.contains("98000 more messages not drawn"));
}

#[test]
fn lifelines_are_capped_and_the_picture_says_how_much_was_left_out() {
    let tmp = Scratch::new("many-conns");
    let pcap = tmp.path("many-conns.pcap");
    let mut w = PcapWriter::new(BufWriter::new(
        std::fs::File::create(&pcap).expect("create"),
    ))
    .expect("header");
    let mut t = 0;
    for n in 0..40u32 {
        let mut c = TcpConn::new(pcapgen::client_addr(n), pcapgen::server_addr(), n);
        for f in c.handshake() {
            t += 10;
            w.frame(t, &f).expect("write");
        }
        t += 10;
        w.frame(t, &c.client_sends(&nfs_call_record(n, false)))
            .expect("write");
        t += 10;
        w.frame(t, &c.server_sends(&nfs_reply_record(n, false)))
            .expect("write");
    }
    drop(w);
    let (_, svg) = draw(&pcap, &tmp.path("many-conns.svg"));
    // 24 client connections and the one server address.
    assert_eq!(svg.matches("class=\"life\"").count(), 25);
    assert_eq!(arrows(&svg), 48);
    assert!(
        svg.contains("32 messages on connections beyond the first 24 client connections"),
        "the cap is said"
    );
}

/// An EXCHANGE_ID call whose owner is `owner`, and its reply refused.
fn exchange_id(xid: u32, owner: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut args = Vec::new();
    // tag, minor version 1, one operation: EXCHANGE_ID (42)
    words(&mut args, &[0, 1, 1, 42]);
    args.extend_from_slice(&[7; 8]); // co_verifier
    words(&mut args, &[owner.len() as u32]);
    args.extend_from_slice(owner);
    args.resize(args.len() + (4 - owner.len() % 4) % 4, 0);
    words(&mut args, &[0, 0, 0]); // flags, SP4_NONE, no implementation id
    let mut res = Vec::new();
    // NFS4ERR_CLID_INUSE, tag, one result: EXCHANGE_ID refused
    words(&mut res, &[10017, 0, 1, 42, 10017]);
    (
        record(&rpc_call(xid, NFS_PROGRAM, 4, 1, &args)),
        record(&rpc_reply(xid, &res)),
    )
}

#[test]
fn owner_strings_cannot_put_markup_into_the_picture() {
    let tmp = Scratch::new("hostile");
    let pcap = tmp.path("hostile.pcap");
    let mut w = PcapWriter::new(BufWriter::new(
        std::fs::File::create(&pcap).expect("create"),
    ))
    .expect("header");
    let client = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 9), 700);
    let mut c = TcpConn::new(client, pcapgen::server_addr(), 1);
    let mut t = 0;
    for f in c.handshake() {
        t += 10;
        w.frame(t, &f).expect("write");
    }
    let owner = b"</text><script>alert('x')</script><a href=\"&amp;\">\x01\xff";
    let (call, reply) = exchange_id(1, owner);
    w.frame(t + 10, &c.client_sends(&call)).expect("write");
    w.frame(t + 20, &c.server_sends(&reply)).expect("write");
    drop(w);
    let (_, svg) = draw(&pcap, &tmp.path("hostile.svg"));
    assert_eq!(arrows(&svg), 2);
    only_own_elements(&svg);
    assert!(svg.contains("&lt;/text&gt;&lt;script&gt;alert(&#39;x&#39;)"));
    assert!(svg.contains("NFS4ERR_CLID_INUSE"));
    // The owner's raw bytes are shown escaped as `decode` shows them.
    assert!(svg.contains("\\x01\\xff"));
}
