//! Several capture files analysed as one observation (`analyze --merge`),
//! e.g. captures taken at two servers, or before and after a restart.
//!
//! - Frames are interleaved by timestamp: a k-way merge of the files' frame
//!   streams (each file is read in its own order); equal timestamps go in
//!   file order.
//! - Frames are numbered 1, 2, ... in merged order, so that "earlier" means
//!   the same thing across files. A [`FrameMap`] turns a merged number back
//!   into (file, frame number in that file), which is what reports show.
//!   It holds one entry per switch from one file to another, so its size
//!   grows with how often the files interleave, never with frame counts.
//! - Each file's TCP connections are its own (ids from
//!   `file << CONN_FILE_SHIFT`), even when two files show the same 5-tuple:
//!   the same connection seen at two capture points is then two connections
//!   in the model, and its RPCs are seen twice (as retries).

use crate::capture::packet::Timestamp;
use crate::capture::{CaptureError, FileSource, Frame, LinkType};
use crate::exchange::MessageSink;
use crate::pipeline::{FrameSource, Pipeline, PipelineLimits, PipelineStats};
use std::path::Path;

/// A frame of one file of a merged analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FrameRef {
    /// Index of the file (0 for the first one named).
    pub file: usize,
    /// Frame number within that file (from 1, as tshark counts).
    pub frame: u64,
}

/// One run of consecutive merged frames from the same file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    /// First merged frame number of the run.
    start: u64,
    /// The file.
    file: usize,
    /// Its frame number in that file.
    local: u64,
}

/// Maps merged frame numbers back to files and their own frame numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FrameMap {
    files: Vec<String>,
    runs: Vec<Run>,
    next: u64,
}

impl FrameMap {
    /// A map for these file names (in the order given on the command line).
    pub fn new(files: Vec<String>) -> Self {
        FrameMap {
            files,
            runs: Vec::new(),
            next: 1,
        }
    }

    /// The file names.
    pub fn files(&self) -> &[String] {
        &self.files
    }

    /// Numbers the next merged frame, from `file` where it is frame `local`.
    pub fn push(&mut self, file: usize, local: u64) -> u64 {
        let n = self.next;
        self.next += 1;
        let continues = self
            .runs
            .last()
            .is_some_and(|r| r.file == file && r.local + (n - r.start) == local);
        if !continues {
            self.runs.push(Run {
                start: n,
                file,
                local,
            });
        }
        n
    }

    /// Where merged frame `merged` came from (`None` for 0 or beyond the end).
    pub fn locate(&self, merged: u64) -> Option<FrameRef> {
        if merged == 0 || merged >= self.next {
            return None;
        }
        let i = self.runs.partition_point(|r| r.start <= merged);
        let r = self.runs.get(i.checked_sub(1)?)?;
        Some(FrameRef {
            file: r.file,
            frame: r.local + (merged - r.start),
        })
    }

    /// `name#frame` for a merged frame number (`#n` when unknown).
    pub fn label(&self, merged: u64) -> String {
        match self.locate(merged) {
            Some(r) => format!(
                "{}#{}",
                self.files.get(r.file).map_or("?", String::as_str),
                r.frame
            ),
            None => format!("#{merged}"),
        }
    }

    /// The runs: (first merged frame, file, its frame number in that file).
    pub fn runs_list(&self) -> impl Iterator<Item = (u64, usize, u64)> + '_ {
        self.runs.iter().map(|r| (r.start, r.file, r.local))
    }

    /// Switches between files recorded (the map's size).
    pub fn runs(&self) -> usize {
        self.runs.len()
    }
}

/// A frame copied out of its source, waiting for its turn.
struct Held {
    number: u64,
    ts: Timestamp,
    linktype: LinkType,
    interface: u32,
    data: Vec<u8>,
    orig_len: u32,
}

/// One input file and the frame it will give next.
struct Input {
    src: FileSource,
    head: Option<Held>,
    done: bool,
}

impl Input {
    /// Reads the next frame into `head` (an error ends this file and is
    /// returned).
    fn fill(&mut self) -> Result<(), CaptureError> {
        if self.done || self.head.is_some() {
            return Ok(());
        }
        match self.src.next_frame() {
            Ok(Some(f)) => {
                let mut data = Vec::new();
                data.extend_from_slice(f.data);
                self.head = Some(Held {
                    number: f.number,
                    ts: f.ts,
                    linktype: f.linktype,
                    interface: f.interface,
                    data,
                    orig_len: f.orig_len,
                });
                Ok(())
            }
            Ok(None) => {
                self.done = true;
                Ok(())
            }
            Err(e) => {
                self.done = true;
                Err(e)
            }
        }
    }
}

/// The input whose head frame comes first (earliest timestamp, then file
/// order).
fn earliest(inputs: &[Input]) -> Option<usize> {
    inputs
        .iter()
        .enumerate()
        .filter_map(|(i, inp)| inp.head.as_ref().map(|h| (h.ts, i)))
        .min()
        .map(|(_, i)| i)
}

/// The files' names without their directories, when that keeps them
/// distinct (else their paths as given).
fn short_names(paths: &[&Path]) -> Vec<String> {
    let short: Vec<String> = paths
        .iter()
        .map(|p| {
            p.file_name().map_or_else(
                || p.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            )
        })
        .collect();
    let mut sorted = short.clone();
    sorted.sort();
    sorted.dedup();
    if sorted.len() == short.len() {
        short
    } else {
        paths.iter().map(|p| p.display().to_string()).collect()
    }
}

/// Several capture files as one [`FrameSource`]: frames interleaved by
/// timestamp and numbered in merged order (see [`FrameMap`]).
pub struct MergedSource {
    inputs: Vec<Input>,
    map: FrameMap,
    /// The frame last returned (it borrows from here).
    current: Option<Held>,
}

impl MergedSource {
    /// Opens every file (an error opening any of them is an `Err`).
    pub fn open(paths: &[&Path]) -> Result<Self, CaptureError> {
        let mut inputs = Vec::with_capacity(paths.len());
        for p in paths {
            inputs.push(Input {
                src: FileSource::open(p)?,
                head: None,
                done: false,
            });
        }
        Ok(MergedSource {
            inputs,
            map: FrameMap::new(short_names(paths)),
            current: None,
        })
    }

    /// The map from merged frame numbers back to files.
    pub fn into_map(self) -> FrameMap {
        self.map
    }
}

impl FrameSource for MergedSource {
    fn next_frame(&mut self) -> Result<Option<(usize, Frame<'_>)>, CaptureError> {
        for inp in &mut self.inputs {
            inp.fill()?;
        }
        let Some(i) = earliest(&self.inputs) else {
            return Ok(None);
        };
        let Some(h) = self.inputs.get_mut(i).and_then(|inp| inp.head.take()) else {
            return Ok(None);
        };
        let number = self.map.push(i, h.number);
        let h = self.current.insert(h);
        Ok(Some((
            i,
            Frame {
                number,
                ts: h.ts,
                linktype: h.linktype,
                interface: h.interface,
                data: &h.data,
                orig_len: h.orig_len,
            },
        )))
    }

    fn progress(&self) -> (u64, Option<u64>) {
        self.inputs.iter().fold((0, Some(0)), |(done, total), inp| {
            (
                done + inp.src.bytes_read(),
                total.zip(inp.src.total_bytes()).map(|(a, b)| a + b),
            )
        })
    }
}

/// Decodes several capture files as one observation into `sink`
/// ([`Pipeline::run`] over a [`MergedSource`]). An error opening any file is
/// an `Err`; an error later in a file ends that file (reported in the stats)
/// while the others go on.
pub fn decode_files_merged<M: MessageSink>(
    paths: &[&Path],
    limits: PipelineLimits,
    sink: M,
) -> Result<(M, PipelineStats, FrameMap), CaptureError> {
    let mut src = MergedSource::open(paths)?;
    let (sink, stats) = Pipeline::new(limits, sink).run(&mut src, |_, _| {});
    Ok((sink, stats, src.into_map()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_numbers_map_back_to_files_and_their_frames() {
        let mut m = FrameMap::new(vec!["a.pcap".into(), "b.pcap".into()]);
        // a#1 a#2 b#1 a#3 b#2 b#3
        for (file, local) in [(0, 1), (0, 2), (1, 1), (0, 3), (1, 2), (1, 3)] {
            m.push(file, local);
        }
        assert_eq!(m.runs(), 4);
        let got: Vec<String> = (1..=6).map(|n| m.label(n)).collect();
        assert_eq!(
            got,
            ["a.pcap#1", "a.pcap#2", "b.pcap#1", "a.pcap#3", "b.pcap#2", "b.pcap#3"]
        );
        assert_eq!(m.locate(0), None);
        assert_eq!(m.locate(7), None);
        assert_eq!(m.label(9), "#9");
    }
}
