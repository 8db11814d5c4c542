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
        krb5: None,
    }
}

#[test]
fn a_krb5_instance_gets_an_nfs_krb5_block_krb5_sectypes_and_idmapping() {
    let plain = render(&config(Bind::Any));
    assert!(plain.contains("SecType = sys;") && !plain.contains("NFS_KRB5"));
    let mut c = config(Bind::Any);
    c.krb5 = Some(ganesha::Krb5Instance {
        host: "trunkcheck-cluster.trunkcheck.test".into(),
        keytab: PathBuf::from("/tmp/lab/nfs.keytab"),
        ccache_dir: PathBuf::from("/tmp/lab/a/ccache"),
        idmap: PathBuf::from("/tmp/lab/a/idmapd.conf"),
    });
    let text = render(&c);
    for want in [
        "Active_krb5 = true;",
        "PrincipalName = \"nfs@trunkcheck-cluster.trunkcheck.test\";",
        "KeytabPath = /tmp/lab/nfs.keytab;",
        "CCacheDir = /tmp/lab/a/ccache;",
        "IdmapConf = /tmp/lab/a/idmapd.conf;",
        "SecType = sys, krb5, krb5i, krb5p;",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    let idmap = ganesha::idmap_conf("TRUNKCHECK.TEST");
    assert!(
        idmap.contains("Local-Realms = TRUNKCHECK.TEST")
            && idmap.contains("Domain = trunkcheck.test")
    );
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

/// A fake NFS server: answers every NFS NULL call on `l` with SUCCESS,
/// until the listener's `stop` flag is set.
fn answer_null(l: std::net::TcpListener, stop: std::sync::Arc<std::sync::atomic::AtomicBool>) {
    use std::io::{Read, Write};
    std::thread::spawn(move || {
        for s in l.incoming() {
            if stop.load(std::sync::atomic::Ordering::SeqCst) {
                break;
            }
            let Ok(mut s) = s else { continue };
            let mut call = [0u8; 44];
            if s.read_exact(&mut call).is_ok() {
                let xid = u32::from_be_bytes([call[4], call[5], call[6], call[7]]);
                let _ = s.write_all(&super::probe::null_reply(xid));
            }
        }
    });
}

/// Stops the fake servers of [`external`] when dropped.
struct Fakes(
    std::sync::Arc<std::sync::atomic::AtomicBool>,
    Vec<std::net::SocketAddr>,
);

impl Drop for Fakes {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        for a in &self.1 {
            let _ = std::net::TcpStream::connect(a);
        }
    }
}

/// An external target on two fake NFS servers of ours; `n1` has the given
/// hooks.
fn external(hooks: &str) -> (Fakes, Target) {
    let l1 = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
    let l2 = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
    let (a1, a2) = (
        l1.local_addr().expect("addr"),
        l2.local_addr().expect("addr"),
    );
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    answer_null(l1, std::sync::Arc::clone(&stop));
    answer_null(l2, std::sync::Arc::clone(&stop));
    let fakes = Fakes(stop, vec![a1, a2]);
    let text = format!(
        "name: ext\nready_timeout: 2\nhook_timeout: 1\nservers:\n  - name: n1\n    addresses: [\"{a1}\"]\n    hooks:\n{hooks}  - name: n2\n    addresses: [\"{a2}\"]\n"
    );
    let t = Target::parse(&text, "ext.yaml", false).unwrap_or_else(|e| panic!("{e}\n{text}"));
    (fakes, t)
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
    // Variables are expanded in the argv (`$$` is a `$`).
    let hooks = format!(
        "      failover: [env, \"-u\", \"X;rm -rf /\", \"true\", \"${{peer}}\"]\n      restart: [\"false\"]\n      crash: [sleep, \"30\"]\n      cut_link: [sh, \"-c\", \"env > {0}; echo ${{server}}@${{address}}:${{port}} ${{action}} $$HOME >> {0}\"]\n",
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
    let port = t.servers[0].addresses[0].port();
    let home = std::env::var("HOME").unwrap_or_default();
    assert!(
        env.contains(&format!("n1@127.0.0.1:{port} cut_link {home}\n")),
        "variables expanded: {env}"
    );
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
    // A port that accepts but is no NFS server is not ready either.
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
    let text = format!(
        "name: ext\nready_timeout: 1\nservers:\n  - name: n1\n    addresses: [\"{}\"]\n",
        l.local_addr().expect("addr")
    );
    let t = Target::parse(&text, "ext.yaml", false).expect("parses");
    let t0 = std::time::Instant::now();
    let e = Lab::start(&t).err().expect("nothing listens");
    assert!(matches!(e, LabError::NotReady { .. }), "{e}");
    assert!(t0.elapsed() < Duration::from_secs(10));
}

#[test]
fn each_knfsd_referral_names_every_address_of_the_server_it_leads_to() {
    let t = Target::builtin("knfsd").expect("knfsd");
    let line = |name: &str| {
        let s = t.server(name).expect("server");
        knfsd::referral_lines(&t, s).expect("lines")
    };
    assert_eq!(line("a"), "ref-c /export@10.99.3.2\n");
    // One location listing both addresses of a: exports(5) joins hosts with '+'.
    assert_eq!(line("c"), "ref-a /export@10.99.1.2+10.99.2.2\n");
}
