//! Each trial's own traffic, captured live, and the analyzer's passive
//! rules run on it: a server violation the steps did not look for still
//! fails the trial, with the frames that show it.
//!
//! A trial's capture is judged as *complete* (rules whose evidence is that
//! something did not happen may judge) only when libpcap says it lost
//! nothing: no frame dropped by the kernel or the interface, none left
//! unread. Otherwise the rules judge it as a partial capture and the
//! trial's record says why ([`Observed::note`]).

// Used by live capture only (`--features live`).
#[cfg_attr(not(feature = "live"), allow(dead_code))]
mod merge;

use super::env::Env;
use analyzer::exchange::{Message, MessageSink, Notice};
use analyzer::rules::Analysis;
use analyzer::rules::Finding;
use std::path::{Path, PathBuf};

/// What the capture of one trial showed.
pub struct Observed {
    /// The capture file.
    pub path: PathBuf,
    /// Passive findings.
    pub findings: Vec<Finding>,
    /// Every NFSv4 message: (frame, time in seconds since 1970).
    pub messages: Vec<(u64, f64)>,
    /// Frames captured.
    pub frames: u64,
    /// Whether the rules judged the capture as complete.
    pub complete: bool,
    /// Why the capture is not complete (frames lost), for the trial's record.
    pub note: Option<String>,
}

/// The analysis plus the time of every message (to find a step's frames).
struct Observer {
    analysis: Analysis,
    messages: Vec<(u64, f64)>,
}

impl MessageSink for Observer {
    fn message(&mut self, m: &Message<'_>) {
        if self.messages.len() < 1_000_000 {
            self.messages.push((m.frame, m.ts.as_secs_f64()));
        }
        self.analysis.message(m);
    }

    fn notice(&mut self, n: &Notice) {
        self.analysis.notice(n);
    }

    fn finish(&mut self) {
        self.analysis.finish();
    }
}

/// Runs the passive rules over a capture file; `complete` declares that
/// it holds every frame of the trial (see the module documentation).
pub fn analyze(path: &Path, complete: bool) -> Result<Observed, String> {
    let analysis = Analysis::new(Default::default());
    let sink = Observer {
        analysis: if complete {
            analysis.complete()
        } else {
            analysis
        },
        messages: Vec::new(),
    };
    let (obs, stats) = analyzer::pipeline::decode_file(path, Default::default(), sink, |_, _| {})
        .map_err(|e| e.to_string())?;
    Ok(Observed {
        path: path.to_path_buf(),
        findings: obs.analysis.findings().to_vec(),
        messages: obs.messages,
        frames: stats.frames,
        complete,
        note: None,
    })
}

/// A live capture running for one trial, on every interface its servers
/// are reached by.
pub struct TrialCapture {
    path: PathBuf,
    #[cfg_attr(not(feature = "live"), allow(dead_code))]
    started: std::time::Instant,
    #[cfg(feature = "live")]
    parts: Vec<Part>,
}

/// One interface's capture of a trial.
#[cfg(feature = "live")]
struct Part {
    iface: String,
    path: PathBuf,
    stop: analyzer::capture::StopHandle,
    thread: std::thread::JoinHandle<Result<Health, String>>,
}

/// What libpcap said about a finished capture.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Health {
    /// Frames written to the file.
    pub frames: u64,
    /// Frames the kernel dropped (ring full) or the interface dropped.
    pub lost: u64,
}

/// The kernel ring of a trial's capture: 64 MiB of frames (TPACKET_V3, see
/// `analyzer::capture::LiveSource`; the old 8 MiB immediate-mode ring of
/// the `any` device held 16 frames).
pub const RING_BYTES: i32 = 64 << 20;

/// Whether this build can capture (the `live` feature, libpcap).
pub const CAN_CAPTURE: bool = cfg!(feature = "live");

impl TrialCapture {
    /// Starts capturing trial `index`'s traffic (the servers `servers` of
    /// `env`) into `dir/ID.pcap`.
    pub fn start(
        env: &Env,
        index: usize,
        servers: &[usize],
        dir: &Path,
        id: &str,
    ) -> Result<TrialCapture, String> {
        TrialCapture::start_with_ring(env, index, servers, dir, id, RING_BYTES)
    }

    /// [`TrialCapture::start`] with a kernel ring of `ring_bytes` (tests
    /// use the smallest, 64 KiB, to make the kernel drop frames).
    #[cfg(feature = "live")]
    pub fn start_with_ring(
        env: &Env,
        index: usize,
        servers: &[usize],
        dir: &Path,
        id: &str,
        ring_bytes: i32,
    ) -> Result<TrialCapture, String> {
        use analyzer::capture::LiveSource;
        let filter = env.trial_filter(index);
        let path = dir.join(format!("{id}.pcap"));
        let mut parts = Vec::new();
        for (n, iface) in env.capture_interfaces(servers).into_iter().enumerate() {
            let part = dir.join(format!("{id}.{n}.part.pcap"));
            let open = || LiveSource::open_with(&iface, &filter, 0, ring_bytes);
            let src = match &env.netns {
                Some(ns) => ns.run(open).map_err(|e| e.to_string())?,
                None => open(),
            };
            let mut src = src.map_err(|e| format!("cannot capture on {iface}: {e}"))?;
            src.save_to(&part).map_err(|e| e.to_string())?;
            let stop = src.stop_handle();
            let thread = std::thread::spawn(move || {
                loop {
                    match src.next_frame() {
                        Ok(Some(_)) => {}
                        Ok(None) => break,
                        Err(e) => return Err(e.to_string()),
                    }
                }
                src.flush().map_err(|e| e.to_string())?;
                let stats = src
                    .stats()
                    .map_err(|e| format!("no capture statistics: {e}"))?;
                Ok(Health {
                    frames: stats.read,
                    lost: stats.lost(),
                })
            });
            parts.push(Part {
                iface,
                path: part,
                stop,
                thread,
            });
        }
        Ok(TrialCapture {
            path,
            started: std::time::Instant::now(),
            parts,
        })
    }

    /// Without libpcap there is no live capture.
    #[cfg(not(feature = "live"))]
    pub fn start_with_ring(
        _env: &Env,
        _index: usize,
        _servers: &[usize],
        _dir: &Path,
        _id: &str,
        _ring_bytes: i32,
    ) -> Result<TrialCapture, String> {
        Err("this build has no live capture (build with --features live)".into())
    }

    /// Stops the capture (after the last packets had time to arrive) and
    /// returns the file and what libpcap said about it. The harness's own
    /// probe connections (readiness after a server action) are left out.
    pub fn stop(self) -> Result<(PathBuf, Health), String> {
        #[cfg(feature = "live")]
        {
            // Packets already sent reach the ring within a few
            // milliseconds; after the stop the source still hands over
            // every block that holds a frame from before it.
            std::thread::sleep(std::time::Duration::from_millis(150));
            for p in &self.parts {
                p.stop.stop();
            }
            let mut health = Health::default();
            let mut files = Vec::new();
            let mut errors = Vec::new();
            for p in self.parts {
                match p.thread.join() {
                    Ok(Ok(h)) => {
                        health.frames += h.frames;
                        health.lost += h.lost;
                    }
                    Ok(Err(e)) => errors.push(format!("{}: {e}", p.iface)),
                    Err(_) => errors.push(format!("{}: the capture thread panicked", p.iface)),
                }
                files.push(p.path);
            }
            if !errors.is_empty() {
                return Err(errors.join("; "));
            }
            let own = crate::lab::probe::own_flows_since(self.started);
            if files.len() == 1 && own.is_empty() {
                std::fs::rename(&files[0], &self.path).map_err(|e| e.to_string())?;
            } else {
                let parts: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
                health.frames = merge::merge(&parts, &own, &self.path)?;
                for f in &files {
                    let _ = std::fs::remove_file(f);
                }
            }
            Ok((self.path, health))
        }
        #[cfg(not(feature = "live"))]
        Ok((self.path, Health::default()))
    }

    /// Stops the capture and runs the passive rules on it: as a complete
    /// capture when nothing was lost, else as a partial one, saying so.
    pub fn finish(self) -> Result<Observed, String> {
        let (path, health) = self.stop()?;
        let mut observed = analyze(&path, health.lost == 0)?;
        if health.lost > 0 {
            observed.note = Some(format!(
                "the trial's capture lost {} frames (libpcap counted them dropped; {} \
                 captured); the passive rules judged it as a partial capture",
                health.lost, health.frames
            ));
        }
        Ok(observed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_capture_is_analysed_with_message_times() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../captures/ganesha-v41-session.pcap");
        let o = analyze(&p, true).expect("reads");
        assert!(o.frames > 0 && !o.messages.is_empty());
        let (f0, t0) = o.messages[0];
        let near = crate::report::sequence::step_frames(&o.messages, t0, t0);
        assert!(near.contains(&f0), "{near:?}");
        let last = o.messages.last().map(|m| m.1).unwrap_or(0.0);
        assert!(
            crate::report::sequence::step_frames(&o.messages, last + 1.0, last + 2.0).is_empty()
        );
        assert!(o.messages.windows(2).all(|w| w[0].0 <= w[1].0));
    }
}
