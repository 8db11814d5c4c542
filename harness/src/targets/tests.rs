use super::*;
use crate::action::Action;

#[test]
fn every_builtin_profile_parses_and_is_local() {
    let names = Target::builtin_names();
    assert_eq!(names[0], "default");
    for name in names {
        let t = Target::builtin(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(t.name, name);
        if t.launch == Launch::Knfsd {
            continue;
        }
        assert_eq!(t.launch, Launch::Ganesha);
        assert!(!t.description.is_empty(), "{name} has a description");
        assert!(
            t.client_addresses.len() >= 2,
            "{name}: two client addresses"
        );
        for s in &t.servers {
            let g = s.ganesha.as_ref().expect("ganesha block");
            assert!(
                g.lease <= 10 && g.grace <= 15,
                "{name}: short lease and grace"
            );
            assert!(s
                .addresses
                .iter()
                .all(|a| is_loopback(a.ip()) && a.port() == NFS_PORT));
        }
    }
}

#[test]
fn the_default_profile_is_one_server_on_two_addresses_plus_a_cluster_peer() {
    let t = Target::builtin("default").expect("default");
    let a = t.server("a").expect("a");
    let b = t.server("b").expect("b");
    assert_eq!(a.addresses.len(), 2);
    assert_eq!(b.addresses.len(), 1);
    let (ga, gb) = (
        a.ganesha.as_ref().expect("a"),
        b.ganesha.as_ref().expect("b"),
    );
    assert_eq!(ga.server_scope, gb.server_scope);
    assert_ne!(ga.server_owner, gb.server_owner);
    assert_eq!(ga.recovery, gb.recovery, "shared recovery root");
    assert_eq!(ga.data, gb.data, "shared export directory");
    assert_ne!(ga.node_id, gb.node_id);
    assert_eq!(t.same_scope, vec![vec!["a".to_string(), "b".to_string()]]);
}

#[test]
fn the_liar_profile_claims_one_identity_without_shared_state() {
    let t = Target::builtin("liar").expect("liar");
    let (a, b) = (&t.servers[0], &t.servers[1]);
    let (ga, gb) = (
        a.ganesha.as_ref().expect("a"),
        b.ganesha.as_ref().expect("b"),
    );
    assert_eq!(
        (&ga.server_owner, &ga.server_scope),
        (&gb.server_owner, &gb.server_scope)
    );
    assert_ne!(ga.recovery, gb.recovery);
    assert_ne!(ga.data, gb.data);
}

#[test]
fn unknown_builtin_names_the_known_ones() {
    let e = Target::builtin("nope").expect_err("unknown");
    assert!(e.to_string().contains("default"), "{e}");
}

const EXTERNAL: &str = "\
name: lab-nodes
description: two nodes
servers:
  - name: node1
    addresses: [127.0.0.2, \"127.0.0.3:2050\"]
    export: /data
    hooks:
      restart: [ssh, node1, systemctl, restart, nfs-ganesha]
  - name: node2
    addresses: [127.0.0.4]
same_scope: [[node1, node2]]
";

#[test]
fn an_external_target_with_hooks_parses() {
    let t = Target::parse(EXTERNAL, "t.yaml", false).expect("parses");
    assert_eq!(t.launch, Launch::External);
    let n1 = t.server("node1").expect("node1");
    assert_eq!(n1.addresses[1], "127.0.0.3:2050".parse().expect("addr"));
    assert_eq!(n1.addresses[0].port(), 2049);
    assert_eq!(n1.export, "/data");
    assert_eq!(
        n1.hooks.get(&Action::Restart).map(|a| a.join(" ")),
        Some("ssh node1 systemctl restart nfs-ganesha".to_string())
    );
    assert!(t.supports("node1", &Action::Restart).is_ok());
    let no = t
        .supports("node1", &Action::Crash)
        .expect_err("no crash hook");
    assert_eq!(
        no.to_string(),
        "target lab-nodes has no `crash` hook for server node1"
    );
    assert!(t.supports("node2", &Action::Restart).is_err());
    assert_eq!(t.server("node2").expect("node2").export, "/export");
}

#[test]
fn malformed_yaml_is_rejected_with_file_line_and_column() {
    let text = "name: x\nservers:\n  - name: a\n    addresses: [127.0.0.2\n";
    let e = Target::parse(text, "bad.yaml", false).expect_err("malformed");
    let TargetError::Syntax {
        origin,
        line,
        column,
        ..
    } = &e
    else {
        panic!("syntax error expected, got {e}")
    };
    assert_eq!(origin, "bad.yaml");
    assert!(*line >= 4 && *column > 0, "{e}");
    assert!(e.to_string().starts_with("bad.yaml:"), "{e}");
}

#[test]
fn unknown_keys_are_rejected_with_their_location() {
    let text =
        "name: x\nservers:\n  - name: a\n    addresses: [127.0.0.2]\n    adresses: [127.0.0.3]\n";
    let e = Target::parse(text, "typo.yaml", false).expect_err("unknown key");
    let TargetError::Syntax { line, message, .. } = &e else {
        panic!("syntax error expected, got {e}")
    };
    assert_eq!(*line, 5, "{e}");
    assert!(message.contains("adresses"), "{e}");
    let text = "name: x\nservers: []\nlaunch: gnesha\n";
    let e = Target::parse(text, "l.yaml", false).expect_err("bad launch");
    assert!(matches!(e, TargetError::Syntax { line: 3, .. }), "{e}");
}

#[test]
fn remote_addresses_need_the_explicit_flag() {
    let text = "name: far\nservers:\n  - name: a\n    addresses: [192.0.2.10]\n";
    let e = Target::parse(text, "far.yaml", false).expect_err("remote refused");
    assert!(matches!(e, TargetError::Remote { .. }), "{e}");
    assert!(e.to_string().contains("--allow-remote"), "{e}");
    assert!(Target::parse(text, "far.yaml", true).is_ok());
    let text = "name: far\nclient_addresses: [10.0.0.1]\nservers:\n  - name: a\n    addresses: [\"::1\"]\n";
    let e = Target::parse(text, "far.yaml", false).expect_err("remote client refused");
    assert!(matches!(e, TargetError::Remote { .. }), "{e}");
}

#[test]
fn invalid_targets_name_the_server_and_field() {
    let cases = [
        ("name: x\nservers:\n  - name: a\n    addresses: [127.0.0.2]\n  - name: a\n    addresses: [127.0.0.3]\n", "two servers have this name"),
        ("name: x\nservers:\n  - name: a\n    addresses: [not-an-ip]\n", "not an IP address"),
        ("name: x\nservers:\n  - name: a\n    addresses: [127.0.0.2]\n  - name: b\n    addresses: [127.0.0.2]\n", "already an address"),
        ("name: x\nservers:\n  - name: a\n    addresses: [127.0.0.2]\n    hooks:\n      restart: []\n", "non-empty argv"),
        ("name: x\nsame_scope: [[a, zz]]\nservers:\n  - name: a\n    addresses: [127.0.0.2]\n", "\"zz\" is not a server"),
        ("name: x\nlaunch: ganesha\nservers:\n  - name: a\n    addresses: [127.0.0.2]\n", "needs a `ganesha:` block"),
        ("name: x\nlaunch: ganesha\nservers:\n  - name: a\n    addresses: [127.0.0.2]\n    ganesha: {server_owner: 'o\"; X', server_scope: s, node_id: 1}\n", "ganesha.server_owner"),
        ("name: x\nlaunch: ganesha\nservers:\n  - name: a\n    addresses: [127.0.0.2]\n    ganesha: {server_owner: o, server_scope: s, node_id: 1, lease: 0}\n", "ganesha.lease"),
        ("name: x\nlaunch: ganesha\nservers:\n  - name: a\n    addresses: [127.0.0.2, \"127.0.0.3:2050\"]\n    ganesha: {server_owner: o, server_scope: s, node_id: 1}\n", "same port"),
        ("name: x\nlaunch: ganesha\nservers:\n  - name: a\n    addresses: [127.0.0.2]\n    ganesha: {server_owner: o, server_scope: s, node_id: 1, recovery: ../etc}\n", "ganesha.recovery"),
        ("name: x\nlaunch: ganesha\nservers:\n  - name: a\n    addresses: [127.0.0.2]\n    ganesha: {server_owner: o, server_scope: s, node_id: 1, recovery: r}\n  - name: b\n    addresses: [127.0.0.3]\n    ganesha: {server_owner: o, server_scope: s, node_id: 1, recovery: r}\n", "node id 1"),
        ("name: x\nservers:\n  - name: a\n    addresses: [127.0.0.2]\n    export: \"/a b\"\n", "export"),
        ("name: x\nservers:\n  - name: a\n    addresses: [127.0.0.2]\n    hooks:\n      restart: [ssh, \"${host}\"]\n", "unknown variable ${host}"),
        ("name: x\nhooks:\n  restart: [x, \"${peer}\"]\nservers:\n  - name: a\n    addresses: [127.0.0.2]\n", "only known to a failover hook"),
        ("name: x\nservers:\n  - name: a\n    addresses: [127.0.0.2]\n    hooks:\n      stop: [x, \"$HOME\"]\n", "`$$` (a `$`)"),
        ("name: x\nservers:\n  - name: a\n    addresses: [127.0.0.2]\n    capture: [\"eth0; rm\"]\n", "not an interface name"),
        ("name: x\nlaunch: ganesha\ncapture: [lo]\nservers:\n  - name: a\n    addresses: [127.0.0.2]\n    ganesha: {server_owner: o, server_scope: s, node_id: 1}\n", "remove `hooks:` and `capture:`"),
    ];
    for (text, want) in cases {
        let e = Target::parse(text, "x.yaml", false).expect_err(want);
        assert!(e.to_string().contains(want), "want {want:?} in: {e}");
        assert!(e.to_string().starts_with("x.yaml"), "{e}");
    }
}

#[test]
fn load_names_a_missing_file() {
    let e = Target::load(Path::new("/nonexistent/t.yaml")).expect_err("missing");
    assert!(e.to_string().contains("/nonexistent/t.yaml"), "{e}");
}

#[test]
fn target_hooks_serve_every_server_and_captures_are_per_server() {
    let text = "\
name: filers
capture: [eth1]
hooks:
  restart: [ssh, \"root@${address}\", systemctl, restart, nfs-server]
  crash: [/opt/crash, \"${server}\"]
servers:
  - name: a
    addresses: [127.0.0.2]
    capture: [tap0, tap1]
    hooks:
      crash: [/opt/crash-a]
  - name: b
    addresses: [127.0.0.3]
";
    let t = Target::parse(text, "f.yaml", false).expect("parses");
    let (a, b) = (t.server("a").expect("a"), t.server("b").expect("b"));
    assert_eq!(t.capture, ["eth1"]);
    assert_eq!(a.capture, ["tap0", "tap1"]);
    assert!(b.capture.is_empty(), "b uses the target's");
    assert_eq!(
        a.hooks.crash.as_deref(),
        Some(&["/opt/crash-a".to_string()][..])
    );
    assert_eq!(
        b.hooks.crash.as_deref().map(|c| c.join(" ")).as_deref(),
        Some("/opt/crash ${server}")
    );
    assert!(a.hooks.restart.is_some() && b.hooks.restart.is_some());
    assert!(t.supports("b", &Action::Restart).is_ok());
    assert!(t.supports("b", &Action::Stop).is_err());
    assert_eq!(
        hook_arg_parts("root@${address}:$$x").expect("parts"),
        [
            HookPart::Text("root@"),
            HookPart::Var("address"),
            HookPart::Text(":"),
            HookPart::Text("$"),
            HookPart::Text("x"),
        ]
    );
}

#[test]
fn a_target_file_knows_its_directory() {
    let dir = std::env::temp_dir().join(format!("trunkcheck-tdir-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("t.yaml");
    std::fs::write(&file, EXTERNAL).expect("write");
    let t = Target::load(&file).expect("loads");
    assert_eq!(t.dir.as_deref(), dir.canonicalize().ok().as_deref());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_knfsd_profile_is_one_server_on_two_nics_and_an_unrelated_one() {
    let t = Target::builtin("knfsd").expect("knfsd");
    assert_eq!(t.launch, Launch::Knfsd);
    let (a, c) = (t.server("a").expect("a"), t.server("c").expect("c"));
    assert_eq!((a.addresses.len(), c.addresses.len()), (2, 1));
    let (ka, kc) = (a.knfsd.as_ref().expect("a"), c.knfsd.as_ref().expect("c"));
    assert_ne!(ka.hostname, kc.hostname, "two identities");
    assert!(t.same_scope.is_empty(), "knfsd cannot be a same-scope peer");
    assert!(t.supports("a", &Action::Crash).is_ok());
    assert!(t.supports("a", &Action::CutLink).is_ok());
    assert!(t
        .supports("a", &Action::Failover { to: "c".into() })
        .is_err());
    assert!(
        t.ready_timeout >= Duration::from_secs(60),
        "guests boot slowly"
    );
    // One referral each way: c's leads to a, listed with both its addresses.
    let to = |s: &ServerSpec| s.referrals.iter().map(|r| r.to.clone()).collect::<Vec<_>>();
    assert_eq!(
        (to(a), to(c)),
        (vec!["c".to_string()], vec!["a".to_string()])
    );
}

#[test]
fn referrals_name_a_path_and_another_server() {
    let target = |launch: &str, block: &str, refs: &str| {
        format!(
            "name: r\n{launch}servers:\n  - name: a\n    addresses: [10.99.1.2]\n{block}    referrals: {refs}\n  - name: c\n    addresses: [10.99.3.2]\n{}",
            block.replace("h}", "h2}")
        )
    };
    let knfsd = |refs: &str| target("launch: knfsd\n", "    knfsd: {hostname: h}\n", refs);
    let t = Target::parse(
        &knfsd("[{path: ref-c, to: c}, {path: d/ref, to: c}]"),
        "r.yaml",
        false,
    )
    .expect("parses");
    assert_eq!(
        t.servers[0].referrals,
        vec![
            Referral {
                path: "ref-c".into(),
                to: "c".into()
            },
            Referral {
                path: "d/ref".into(),
                to: "c".into()
            },
        ]
    );
    let cases = [
        ("[{path: ref, to: a}]", "referrals 1, to", "is this server"),
        (
            "[{path: ref, to: z}]",
            "referrals 1, to",
            "not a server of this target (a, c)",
        ),
        (
            "[{path: /ref, to: c}]",
            "referrals 1, path",
            "relative path",
        ),
        (
            "[{path: x/../y, to: c}]",
            "referrals 1, path",
            "relative path",
        ),
        (
            "[{path: r, to: c}, {path: r, to: c}]",
            "referrals 2, path",
            "two referrals",
        ),
        ("[{path: r, to: c, fsid: 3}]", "", "unknown field"),
    ];
    for (refs, field, want) in cases {
        let e = Target::parse(&knfsd(refs), "r.yaml", false).expect_err(want);
        let text = e.to_string();
        assert!(
            text.contains(field) && text.contains(want),
            "want {field:?}, {want:?} in: {text}"
        );
    }
    // Ganesha's launcher makes none; an external target asserts its own.
    let ganesha = "name: g\nlaunch: ganesha\nservers:\n  - name: a\n    addresses: [127.0.0.2]\n    ganesha: {server_owner: o, server_scope: s, node_id: 1}\n    referrals: [{path: ref, to: c}]\n";
    let e = Target::parse(ganesha, "g.yaml", false).expect_err("ganesha");
    assert!(e.to_string().contains("makes no referrals"), "{e}");
    let external = target("", "", "[{path: ref, to: c}]");
    let t = Target::parse(&external, "e.yaml", true).expect("external");
    assert_eq!(t.servers[0].referrals.len(), 1);
}

#[test]
fn knfsd_targets_are_checked() {
    let head = "name: k\nlaunch: knfsd\nservers:\n  - name: a\n";
    let cases = [
        (
            "    addresses: [127.0.0.2]\n    knfsd: {hostname: h}\n",
            "10.0.0.0/8",
        ),
        (
            "    addresses: [10.100.0.5]\n    knfsd: {hostname: h}\n",
            "the lab's own",
        ),
        (
            "    addresses: [\"10.99.1.2:2050\"]\n    knfsd: {hostname: h}\n",
            "port 2049",
        ),
        (
            "    addresses: [10.99.1.2]\n    knfsd: {hostname: h, lease: 5}\n",
            "knfsd.lease",
        ),
        (
            "    addresses: [10.99.1.2]\n    knfsd: {hostname: \"a b\"}\n",
            "knfsd.hostname",
        ),
        ("    addresses: [10.99.1.2]\n", "needs a `knfsd:` block"),
        (
            "    addresses: [10.99.1.2]\n    knfsd: {hostname: h}\n    hooks: {restart: [x]}\n",
            "remove `hooks:`",
        ),
    ];
    for (server, want) in cases {
        let e = Target::parse(&format!("{head}{server}"), "k.yaml", false).expect_err(want);
        assert!(e.to_string().contains(want), "want {want:?} in: {e}");
    }
    let e = Target::parse(
        "name: x\nservers:\n  - name: a\n    addresses: [127.0.0.2]\n    knfsd: {hostname: h}\n",
        "x.yaml",
        false,
    )
    .expect_err("knfsd block without launch");
    assert!(e.to_string().contains("needs `launch: knfsd`"), "{e}");
    // Guest addresses need no --allow-remote: they live in the lab's namespace.
    let ok = format!("{head}    addresses: [10.99.1.2, 10.99.2.2]\n    knfsd: {{hostname: h}}\n");
    let t = Target::parse(&ok, "k.yaml", false).expect("parses");
    assert_eq!(
        t.servers[0].knfsd.as_ref().map(|k| (k.lease, k.grace)),
        Some((10, 10))
    );
}

#[test]
fn the_readme_examples_are_valid_target_files() {
    let readme = include_str!("../../../suites/targets/README.md");
    let blocks: Vec<&str> = readme
        .split("```yaml\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .collect();
    assert!(blocks.len() >= 3, "external, Ganesha and knfsd examples");
    for (i, text) in blocks.iter().enumerate() {
        let t = Target::parse(text, &format!("README example {}", i + 1), true)
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        if t.name == "lab-cluster" {
            let n2 = t.server("node2").expect("node2");
            assert_eq!(n2.hooks.restart.as_deref().map(|h| h.len()), Some(1));
            assert!(n2.hooks.failover.is_some(), "the target's hooks apply");
        }
    }
}
