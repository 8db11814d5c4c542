//! Live capture from a network interface through libpcap (cargo feature
//! `live`; needs libpcap at build and run time, and the right to capture:
//! root or `CAP_NET_RAW`).
//!
//! libpcap is opened in non-blocking mode: when no frame is waiting,
//! `next_frame` sleeps [`IDLE_MS`] milliseconds and looks again, so the stop
//! flag that a [`StopHandle`] sets from another thread is honoured within a
//! few milliseconds. (A blocking read is no good: on Linux with TPACKET_V3
//! it waits forever on an idle interface, whatever the timeout.)
//!
//! **The ring must hold a burst.** In immediate mode libpcap uses
//! TPACKET_V2, whose ring has one fixed slot per frame, sized for the snap
//! length (capped at the MTU only on Ethernet devices): with the old
//! settings (262,144-byte snap length, 8 MiB buffer) the ring of the `any`
//! device held 16 frames, and with 64 KiB slots a 64 MiB ring holds 512.
//! While the reading thread slept or waited for a core, the kernel dropped
//! everything past that (a burst of 600 small writes on a loaded machine
//! lost 1,174 of 1,685 frames), and the capture ended short with no gap to
//! show for it. So the source is *not* in immediate mode: libpcap then uses
//! TPACKET_V3, whose blocks hold frames of any size back to back, and a
//! ring of [`DEFAULT_BUFFER`] bytes holds that many bytes of frames,
//! whatever their number. The price is latency: a block reaches the reader
//! when it is full or [`BLOCK_TIMEOUT_MS`] after its first frame, so a
//! stopped source keeps reading for a few block timeouts before it ends
//! (nothing captured before the stop is left in the ring). And
//! [`LiveSource::stats`] reports what the kernel dropped anyway, so that a
//! caller never takes a short capture for a whole one.

use super::error::{CaptureError, CaptureErrorKind as K};
use super::{Frame, LinkType};
use crate::capture::packet::Timestamp;
use pcap::{Active, Capture, Savefile};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Sleep between two looks at an idle interface.
pub const IDLE_MS: u64 = 5;
/// libpcap's buffer timeout: a TPACKET_V3 block reaches the reader at most
/// this long after its first frame.
pub const BLOCK_TIMEOUT_MS: u64 = 20;

/// The default snap length: an IPv4 or IPv6 packet of 64 KiB (what GSO and
/// GRO hand to a capture at most) plus any link header.
pub const DEFAULT_SNAPLEN: i32 = 65_535 + 64;
/// The default ring: 64 MiB of frames (TPACKET_V3 blocks).
pub const DEFAULT_BUFFER: i32 = 64 << 20;

/// What libpcap counted for a [`LiveSource`] (`pcap_stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveStats {
    /// Frames the socket saw (on `any`, loopback frames count twice: libpcap
    /// skips the outgoing copy after counting it).
    pub received: u64,
    /// Frames the kernel dropped because the ring was full.
    pub dropped: u64,
    /// Frames the interface or its driver dropped (on a real NIC this
    /// counts every frame it dropped, not only those the filter wanted).
    pub if_dropped: u64,
    /// Frames returned by [`LiveSource::next_frame`].
    pub read: u64,
}

impl LiveStats {
    /// Frames that may belong to the capture but never reached the reader.
    pub fn lost(&self) -> u64 {
        self.dropped + self.if_dropped
    }
}

/// Stops a [`LiveSource`] from another thread.
#[derive(Debug, Clone)]
pub struct StopHandle(Arc<AtomicBool>);

impl StopHandle {
    /// Asks the source to stop: its `next_frame` returns the frames captured
    /// until then, then `Ok(None)` (within a few [`BLOCK_TIMEOUT_MS`]).
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
    /// When `next_frame` first saw the stop flag.
    stop_seen: Option<std::time::Instant>,
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
    /// bytes of each frame (0 or less for [`DEFAULT_SNAPLEN`]), not
    /// promiscuous, with nanosecond timestamps where the system has them,
    /// and a ring of [`DEFAULT_BUFFER`] bytes.
    pub fn open(interface: &str, bpf_filter: &str, snaplen: i32) -> Result<Self, CaptureError> {
        LiveSource::open_with(interface, bpf_filter, snaplen, DEFAULT_BUFFER)
    }

    /// Opens `interface` like [`LiveSource::open`], with a kernel ring of
    /// `buffer_bytes` (libpcap's buffer size; at least 64 KiB).
    pub fn open_with(
        interface: &str,
        bpf_filter: &str,
        snaplen: i32,
        buffer_bytes: i32,
    ) -> Result<Self, CaptureError> {
        let snaplen = if snaplen <= 0 {
            DEFAULT_SNAPLEN
        } else {
            snaplen.max(64)
        };
        let inactive = Capture::from_device(interface).map_err(|e| live_err(interface, e))?;
        let mut capture = inactive
            .snaplen(snaplen)
            .promisc(false)
            .immediate_mode(false)
            .timeout(BLOCK_TIMEOUT_MS as i32)
            .buffer_size(buffer_bytes.max(1 << 16))
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
            stop_seen: None,
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

    /// libpcap's counters so far, with the frames read. Ask after the
    /// source stopped to learn whether the capture is whole
    /// ([`LiveStats::lost`] is 0).
    pub fn stats(&mut self) -> Result<LiveStats, CaptureError> {
        let s = self.capture.stats().map_err(|e| live_err(&self.name, e))?;
        Ok(LiveStats {
            received: u64::from(s.received),
            dropped: u64::from(s.dropped),
            if_dropped: u64::from(s.if_dropped),
            read: self.frames,
        })
    }

    /// The next frame; `Ok(None)` once stopped and every frame already in
    /// the ring was returned. Blocks until a frame arrives or the stop flag
    /// is set.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        loop {
            if self.done {
                return Ok(None);
            }
            if self.stop_seen.is_none() && self.stop.load(Ordering::SeqCst) {
                self.stop_seen = Some(std::time::Instant::now());
            }
            // Stopped, and every block that held a frame from before the
            // stop has been handed over (retired within a block timeout).
            let stopping = self
                .stop_seen
                .is_some_and(|t| t.elapsed() >= Duration::from_millis(3 * BLOCK_TIMEOUT_MS));
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
                // The ring is empty: a stopped source ends here, having
                // returned what arrived before the stop.
                Err(pcap::Error::TimeoutExpired) if stopping => {
                    self.done = true;
                    if let Some(s) = &mut self.savefile {
                        // Best effort: the frames were written as they came.
                        let _ = s.flush();
                    }
                    return Ok(None);
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
