//! `trunkcheck run` as a user runs it from anywhere: suites found from the
//! binary's install or `--suites DIR` (no path compiled in), reports that
//! name suite files relative to their directory's parent, JUnit classes
//! named by suite area, and skips that print as skipped. A fake NFS server
//! (it answers NULL only) stands in for the target: every scenario chosen
//! here is skipped before it would talk to it.

mod common;

use common::{null_reply, repo, trunkcheck};
use std::io::{Read, Write};
use std::net::TcpListener;

/// A fake server answering NFS NULL calls (the readiness probe).
fn null_server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let mut call = [0u8; 44];
            if s.read_exact(&mut call).is_ok() {
                let _ = s.write_all(&null_reply(&call));
            }
        }
    });
    port
}

#[test]
fn reports_name_suites_by_their_directory_and_skips_print_as_skipped() {
    let port = null_server();
    let dir = std::env::temp_dir().join(format!("trunkcheck-runcli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let target = dir.join("one.yaml");
    std::fs::write(
        &target,
        format!("name: one\nservers:\n  - name: a\n    addresses: [\"127.0.0.1:{port}\"]\n"),
    )
    .expect("target");
    let (json, junit) = (dir.join("r.json"), dir.join("r.xml"));
    // From a directory without suites/, naming the suite directory.
    let out = trunkcheck()
        .current_dir(&dir)
        .args(["run", "--no-passive", "--no-grace-wait", "--target"])
        .arg(&target)
        .arg("--suites")
        .arg(repo().join("suites"))
        .args(["FAIL-PEER-01", "--json"])
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .output()
        .expect("runs");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap_or_default())
            .unwrap_or_default();
    let xml = std::fs::read_to_string(&junit).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let sc = &doc["scenarios"][0];
    assert_eq!(sc["id"], "FAIL-PEER-01", "{doc}");
    assert_eq!(sc["outcome"], "skipped");
    assert_eq!(sc["file"], "suites/failover.yaml", "repo-relative: {doc}");
    assert!(
        text.contains("FAIL-PEER-01 ... ignored (skipped: the target has no servers"),
        "{text}"
    );
    assert!(text.contains("0 known failures, 1 skipped"), "{text}");
    assert!(
        xml.contains(r#"<testsuite name="suites/failover.yaml""#)
            && xml
                .contains(r#"name="FAIL-PEER-01" classname="Failover between servers (NFSv4.1)""#),
        "{xml}"
    );
}

#[test]
fn without_a_suite_directory_the_binary_says_where_it_looked() {
    // A copy of the binary far from any source tree, run where there are
    // no suites: no path compiled into it is used.
    let dir = std::env::temp_dir().join(format!("trunkcheck-nosuites-{}", std::process::id()));
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("dir");
    let exe = bin.join("trunkcheck");
    std::fs::copy(env!("CARGO_BIN_EXE_trunkcheck"), &exe).expect("copy");
    let out = std::process::Command::new(&exe)
        .current_dir(&dir)
        .args(["run", "--list"])
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("no suite directory found") && err.contains("--suites"),
        "{err}"
    );
    // Installed as BIN/trunkcheck beside share/trunkcheck/suites: found.
    let share = dir.join("share/trunkcheck/suites");
    std::fs::create_dir_all(&share).expect("dir");
    std::fs::copy(repo().join("suites/v40.yaml"), share.join("v40.yaml")).expect("copy");
    let out = std::process::Command::new(&exe)
        .current_dir(&dir)
        .args(["run", "--list"])
        .output()
        .expect("runs");
    let _ = std::fs::remove_dir_all(&dir);
    let listed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success() && listed.contains("V40-"), "{listed}");
}
