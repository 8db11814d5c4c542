//! `trunkcheck run` against servers that misbehave in ways a real server
//! cannot be made to: one never answers, one resets the connection in the
//! middle of a reply. A tiny in-process fake peer plays them (only for
//! these faults). Each trial must fail with a clear message within the
//! configured timeout, and the run must go on to the next trial.

mod common;

use common::{null_reply, trunkcheck};

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

/// Accepts connections forever; `answer` decides what each one gets.
fn fake_server(answer: fn(TcpStream)) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || answer(s));
        }
    });
    port
}

/// Answers `call` when it is an NFS NULL call (the harness's readiness
/// probe: a fake peer must look like an NFS server to be tested at all).
fn answered_null(s: &mut TcpStream, call: &[u8]) -> bool {
    let word = |i: usize| {
        call.get(i..i + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    if word(16) != Some(100_003) || word(24) != Some(0) {
        return false;
    }
    let _ = s.write_all(&null_reply(call));
    true
}

/// Reads and never replies (except to NULL).
fn silent(mut s: TcpStream) {
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = s.read(&mut buf) {
        answered_null(&mut s, &buf[..n]);
    }
}

/// Reads one call, sends the start of a record, then resets (a NULL call
/// is answered).
fn reset_mid_record(mut s: TcpStream) {
    let mut buf = [0u8; 4096];
    let mut n = 0;
    while let Ok(got @ 1..) = s.read(&mut buf) {
        if !answered_null(&mut s, &buf[..got]) {
            n = got;
            break;
        }
    }
    if n > 0 {
        // A record mark announcing 200 bytes, then only 8 of them.
        let _ = s.write_all(&[0x80, 0, 0, 200, 0, 0, 0, 1, 0, 0, 0, 1]);
        // SO_LINGER 0: closing sends a reset, not a FIN.
        let _ = socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO));
    }
}

const SUITE: &str = r#"
area: hostile servers
scenarios:
  - id: HOST-SILENT-01
    title: a server that never answers
    rfc: ["RFC 5531"]
    steps:
      - connect: {as: c1, to: a}
      - exchange_id: {owner: o1}
  - id: HOST-RESET-01
    title: a server that resets mid-record
    rfc: ["RFC 5531"]
    requires: {servers: {a: {}, b: {relation: other, of: a}}}
    steps:
      - connect: {as: c1, to: b}
      - exchange_id: {owner: o1}
"#;

#[test]
fn hostile_servers_fail_their_trials_in_time_and_the_run_goes_on() {
    let silent_port = fake_server(silent);
    let reset_port = fake_server(reset_mid_record);
    let dir = std::env::temp_dir().join(format!("trunkcheck-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let target = dir.join("target.yaml");
    std::fs::write(
        &target,
        format!(
            "name: hostile\ndescription: fake peers\nservers:\n  - name: a\n    addresses: [\"127.0.0.1:{silent_port}\"]\n    export: /\n  - name: b\n    addresses: [\"127.0.0.1:{reset_port}\"]\n    export: /\n"
        ),
    )
    .expect("target");
    let suite = dir.join("hostile.yaml");
    std::fs::write(&suite, SUITE).expect("suite");
    let json = dir.join("out.json");
    let t0 = Instant::now();
    let out = trunkcheck()
        .args([
            "run",
            "--no-passive",
            "--reply-timeout",
            "1",
            "--test-threads",
            "1",
            "--target",
        ])
        .arg(&target)
        .arg(&suite)
        .arg("--json")
        .arg(&json)
        .output()
        .expect("trunkcheck runs");
    let took = t0.elapsed();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap_or_default())
            .unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(1), "{text}");
    // A hang guard, not a speed test: 1 s timeouts, two trials.
    assert!(took < Duration::from_secs(60), "took {took:?}\n{text}");
    let by_id = |id: &str| {
        doc["scenarios"]
            .as_array()
            .and_then(|a| a.iter().find(|s| s["id"] == id))
            .cloned()
            .unwrap_or_default()
    };
    let silent = by_id("HOST-SILENT-01");
    let reset = by_id("HOST-RESET-01");
    assert_eq!(silent["outcome"], "failed", "{text}");
    assert_eq!(reset["outcome"], "failed", "both trials ran: {text}");
    let m1 = silent["message"].as_str().unwrap_or("");
    let m2 = reset["message"].as_str().unwrap_or("");
    assert!(
        m1.contains("step 2 (exchange_id)") && m1.contains("no usable reply"),
        "{m1}"
    );
    assert!(
        m1.contains("no reply") && m1.contains("within 1s"),
        "names the timeout: {m1}"
    );
    assert!(
        m2.contains("step 2 (exchange_id)") && m2.contains("no usable reply"),
        "{m2}"
    );
    assert!(Path::new(env!("CARGO_BIN_EXE_trunkcheck")).exists());
}
