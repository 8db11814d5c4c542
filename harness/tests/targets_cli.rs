//! `trunkcheck targets`: the built-in profiles and checking target files.

mod common;

/// Runs `trunkcheck ARGS`: (exit status, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let out = common::trunkcheck()
        .args(args)
        .output()
        .expect("trunkcheck runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn targets_lists_every_builtin_profile_with_addresses_owner_and_scope() {
    let (code, out, _) = run(&["targets"]);
    assert_eq!(code, 0);
    for name in [
        "default",
        "two-addresses",
        "cluster",
        "unrelated",
        "liar",
        "restartable",
    ] {
        assert!(
            out.lines().any(|l| l.starts_with(&format!("{name} "))),
            "{name} listed:\n{out}"
        );
    }
    assert!(out.contains("127.0.0.2:2049, 127.0.0.3:2049"), "{out}");
    assert!(
        out.contains("owner \"trunkcheck-node-a\" scope \"trunkcheck-cluster\""),
        "{out}"
    );
}

#[test]
fn targets_check_accepts_a_good_file_and_rejects_a_bad_one_with_its_location() {
    let dir = std::env::temp_dir().join(format!("trunkcheck-targets-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let good = dir.join("good.yaml");
    std::fs::write(
        &good,
        "name: mine\nservers:\n  - name: s1\n    addresses: [127.0.0.2]\n    hooks:\n      restart: [systemctl, restart, nfs-ganesha]\n",
    )
    .expect("write");
    let (code, out, err) = run(&["targets", "--check", good.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("good.yaml: ok") && out.contains("server s1"),
        "{out}"
    );

    let bad = dir.join("bad.yaml");
    std::fs::write(
        &bad,
        "name: mine\nservers:\n  - name: s1\n    adresses: [127.0.0.2]\n",
    )
    .expect("write");
    let (code, _, err) = run(&["targets", "--check", bad.to_str().expect("utf-8")]);
    assert_eq!(code, 2);
    assert!(
        err.contains("bad.yaml:4:5: unknown field `adresses`"),
        "{err}"
    );

    let remote = dir.join("remote.yaml");
    std::fs::write(
        &remote,
        "name: far\nservers:\n  - name: s1\n    addresses: [192.0.2.7]\n",
    )
    .expect("write");
    let path = remote.to_str().expect("utf-8");
    let (code, _, err) = run(&["targets", "--check", path]);
    assert_eq!(code, 2);
    assert!(err.contains("--allow-remote"), "{err}");
    let (code, _, err) = run(&["targets", "--check", path, "--allow-remote"]);
    assert_eq!(code, 0, "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
