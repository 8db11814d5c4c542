//! Live capture from a network interface through libpcap (cargo feature
//! `live`; needs libpcap at build and run time, and the right to capture:
//! root or `CAP_NET_RAW`).
//!
//! libpcap is opened in immediate, non-blocking mode: when no frame is
//! waiting, `next_frame` sleeps [`IDLE_MS`] milliseconds and looks again, so
//! the stop flag that a [`StopHandle`] sets from another thread is honoured
//! within a few milliseconds. (libpcap's own read timeout is not enough: on
//! Linux with TPACKET_V3 a blocking read waits forever on an idle
//! interface, whatever the timeout.)

use super::error::{CaptureError, CaptureErrorKind as K};
use super::{Frame, LinkType};
use crate::capture::packet::Timestamp;
use pcap::{Active, Capture, Savefile};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Sleep between two looks at an idle interface.
pub const IDLE_MS: u64 = 10;
/// libpcap's buffer timeout (TPACKET_V3 block retire time).
const TIMEOUT_MS: i32 = 20;

/// Stops a [`LiveSource`] from another thread.
#[derive(Debug, Clone)]
pub struct StopHandle(Arc<AtomicBool>);

impl StopHandle {
    /// Asks the source to stop: its `next_frame` returns `Ok(None)` within
    /// about [`IDLE_MS`] milliseconds.
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// True once `stop` was called.
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Frames from a network interface, as they arrive.
///
/// ```no_run
/// # use analyzer::capture::LiveSource;
/// let mut source = LiveSource::open("lo", "tcp port 2049", 0)?;
/// let stop = source.stop_handle();
/// std::thread::spawn(move || {
///     std::thread::sleep(std::time::Duration::from_secs(5));
///     stop.stop();
/// });
/// while let Some(frame) = source.next_frame()? {
///     println!("{} {} bytes", frame.ts, frame.data.len());
/// }
/// # Ok::<(), analyzer::capture::CaptureError>(())
/// ```
pub struct LiveSource {
    name: String,
    capture: Capture<Active>,
    linktype: LinkType,
    savefile: Option<Savefile>,
    stop: Arc<AtomicBool>,
    frames: u64,
    done: bool,
    /// The bytes of the frame last returned.
    buf: Vec<u8>,
}

impl std::fmt::Debug for LiveSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveSource")
            .field("interface", &self.name)
            .field("linktype", &self.linktype)
            .field("frames", &self.frames)
            .field("saving", &self.savefile.is_some())
            .finish()
    }
}

fn live_err(name: &str, e: pcap::Error) -> CaptureError {
    CaptureError::new(name, K::Live(e.to_string()))
}

impl LiveSource {
    /// Opens `interface` (e.g. `"lo"`, `"eth0"`, `"any"`) with the BPF
    /// filter `bpf_filter` (empty for none), capturing at most `snaplen`
    /// bytes of each frame (0 or less for the whole frame), not
    /// promiscuous, with nanosecond timestamps where the system has them.
    pub fn open(interface: &str, bpf_filter: &str, snaplen: i32) -> Result<Self, CaptureError> {
        let snaplen = if snaplen <= 0 { 262_144 } else { snaplen };
        let inactive = Capture::from_device(interface).map_err(|e| live_err(interface, e))?;
        let mut capture = inactive
            .snaplen(snaplen)
            .promisc(false)
            .immediate_mode(true)
            .timeout(TIMEOUT_MS)
            .buffer_size(8 << 20)
            .precision(pcap::Precision::Nano)
            .open()
            .and_then(|c| c.setnonblock())
            .map_err(|e| live_err(interface, e))?;
        if !bpf_filter.is_empty() {
            capture
                .filter(bpf_filter, true)
                .map_err(|e| live_err(interface, e))?;
        }
        let linktype = LinkType(capture.get_datalink().0 as u32 & 0xffff);
        Ok(LiveSource {
            name: interface.to_string(),
            capture,
            linktype,
            savefile: None,
            stop: Arc::new(AtomicBool::new(false)),
            frames: 0,
            done: false,
            buf: Vec::new(),
        })
    }

    /// Also writes every frame returned from now on to the pcap file `path`
    /// (created or truncated; nanosecond timestamps).
    pub fn save_to(&mut self, path: &Path) -> Result<(), CaptureError> {
        let savefile = self
            .capture
            .savefile(path)
            .map_err(|e| CaptureError::new(path.display().to_string(), K::Live(e.to_string())))?;
        self.savefile = Some(savefile);
        Ok(())
    }

    /// Flushes the save file, if any, to disk.
    pub fn flush(&mut self) -> Result<(), CaptureError> {
        if let Some(s) = &mut self.savefile {
            s.flush().map_err(|e| live_err(&self.name, e))?;
        }
        Ok(())
    }

    /// A handle that stops this source from another thread.
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle(Arc::clone(&self.stop))
    }

    /// The interface's link type.
    pub fn linktype(&self) -> LinkType {
        self.linktype
    }

    /// Frames delivered so far.
    pub fn frames_read(&self) -> u64 {
        self.frames
    }

    /// The next frame; `Ok(None)` once stopped. Blocks until a frame
    /// arrives or the stop flag is set.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        loop {
            if self.done || self.stop.load(Ordering::SeqCst) {
                self.done = true;
                if let Some(s) = &mut self.savefile {
                    // Best effort: the frames were written as they came.
                    let _ = s.flush();
                }
                return Ok(None);
            }
            let header = match self.capture.next_packet() {
                Ok(packet) => {
                    if let Some(s) = &mut self.savefile {
                        s.write(&packet);
                    }
                    // Copied so that the frame borrows `self`, not the
                    // capture handle that the loop polls.
                    self.buf.clear();
                    self.buf.extend_from_slice(packet.data);
                    *packet.header
                }
                Err(pcap::Error::TimeoutExpired) => {
                    std::thread::sleep(Duration::from_millis(IDLE_MS));
                    continue;
                }
                Err(pcap::Error::NoMorePackets) => {
                    self.done = true;
                    return Ok(None);
                }
                Err(e) => {
                    self.done = true;
                    return Err(live_err(&self.name, e).at(self.frames + 1, 0));
                }
            };
            self.frames += 1;
            // time_t is 32 bits on some platforms.
            #[allow(clippy::unnecessary_cast)]
            let secs = header.ts.tv_sec as i64;
            // With nanosecond precision, tv_usec holds nanoseconds.
            let nanos = u32::try_from(header.ts.tv_usec)
                .unwrap_or(0)
                .min(999_999_999);
            return Ok(Some(Frame {
                number: self.frames,
                ts: Timestamp { secs, nanos },
                linktype: self.linktype,
                interface: 0,
                data: &self.buf,
                orig_len: header.len.max(header.caplen),
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::packet::Transport;
    use crate::capture::slice;
    use std::net::{TcpListener, TcpStream};
    use std::time::{Duration, Instant};

    /// Needs root (or CAP_NET_RAW) and libpcap:
    /// `cargo test -p trunkcheck-analyzer --features live capture::live -- --ignored`
    #[test]
    #[ignore = "needs root or CAP_NET_RAW: run with --features live -- --ignored"]
    fn sees_the_syn_of_a_loopback_connection() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut source = LiveSource::open("lo", &format!("tcp port {port}"), 0).unwrap();
        let dir = std::env::temp_dir().join(format!("trunkcheck-live-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let saved = dir.join("lo.pcap");
        source.save_to(&saved).unwrap();
        let stop = source.stop_handle();

        let connector = std::thread::spawn(move || {
            let _conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
            let _accepted = listener.accept().unwrap();
            std::thread::sleep(Duration::from_millis(200));
        });
        let stopper = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_secs(2));
                stop.stop();
            })
        };

        let start = Instant::now();
        let mut saw_syn = false;
        let mut frames = 0;
        while let Some(frame) = source.next_frame().unwrap() {
            frames += 1;
            assert_eq!(frame.number, frames);
            if let Ok(p) = slice(frame.linktype, frame.data, frame.orig_len) {
                if let Transport::Tcp(t) = p.transport {
                    if t.flags.syn && !t.flags.ack && t.dst_port == port {
                        saw_syn = true;
                    }
                }
            }
        }
        let stopped_after = start.elapsed();
        connector.join().unwrap();
        stopper.join().unwrap();
        assert!(saw_syn, "no SYN to port {port} among {frames} frames");
        // Stopped at 2 s; honoured within a few poll intervals.
        assert!(
            stopped_after < Duration::from_millis(2500),
            "{stopped_after:?}"
        );
        source.flush().unwrap();
        drop(source);

        // The save file holds the same frames and reads back.
        let n = crate::capture::for_each_frame(&saved, |_| {}).unwrap();
        assert_eq!(n, frames);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
