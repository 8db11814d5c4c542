//! Each trial's own traffic, captured live, and the analyzer's passive
//! rules run on it: a server violation the steps did not look for still
//! fails the trial, with the frames that show it.

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

/// Runs the passive rules over a capture file.
pub fn analyze(path: &Path) -> Result<Observed, String> {
    let sink = Observer {
        // A trial's own capture holds all of its client's traffic.
        analysis: Analysis::new(Default::default()).complete(),
        messages: Vec::new(),
    };
    let (obs, stats) = analyzer::pipeline::decode_file(path, Default::default(), sink, |_, _| {})
        .map_err(|e| e.to_string())?;
    Ok(Observed {
        path: path.to_path_buf(),
        findings: obs.analysis.findings().to_vec(),
        messages: obs.messages,
        frames: stats.frames,
    })
}

/// A live capture running for one trial.
pub struct TrialCapture {
    path: PathBuf,
    #[cfg(feature = "live")]
    stop: analyzer::capture::StopHandle,
    #[cfg(feature = "live")]
    thread: std::thread::JoinHandle<Result<(), String>>,
}

/// Whether this build can capture (the `live` feature, libpcap).
pub const CAN_CAPTURE: bool = cfg!(feature = "live");

impl TrialCapture {
    /// Starts capturing trial `index`'s traffic into `dir/ID.pcap`.
    #[cfg(feature = "live")]
    pub fn start(env: &Env, index: usize, dir: &Path, id: &str) -> Result<TrialCapture, String> {
        use analyzer::capture::LiveSource;
        let iface = env.capture_interface.clone().unwrap_or_else(|| "lo".into());
        let filter = env.trial_filter(index, 4);
        let path = dir.join(format!("{id}.pcap"));
        let open = || LiveSource::open(&iface, &filter, 262_144);
        let src = match &env.netns {
            Some(ns) => ns.run(open).map_err(|e| e.to_string())?,
            None => open(),
        };
        let mut src = src.map_err(|e| format!("cannot capture on {iface}: {e}"))?;
        src.save_to(&path).map_err(|e| e.to_string())?;
        let stop = src.stop_handle();
        let thread = std::thread::spawn(move || {
            loop {
                match src.next_frame() {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => return Err(e.to_string()),
                }
            }
            src.flush().map_err(|e| e.to_string())
        });
        Ok(TrialCapture { path, stop, thread })
    }

    /// Without libpcap there is no live capture.
    #[cfg(not(feature = "live"))]
    pub fn start(
        _env: &Env,
        _index: usize,
        _dir: &Path,
        _id: &str,
    ) -> Result<TrialCapture, String> {
        Err("this build has no live capture (build with --features live)".into())
    }

    /// Stops the capture (after the last packets had time to arrive) and
    /// returns the file.
    pub fn finish(self) -> Result<PathBuf, String> {
        #[cfg(feature = "live")]
        {
            // Packets already sent reach the capture within a few
            // milliseconds on loopback (immediate mode).
            std::thread::sleep(std::time::Duration::from_millis(150));
            self.stop.stop();
            self.thread
                .join()
                .map_err(|_| "the capture thread panicked".to_string())??;
        }
        Ok(self.path)
    }
}

/// The frames of NFSv4 messages sent in a time window (a step's).
pub fn frames_between(messages: &[(u64, f64)], from: f64, to: f64) -> Vec<u64> {
    messages
        .iter()
        .filter(|(_, t)| *t >= from - 0.005 && *t <= to + 0.005)
        .map(|(f, _)| *f)
        .take(8)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_capture_is_analysed_with_message_times() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../captures/ganesha-v41-session.pcap");
        let o = analyze(&p).expect("reads");
        assert!(o.frames > 0 && !o.messages.is_empty());
        let (f0, t0) = o.messages[0];
        let near = frames_between(&o.messages, t0, t0);
        assert!(near.contains(&f0), "{near:?}");
        let last = o.messages.last().map(|m| m.1).unwrap_or(0.0);
        assert!(frames_between(&o.messages, last + 1.0, last + 2.0).is_empty());
        assert!(o.messages.windows(2).all(|w| w[0].0 <= w[1].0));
    }
}
