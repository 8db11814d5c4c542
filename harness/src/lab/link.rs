//! The lab's network: one namespace for the clients, one per server, joined
//! by veth pairs, and links that can be cut without a reset.
//!
//! Why one namespace per server: Ganesha binds one address (or all of them),
//! so a server that answers on two addresses binds the wildcard, and that
//! only works if no other server shares its namespace. Each server namespace
//! holds that server's addresses (`/32`, scope global, on `lo`) and a veth
//! end `eth0` with a default route; the client namespace holds the client
//! addresses and one veth end per server with a `/32` route per server
//! address. Loopback addresses only travel over a veth with
//! `route_localnet=1`, and only if `127.0.0.0/8` is not a local route, so
//! each namespace keeps just `127.0.0.1/32` on `lo`.
//!
//! Cutting a link: a `pfifo` qdisc with `limit 0` on both veth ends drops
//! every packet, in both directions, silently (no RST, no ICMP): to both
//! peers it looks like a partition. Existing TCP connections stall and
//! retransmit; new connects time out; removing the qdisc lets the
//! retransmissions through again.

use super::LabError;
use crate::netns::NetNs;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one `ip` or `tc` invocation may take.
const TOOL_TIMEOUT: Duration = Duration::from_secs(20);

/// One server's namespace and the name of its veth end in the client
/// namespace.
pub(crate) struct ServerNet {
    pub(crate) ns: NetNs,
    pub(crate) lab_dev: String,
}

/// The client namespace and every server namespace.
pub(crate) struct Topology {
    pub(crate) lab: NetNs,
    /// The client namespace opened once more, so that other processes
    /// (`nsenter`, `ip`) can name it as `/proc/PID/fd/FD`.
    pub(crate) lab_file: File,
    pub(crate) servers: Vec<ServerNet>,
}

impl Topology {
    /// A path naming the client namespace for `nsenter --net=PATH`.
    pub(crate) fn lab_path(&self) -> String {
        format!(
            "/proc/{}/fd/{}",
            std::process::id(),
            self.lab_file.as_raw_fd()
        )
    }
}

/// Runs `cmd` feeding it `stdin`, with a timeout; fails with its stderr.
pub(crate) fn run_tool(mut cmd: Command, stdin: &str, step: &str) -> Result<(), LabError> {
    let shown = format!("{cmd:?}");
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| LabError::Command {
        step: step.to_string(),
        command: shown.clone(),
        detail: format!("cannot start: {e}"),
    })?;
    if let Some(mut input) = child.stdin.take() {
        // A tool that exits early closes its end; its status says why.
        let _ = input.write_all(stdin.as_bytes());
    }
    let deadline = Instant::now() + TOOL_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(LabError::Command {
                    step: step.to_string(),
                    command: shown,
                    detail: format!("still running after {TOOL_TIMEOUT:?}; killed"),
                });
            }
            Err(e) => {
                return Err(LabError::Command {
                    step: step.to_string(),
                    command: shown,
                    detail: format!("cannot wait for it: {e}"),
                })
            }
        }
    };
    if status.success() {
        return Ok(());
    }
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    Err(LabError::Command {
        step: step.to_string(),
        command: shown,
        detail: format!("{status}: {}", err.trim()),
    })
}

/// Runs an `ip -batch -` script inside `ns`.
fn ip_batch(ns: &NetNs, script: &str, step: &str) -> Result<(), LabError> {
    let mut cmd = ns.command("ip");
    cmd.args(["-batch", "-"]);
    run_tool(cmd, script, step)
}

/// Lets 127.0.0.0/8 travel over non-loopback devices in `ns`.
fn route_localnet(ns: &NetNs, step: &str) -> Result<(), LabError> {
    let result = ns
        .run(|| -> std::io::Result<()> {
            for which in ["all", "default"] {
                std::fs::write(
                    format!("/proc/sys/net/ipv4/conf/{which}/route_localnet"),
                    "1",
                )?;
            }
            Ok(())
        })
        .and_then(|r| r);
    result.map_err(|source| LabError::Io {
        step: format!("{step}: enabling route_localnet"),
        source,
    })
}

/// Loopback up with only 127.0.0.1/32, so other 127/8 addresses can be
/// routed elsewhere; then the given addresses, scope global.
fn loopback_script(addresses: &[IpAddr]) -> String {
    let mut s =
        String::from("link set lo up\naddr del 127.0.0.1/8 dev lo\naddr add 127.0.0.1/32 dev lo\n");
    for a in addresses {
        s.push_str(&format!("addr add {a}/32 dev lo scope global\n"));
    }
    s
}

/// Builds the namespaces for `servers` (each: its addresses) and
/// `clients` (the client source addresses).
pub(crate) fn build(servers: &[Vec<SocketAddr>], clients: &[IpAddr]) -> Result<Topology, LabError> {
    let ns_err = |step: &str| {
        let step = step.to_string();
        move |source| LabError::Io { step, source }
    };
    let lab = NetNs::new().map_err(ns_err("creating the client namespace"))?;
    let lab_file = lab
        .run(|| File::open("/proc/thread-self/ns/net"))
        .and_then(|r| r)
        .map_err(ns_err("opening the client namespace"))?;
    route_localnet(&lab, "client namespace")?;
    ip_batch(
        &lab,
        &loopback_script(clients),
        "client namespace: addresses",
    )?;
    let mut nets = Vec::new();
    for (i, addresses) in servers.iter().enumerate() {
        let step = format!("server namespace {}", i + 1);
        let ns = NetNs::new().map_err(ns_err(&step))?;
        route_localnet(&ns, &step)?;
        let ips: Vec<IpAddr> = addresses.iter().map(|a| a.ip()).collect();
        ip_batch(&ns, &loopback_script(&ips), &format!("{step}: addresses"))?;
        // The peer end is created straight into the server namespace,
        // named by a descriptor of ours that `ip` opens as a path.
        let ns_file = ns
            .run(|| File::open("/proc/thread-self/ns/net"))
            .and_then(|r| r)
            .map_err(ns_err(&step))?;
        let lab_dev = format!("tcsrv{i}");
        let mut script = format!(
            "link add {lab_dev} type veth peer name eth0 netns /proc/{}/fd/{}\nlink set {lab_dev} up\n",
            std::process::id(),
            ns_file.as_raw_fd()
        );
        for ip in &ips {
            script.push_str(&format!("route add {ip}/32 dev {lab_dev}\n"));
        }
        ip_batch(&lab, &script, &format!("{step}: veth and routes"))?;
        drop(ns_file);
        ip_batch(
            &ns,
            "link set eth0 up\nroute add default dev eth0\n",
            &format!("{step}: default route"),
        )?;
        nets.push(ServerNet { ns, lab_dev });
    }
    Ok(Topology {
        lab,
        lab_file,
        servers: nets,
    })
}

/// Drops every packet to and from one server, silently.
pub(crate) fn cut(lab: &NetNs, server: &ServerNet, name: &str) -> Result<(), LabError> {
    let mut cmd = lab.command("tc");
    cmd.args([
        "qdisc",
        "replace",
        "dev",
        &server.lab_dev,
        "root",
        "pfifo",
        "limit",
        "0",
    ]);
    run_tool(
        cmd,
        "",
        &format!("cutting the link of server {name} (client side)"),
    )?;
    let mut cmd = server.ns.command("tc");
    cmd.args([
        "qdisc", "replace", "dev", "eth0", "root", "pfifo", "limit", "0",
    ]);
    run_tool(
        cmd,
        "",
        &format!("cutting the link of server {name} (server side)"),
    )
}

/// Undoes [`cut`].
pub(crate) fn restore(lab: &NetNs, server: &ServerNet, name: &str) -> Result<(), LabError> {
    let mut cmd = server.ns.command("tc");
    cmd.args(["qdisc", "del", "dev", "eth0", "root"]);
    run_tool(
        cmd,
        "",
        &format!("restoring the link of server {name} (server side)"),
    )?;
    let mut cmd = lab.command("tc");
    cmd.args(["qdisc", "del", "dev", &server.lab_dev, "root"]);
    run_tool(
        cmd,
        "",
        &format!("restoring the link of server {name} (client side)"),
    )
}
