use super::ganesha::{render, Bind, InstanceConfig};
use super::*;
use crate::action::{Action, Unsupported};
use crate::targets::{Fsal, Target};
use std::net::Ipv4Addr;

fn config(bind: Bind) -> InstanceConfig {
    let t = Target::builtin("default").expect("default");
    InstanceConfig {
        bind,
        port: 2049,
        spec: t.servers[0].ganesha.clone().expect("spec"),
        recovery_root: PathBuf::from("/tmp/lab/shared/recovery-cluster"),
        data_dir: PathBuf::from("/tmp/lab/shared/data-cluster"),
        pseudo: "/export".into(),
        plugins_dir: PathBuf::from(ganesha::PLUGINS_DIR),
    }
}

#[test]
fn rendered_config_has_identity_lease_grace_and_a_v4_mapped_bind() {
    let text = render(&config(Bind::Addr(Ipv4Addr::new(127, 0, 0, 4))));
    for want in [
        "Bind_Addr = ::ffff:127.0.0.4;",
        "NFS_Port = 2049;",
        "Server_Owner = \"trunkcheck-node-a\";",
        "Server_Scope = \"trunkcheck-cluster\";",
        "Lease_Lifetime = 5;",
        "Grace_Period = 10;",
        "RecoveryBackend = fs;",
        "RecoveryRoot = /tmp/lab/shared/recovery-cluster;",
        "Path = /tmp/lab/shared/data-cluster;",
        "Pseudo = /export;",
        "Minor_Versions = 0, 1, 2;",
        "FSAL { Name = VFS; }",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    assert!(
        !text.contains("Bind_Addr = 127."),
        "plain IPv4 is ignored by Ganesha"
    );
    let any = render(&config(Bind::Any));
    assert!(any.contains("Bind_Addr = 0.0.0.0;"));
    let mut mem = config(Bind::Any);
    mem.spec.fsal = Fsal::Mem;
    let mem = render(&mem);
    assert!(mem.contains("Name = MEM;") && mem.contains("Inode_Size = 1114112;"));
}

#[test]
fn a_lab_can_be_shared_between_trial_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Lab>();
}

/// An external target on two listeners of ours; `n1` has the given hooks.
fn external(hooks: &str) -> (Vec<std::net::TcpListener>, Target) {
    let l1 = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
    let l2 = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
    let (a1, a2) = (
        l1.local_addr().expect("addr"),
        l2.local_addr().expect("addr"),
    );
    let text = format!(
        "name: ext\nready_timeout: 2\nhook_timeout: 1\nservers:\n  - name: n1\n    addresses: [\"{a1}\"]\n    hooks:\n{hooks}  - name: n2\n    addresses: [\"{a2}\"]\n"
    );
    let t = Target::parse(&text, "ext.yaml", false).unwrap_or_else(|e| panic!("{e}\n{text}"));
    (vec![l1, l2], t)
}

#[test]
fn an_external_action_without_a_hook_is_unsupported_naming_target_hook_and_server() {
    let (_l, t) = external("      stop: [\"true\"]\n");
    let lab = Lab::start(&t).expect("external lab");
    assert!(lab.netns().is_none());
    lab.stop("n1").expect("stop hook runs");
    let e = lab.restart("n1").expect_err("no restart hook");
    assert!(
        matches!(
            e,
            LabError::Unsupported(Unsupported {
                action: Action::Restart,
                ..
            })
        ),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "unsupported: target ext has no `restart` hook for server n1"
    );
    let e = lab.crash("nope").expect_err("unknown server");
    assert!(matches!(e, LabError::UnknownServer { .. }), "{e}");
}

#[test]
fn hooks_run_without_a_shell_and_learn_the_server_from_their_environment() {
    let dir = std::env::temp_dir().join(format!("trunkcheck-hooktest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let out = dir.join("env.txt");
    // `env` prints its environment; the argument is one argv element, and
    // shell syntax in it stays literal.
    let hooks = format!(
        "      failover: [env, \"-u\", \"X;rm -rf /\"]\n      restart: [\"false\"]\n      crash: [sleep, \"30\"]\n      cut_link: [sh, \"-c\", \"env > {}\"]\n",
        out.display()
    );
    let (_l, t) = external(&hooks);
    let lab = Lab::start(&t).expect("external lab");
    lab.failover("n1", "n2").expect("env runs");
    lab.cut_link("n1").expect("hook runs");
    let env = std::fs::read_to_string(&out).expect("hook wrote its environment");
    for want in [
        "TRUNKCHECK_TARGET=ext",
        "TRUNKCHECK_ACTION=cut_link",
        "TRUNKCHECK_SERVER=n1",
        "TRUNKCHECK_ADDRESSES=127.0.0.1:",
    ] {
        assert!(env.contains(want), "{want} in {env}");
    }
    let e = lab.restart("n1").expect_err("false fails");
    assert!(
        matches!(
            e,
            LabError::Hook {
                action: Action::Restart,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("exit status: 1"), "{e}");
    let t0 = std::time::Instant::now();
    let e = lab.crash("n1").expect_err("hook timeout");
    assert!(e.to_string().contains("killed"), "{e}");
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "the hook was killed at its timeout"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_external_server_that_does_not_answer_fails_the_start_in_time() {
    let (listeners, t) = external("      stop: [\"true\"]\n");
    drop(listeners);
    let t0 = std::time::Instant::now();
    let e = Lab::start(&t).err().expect("nothing listens");
    assert!(matches!(e, LabError::NotReady { .. }), "{e}");
    assert!(t0.elapsed() < Duration::from_secs(10));
}
