//! A whole capture file (pcap or pcapng, maybe gzip-compressed) through the
//! file reader and the decoding pipeline (link layer, TCP reassembly, RPC
//! records, COMPOUND decoding), with small limits and a sink that discards.
//!
//! Invariants: frames are numbered 1, 2, ... with `orig_len >= data.len()`;
//! the pipeline counts every frame it was given.
#![no_main]

use analyzer::capture::FileSource;
use analyzer::exchange::{ExchangeLimits, Message, MessageSink, Notice};
use analyzer::pipeline::{Pipeline, PipelineLimits};
use analyzer::rpc::stream::StreamLimits;
use analyzer::tcp::TcpLimits;
use libfuzzer_sys::fuzz_target;

/// Looks at each message a little, keeps nothing.
struct Discard {
    messages: u64,
}

impl MessageSink for Discard {
    fn message(&mut self, m: &Message<'_>) {
        self.messages += 1;
        let mut n = 0;
        m.for_each_op_name(|_| n += 1);
        let _ = m.compound_status();
    }

    fn notice(&mut self, _: &Notice) {}
    fn finish(&mut self) {}
}

fuzz_target!(|data: &[u8]| {
    let len = data.len() as u64;
    let Ok(mut src) =
        FileSource::from_reader("fuzz", std::io::Cursor::new(data.to_vec()), Some(len))
    else {
        return;
    };
    let limits = PipelineLimits {
        tcp: TcpLimits {
            max_ooo_bytes: 4096,
            max_ooo_segments: 8,
            max_total_bytes: 16384,
            max_connections: 8,
            max_closed_remembered: 8,
            ..TcpLimits::default()
        },
        stream: StreamLimits {
            max_record: 64 << 10,
            hunt_window: 4096,
            hunt_give_up: 16384,
            max_buffered_bytes: 1 << 20,
        },
        exchange: ExchangeLimits {
            max_pending_per_conn: 8,
            max_pending_total: 16,
            max_cb_programs: 4,
        },
        max_problems: 16,
    };
    let mut p = Pipeline::new(limits, Discard { messages: 0 });
    let mut frames = 0u64;
    loop {
        match src.next_frame() {
            Ok(Some(f)) => {
                frames += 1;
                assert_eq!(f.number, frames);
                assert!(f.orig_len as usize >= f.data.len());
                p.frame(&f);
            }
            Ok(None) => break,
            Err(e) => {
                p.read_error(&e);
                break;
            }
        }
    }
    assert_eq!(src.frames_read(), frames);
    let (_, stats) = p.finish();
    assert_eq!(stats.frames, frames);
    assert!(stats.problems.len() <= 16);
});
