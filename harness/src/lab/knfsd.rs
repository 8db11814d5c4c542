//! The built-in Linux knfsd lab (`launch: knfsd`): one QEMU guest (TCG,
//! no KVM needed) per server, booted from Debian's kernel and nfs-utils
//! (see `guest.rs`), one virtio NIC per server address.
//!
//! **Network.** One anonymous namespace holds the clients: every trial's
//! client addresses (`10.(100+n).x.y`, see `run::env::Sources`) and the
//! probe address [`PROBE`] on its `lo`, and one tap device per guest NIC
//! (`tk<server>n<nic>`) with a `/32` route to that NIC's address. The guest
//! routes everything on-link (a default route by `eth0`, replies from
//! another NIC's address by that NIC), so it sees each client's real
//! source address and can call it back (NFSv4.0 callbacks). The taps are
//! the namespace's only devices besides `lo`: a capture on `any` there sees
//! each frame once.
//!
//! **State.** Each guest has an ext4 disk image (the export and
//! `/var/lib/nfs` with knfsd's legacy `v4recovery` client records) that
//! survives a crash. The server's referrals (`referrals:`) are listed on
//! the disk too: its init mounts a small tmpfs at each referral point
//! (knfsd crosses into a child export only at a mount point) and exports
//! it with `refer=` (fs_locations naming the other server's addresses)
//! and `fsid=` (a tmpfs has no UUID). With the target's realm (`krb5:`) the disk also
//! holds the guest's keytab, `krb5.conf` and `idmapd.conf`: its init runs
//! `rpc.svcgssd` as the guest's `nfs/` principal (the legacy upcall; no
//! gssproxy) and exports with `sec=sys:krb5:krb5i:krb5p`.
//!
//! **Actions.** `restart` = `rpc.nfsd 0` and start again in the guest
//! (about 1.2 s); `stop` / `start` = the two halves; `crash` = QEMU killed
//! (no shutdown, no FIN) and the guest booted again on the same disk
//! (about 10 s); `cut_link` = a zero-length `pfifo` on the taps and on the
//! guest's NICs (every frame dropped both ways, silently; connections
//! stall); `restore_link` removes them. Lease and grace are written to
//! `/proc/fs/nfsd` before each start (knfsd takes them only while
//! stopped). There is no failover: a knfsd cannot take over another's
//! clients.
//!
//! **Readiness** = the guest's command loop answers (its init, which starts
//! knfsd, has finished) and every address answers an NFS NULL call from
//! [`PROBE`] (never a trial's address, so never in a trial's capture).
//!
//! **Teardown.** Dropping the lab kills every QEMU, removes the lab
//! directory; the namespace and its taps vanish with the last handle. QEMU
//! is spawned from the lab's supervisor thread with
//! `PR_SET_PDEATHSIG(SIGKILL)`: it dies with trunkcheck even on SIGKILL.

use super::cleanup::{add_pid, remove_pid, signal};
use super::guest::{self, Channel, Image};
use super::link::run_tool;
use super::realm::LabRealm;
use super::{die_with_parent, find_on_path, io_err, lock, probe, tail, LabError, Supervisor};
use crate::action::{Action, Unsupported};
use crate::krb5::conf;
use crate::netns::NetNs;
use crate::targets::{KnfsdSpec, ServerSpec, Target};
use std::fs::{self, File};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The address the lab's own NFS NULL probes come from.
pub const PROBE: Ipv4Addr = Ipv4Addr::new(10, 98, 0, 1);
/// Guest memory, MiB.
const MEMORY_MIB: u32 = 512;
/// The size of each guest's disk image.
const DISK_BYTES: u64 = 64 << 20;
/// How long a command in the guest may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Console lines quoted in errors.
const LOG_LINES: usize = 15;

/// One NIC of a guest.
struct Nic {
    tap: String,
    mac: String,
    addr: Ipv4Addr,
}

/// One guest: a server of the target.
struct Guest {
    name: String,
    spec: KnfsdSpec,
    dir: PathBuf,
    nics: Vec<Nic>,
    qemu: Option<Child>,
    boots: u32,
    nfsd_stopped: bool,
    cut: bool,
}

/// A running knfsd lab.
pub(super) struct KnfsdLab {
    pub(super) dir: PathBuf,
    pub(super) ns: NetNs,
    ns_file: File,
    supervisor: Supervisor,
    image: Image,
    guests: Vec<Mutex<Guest>>,
    channels: Vec<Channel>,
    lab_id: u64,
    ready_timeout: Duration,
}

/// Why the knfsd lab cannot run here, before anything is made.
pub(super) fn check_host() -> Result<(), LabError> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(LabError::State {
            server: "(lab)".into(),
            message: "the knfsd lab needs root (network namespace, tap devices)".into(),
        });
    }
    for tool in ["qemu-system-x86_64", "mkfs.ext4", "ip", "tc"] {
        if find_on_path(tool).is_none() {
            return Err(LabError::State {
                server: "(lab)".into(),
                message: format!(
                    "{tool} is not installed: apt-get install {} iproute2 (or run scripts/setup.sh)",
                    guest::PACKAGES
                ),
            });
        }
    }
    if !Path::new("/dev/net/tun").exists() {
        return Err(LabError::State {
            server: "(lab)".into(),
            message: "/dev/net/tun is missing: QEMU cannot make tap devices".into(),
        });
    }
    Ok(())
}

/// An `ip -batch` script in `ns`.
fn ip_batch(ns: &NetNs, script: &str, step: &str) -> Result<(), LabError> {
    let mut cmd = ns.command("ip");
    cmd.args(["-batch", "-"]);
    run_tool(cmd, script, step)
}

/// What a guest needs to accept RPCSEC_GSS contexts: the files its init
/// finds under `/srv/krb5` (its disk) and uses to run `rpc.svcgssd`.
struct GuestKrb5 {
    /// `principal`: the full name of the guest's `nfs/` principal.
    principal: String,
    /// `krb5.keytab`: that principal's keys.
    keytab: Vec<u8>,
    /// `krb5.conf`: the realm (the guest never reaches the KDC: an
    /// acceptor needs only its keys).
    krb5_conf: String,
    /// `idmapd.conf`: principals of the realm map to local names.
    idmapd_conf: String,
}

impl GuestKrb5 {
    /// The files of server `i` of `realm`.
    fn of(realm: &LabRealm, i: usize, server: &str) -> Result<GuestKrb5, LabError> {
        let keytab = realm.keytab(i).ok_or_else(|| LabError::State {
            server: server.to_string(),
            message: "the realm made no keytab for this server".into(),
        })?;
        let bytes = fs::read(&keytab.path).map_err(io_err(format!(
            "reading the keytab {}",
            keytab.path.display()
        )))?;
        let kdc = realm.kdc();
        Ok(GuestKrb5 {
            principal: keytab.principal.clone(),
            keytab: bytes,
            krb5_conf: conf::krb5_conf(kdc.realm(), kdc.address(), Path::new("/tmp")),
            idmapd_conf: super::ganesha::idmap_conf(kdc.realm()),
        })
    }

    /// Writes the files into `dir` (the disk's `krb5/`).
    fn write(&self, dir: &Path) -> Result<(), LabError> {
        fs::create_dir_all(dir).map_err(io_err(format!("creating {}", dir.display())))?;
        let files: [(&str, &[u8]); 4] = [
            ("principal", self.principal.as_bytes()),
            ("krb5.keytab", &self.keytab),
            ("krb5.conf", self.krb5_conf.as_bytes()),
            ("idmapd.conf", self.idmapd_conf.as_bytes()),
        ];
        for (name, bytes) in files {
            let p = dir.join(name);
            fs::write(&p, bytes).map_err(io_err(format!("writing {}", p.display())))?;
        }
        Ok(())
    }
}

/// The `referrals` file of server `s`'s disk: one line per referral,
/// `PATH REFER`, where REFER is exports(5)'s `refer=` value: the export of
/// the server it leads to, `@`, and every address of that server joined by
/// `+` (one fs_location listing them all). The guest's init mounts a tmpfs
/// at `/export/PATH` and exports it with `refer=REFER`.
pub(super) fn referral_lines(target: &Target, s: &ServerSpec) -> Result<String, LabError> {
    let mut out = String::new();
    for r in &s.referrals {
        let to = target.server(&r.to).ok_or_else(|| LabError::State {
            server: s.name.clone(),
            message: format!("referral {}: no server {:?} in the target", r.path, r.to),
        })?;
        let hosts: Vec<String> = to.addresses.iter().map(|a| a.ip().to_string()).collect();
        out.push_str(&format!("{} {}@{}\n", r.path, to.export, hosts.join("+")));
    }
    Ok(out)
}

/// Makes `dir/disk.img`: ext4 with `export/` (the files clients see),
/// `nfs/v4recovery` (knfsd's client records), `referrals` (see
/// [`referral_lines`]) and, with a realm, `krb5/`.
fn make_disk(dir: &Path, krb5: Option<&GuestKrb5>, referrals: &str) -> Result<PathBuf, LabError> {
    let src = dir.join("disk-src");
    for sub in ["export", "nfs/v4recovery"] {
        fs::create_dir_all(src.join(sub)).map_err(io_err(format!("creating {}", src.display())))?;
    }
    fs::write(
        src.join("export/hello.txt"),
        "hello from a Linux knfsd guest\n",
    )
    .map_err(io_err("writing the export's first file"))?;
    fs::write(src.join("referrals"), referrals).map_err(io_err("writing the referrals"))?;
    if let Some(k) = krb5 {
        k.write(&src.join("krb5"))?;
    }
    let img = dir.join("disk.img");
    File::create(&img)
        .and_then(|f| f.set_len(DISK_BYTES))
        .map_err(io_err(format!("creating {}", img.display())))?;
    let mut cmd = Command::new("mkfs.ext4");
    cmd.args(["-q", "-F", "-E", "root_owner=0:0", "-d"])
        .arg(&src)
        .arg(&img);
    run_tool(cmd, "", "making a guest's disk")?;
    let _ = fs::remove_dir_all(&src);
    Ok(img)
}

impl KnfsdLab {
    /// Builds the image and the network, boots every guest and waits until
    /// each answers NFS NULL on every address. `dir` is the lab's own.
    /// With `realm`, each guest accepts RPCSEC_GSS as its `nfs/` principal
    /// and exports with `sec=sys:krb5:krb5i:krb5p`.
    pub(super) fn start(
        lab_id: u64,
        target: &Target,
        dir: &Path,
        realm: Option<&LabRealm>,
    ) -> Result<KnfsdLab, LabError> {
        let image = guest::build_image(&dir.join("guest-build"))?;
        let ns = NetNs::new().map_err(io_err("creating the knfsd lab's namespace"))?;
        let ns_file = ns
            .run(|| File::open("/proc/thread-self/ns/net"))
            .and_then(|r| r)
            .map_err(io_err("opening the knfsd lab's namespace"))?;
        // Replies from a guest's second NIC come back by its own tap.
        let rp = ns
            .run(|| {
                for which in ["all", "default"] {
                    fs::write(format!("/proc/sys/net/ipv4/conf/{which}/rp_filter"), "0")?;
                }
                Ok::<(), std::io::Error>(())
            })
            .and_then(|r| r);
        rp.map_err(io_err("knfsd lab: rp_filter"))?;
        let mut script = format!("link set lo up\naddress add {PROBE}/32 dev lo\n");
        let mut guests = Vec::new();
        let mut channels = Vec::new();
        for (i, s) in target.servers.iter().enumerate() {
            let spec = s.knfsd.clone().ok_or_else(|| LabError::State {
                server: s.name.clone(),
                message: "not a built-in knfsd server".into(),
            })?;
            let gdir = dir.join(&s.name);
            fs::create_dir_all(&gdir).map_err(io_err(format!("creating {}", gdir.display())))?;
            let krb5 = realm.map(|r| GuestKrb5::of(r, i, &s.name)).transpose()?;
            make_disk(&gdir, krb5.as_ref(), &referral_lines(target, s)?)?;
            let mut nics = Vec::new();
            for (j, a) in s.addresses.iter().enumerate() {
                let IpAddr::V4(addr) = a.ip() else {
                    return Err(LabError::State {
                        server: s.name.clone(),
                        message: format!("{a}: not IPv4"),
                    });
                };
                let tap = format!("tk{i}n{j}");
                script.push_str(&format!(
                    "tuntap add dev {tap} mode tap\nlink set {tap} up\nroute add {addr}/32 dev {tap}\n"
                ));
                nics.push(Nic {
                    tap,
                    mac: format!("52:54:00:99:{i:02x}:{j:02x}"),
                    addr,
                });
            }
            channels.push(Channel::new(gdir.join("cmd.sock")));
            guests.push(Mutex::new(Guest {
                name: s.name.clone(),
                spec,
                dir: gdir,
                nics,
                qemu: None,
                boots: 0,
                nfsd_stopped: false,
                cut: false,
            }));
        }
        ip_batch(&ns, &script, "knfsd lab: taps and routes")?;
        let supervisor = Supervisor::new().map_err(io_err("starting the supervisor thread"))?;
        let lab = KnfsdLab {
            dir: dir.to_path_buf(),
            ns,
            ns_file,
            supervisor,
            image,
            guests,
            channels,
            lab_id,
            ready_timeout: target.ready_timeout,
        };
        // Every guest boots at once; then each is waited for.
        for g in &lab.guests {
            lab.spawn(&mut lock(g))?;
        }
        for (i, g) in lab.guests.iter().enumerate() {
            lab.wait_ready(i, &mut lock(g))?;
        }
        Ok(lab)
    }

    /// A path naming the lab's namespace for `nsenter --net=PATH`.
    pub(super) fn ns_path(&self) -> String {
        format!(
            "/proc/{}/fd/{}",
            std::process::id(),
            self.ns_file.as_raw_fd()
        )
    }

    /// The pid of server `i`'s QEMU.
    pub(super) fn pid(&self, i: usize) -> Option<u32> {
        lock(self.guests.get(i)?).qemu.as_ref().map(Child::id)
    }

    /// The console log of server `i`'s latest boot.
    pub(super) fn console(&self, i: usize) -> Option<PathBuf> {
        let g = lock(self.guests.get(i)?);
        Some(g.dir.join(format!("console.{}.log", g.boots.max(1))))
    }

    /// Starts QEMU for `g` (the guest boots on its disk).
    fn spawn(&self, g: &mut Guest) -> Result<(), LabError> {
        if super::cleanup::shutting_down() {
            return Err(LabError::State {
                server: g.name.clone(),
                message: "the harness is shutting down".into(),
            });
        }
        g.boots += 1;
        let _ = fs::remove_file(g.dir.join("cmd.sock"));
        let net: Vec<String> = g
            .nics
            .iter()
            .enumerate()
            .map(|(j, n)| format!("eth{j}:{}/32", n.addr))
            .collect();
        let append = format!(
            "console=ttyS0 quiet panic=-1 tc.role=server tc.host={} tc.net={} tc.lease={} tc.grace={} tc.threads={} tc.route=onlink",
            g.spec.hostname,
            net.join(","),
            g.spec.lease,
            g.spec.grace,
            g.spec.threads
        );
        let mut cmd = self.ns.command("qemu-system-x86_64");
        cmd.args([
            "-name", &g.name, "-accel", "tcg", "-cpu", "max", "-smp", "1",
        ])
        .args(["-m", &MEMORY_MIB.to_string()])
        .args([
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-no-reboot",
        ])
        .arg("-kernel")
        .arg(&self.image.kernel)
        .arg("-initrd")
        .arg(&self.image.initrd)
        .args(["-append", &append])
        .arg("-serial")
        .arg(format!(
            "file:{}",
            g.dir.join(format!("console.{}.log", g.boots)).display()
        ))
        .arg("-serial")
        .arg(format!(
            "unix:{},server=on,wait=off",
            g.dir.join("cmd.sock").display()
        ))
        .arg("-monitor")
        .arg(format!(
            "unix:{},server=on,wait=off",
            g.dir.join("mon.sock").display()
        ));
        for (j, n) in g.nics.iter().enumerate() {
            cmd.args([
                "-netdev",
                &format!(
                    "tap,id=n{j},ifname={},script=no,downscript=no,vnet_hdr=off",
                    n.tap
                ),
                "-device",
                &format!("virtio-net-pci,netdev=n{j},mac={}", n.mac),
            ]);
        }
        cmd.arg("-drive").arg(format!(
            "file={},if=virtio,format=raw,cache=unsafe",
            g.dir.join("disk.img").display()
        ));
        let log = File::create(g.dir.join(format!("qemu.{}.log", g.boots)))
            .map_err(io_err("creating QEMU's log"))?;
        let log2 = log
            .try_clone()
            .map_err(io_err("duplicating a descriptor"))?;
        cmd.stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .process_group(0);
        die_with_parent(&mut cmd);
        let child = self
            .supervisor
            .spawn(cmd)
            .map_err(io_err(format!("server {}: starting QEMU", g.name)))?;
        add_pid(self.lab_id, child.id());
        g.qemu = Some(child);
        g.nfsd_stopped = false;
        Ok(())
    }

    /// Why `g`'s QEMU is not running (it exited), with its last words.
    fn exited(g: &mut Guest) -> Option<String> {
        let status = match g.qemu.as_mut() {
            Some(c) => c.try_wait().ok().flatten()?,
            None => return Some("QEMU is not running".into()),
        };
        let mut lines = tail(&g.dir.join(format!("qemu.{}.log", g.boots)), LOG_LINES);
        lines.extend(tail(
            &g.dir.join(format!("console.{}.log", g.boots)),
            LOG_LINES,
        ));
        Some(format!("QEMU exited ({status}):\n{}", lines.join("\n")))
    }

    /// Waits until guest `i` runs its command loop (its init started
    /// knfsd) and, unless its link is cut, answers NFS NULL everywhere.
    fn wait_ready(&self, i: usize, g: &mut Guest) -> Result<(), LabError> {
        let started = Instant::now();
        let not_ready = |g: &Guest, address: SocketAddr, why: String| LabError::NotReady {
            server: g.name.clone(),
            address,
            waited: started.elapsed(),
            log: format!(
                "{why}\n{}",
                tail(&g.dir.join(format!("console.{}.log", g.boots)), LOG_LINES).join("\n")
            ),
        };
        let first = SocketAddr::new(IpAddr::V4(g.nics[0].addr), crate::targets::NFS_PORT);
        self.channels[i]
            .wait(self.ready_timeout, || KnfsdLab::exited(g))
            .map_err(|e| not_ready(g, first, e))?;
        if g.cut {
            // Nothing gets through: the command loop answering means init
            // started knfsd; the cut is the guest's again after a boot.
            return self.channels[i]
                .check("gt link-cut", COMMAND_TIMEOUT)
                .map(|_| ())
                .map_err(|e| not_ready(g, first, e));
        }
        let addrs: Vec<SocketAddr> = g
            .nics
            .iter()
            .map(|n| SocketAddr::new(IpAddr::V4(n.addr), crate::targets::NFS_PORT))
            .collect();
        for addr in addrs {
            let left = self.ready_timeout.saturating_sub(started.elapsed());
            probe::wait_nfs_null(addr, Some(IpAddr::V4(PROBE)), Some(&self.ns), left, || {
                KnfsdLab::exited(g)
            })
            .map_err(|e| not_ready(g, addr, e))?;
        }
        Ok(())
    }

    /// Kills `g`'s QEMU (a power cut) and reaps it.
    fn kill(&self, g: &mut Guest) {
        if let Some(mut c) = g.qemu.take() {
            signal(c.id() as i32, libc::SIGKILL);
            let _ = c.wait();
            remove_pid(self.lab_id, c.id());
        }
    }

    /// `gt WORD` in guest `i`.
    fn gt(&self, i: usize, g: &Guest, word: &str) -> Result<(), LabError> {
        self.channels[i]
            .check(&format!("gt {word}"), COMMAND_TIMEOUT)
            .map(|_| ())
            .map_err(|detail| LabError::Command {
                step: format!("server {}: {word}", g.name),
                command: format!("gt {word} (in the guest)"),
                detail,
            })
    }

    /// `tc` on every tap of `g` in the lab's namespace.
    fn tc_taps(&self, g: &Guest, args: &[&str], step: &str) -> Result<(), LabError> {
        for n in &g.nics {
            let mut cmd = self.ns.command("tc");
            cmd.args(["qdisc", args[0], "dev", &n.tap]).args(&args[1..]);
            run_tool(cmd, "", &format!("server {}: {step} ({})", g.name, n.tap))?;
        }
        Ok(())
    }

    /// Does `action` on server `i` (the target's `name`).
    pub(super) fn act(&self, target: &str, i: usize, action: &Action) -> Result<(), LabError> {
        let mut g = lock(&self.guests[i]);
        let running = g.qemu.is_some() && KnfsdLab::exited(&mut g).is_none();
        match action {
            Action::Restart if running => {
                self.gt(i, &g, "nfsd-restart")?;
                g.nfsd_stopped = false;
                self.wait_ready(i, &mut g)
            }
            Action::Stop if running => {
                self.gt(i, &g, "nfsd-stop")?;
                g.nfsd_stopped = true;
                Ok(())
            }
            Action::Start if running && !g.nfsd_stopped => Ok(()),
            Action::Start | Action::Restart if running => {
                self.gt(i, &g, "nfsd-start")?;
                g.nfsd_stopped = false;
                self.wait_ready(i, &mut g)
            }
            Action::Stop => Ok(()),
            Action::Crash | Action::Start | Action::Restart => {
                self.kill(&mut g);
                self.spawn(&mut g)?;
                self.wait_ready(i, &mut g)
            }
            Action::CutLink if !g.cut => {
                self.tc_taps(
                    &g,
                    &["replace", "root", "pfifo", "limit", "0"],
                    "cutting the link",
                )?;
                g.cut = true;
                if running {
                    self.gt(i, &g, "link-cut")?;
                }
                Ok(())
            }
            Action::RestoreLink if g.cut => {
                if running {
                    self.gt(i, &g, "link-restore")?;
                }
                self.tc_taps(&g, &["del", "root"], "restoring the link")?;
                g.cut = false;
                Ok(())
            }
            Action::CutLink | Action::RestoreLink => Ok(()),
            Action::Failover { .. } => Err(LabError::Unsupported(Unsupported {
                target: target.to_string(),
                action: action.clone(),
                server: g.name.clone(),
            })),
        }
    }

    /// Kills every guest (the lab is going away).
    pub(super) fn shutdown(&self) {
        for g in &self.guests {
            self.kill(&mut lock(g));
        }
    }
}
