//! How reports name frames: by a file's own numbers, or, for several files
//! merged into one observation, `file#frame`.

use analyzer::pipeline::merge::FrameMap;

/// How a report names frames: a file's own numbers, or, for several files
/// merged into one observation, `file#frame`.
#[derive(Debug, Clone, Copy)]
pub enum Frames<'a> {
    /// One file: frame numbers are that file's.
    Single,
    /// Merged files: frame numbers count the merged stream.
    Merged(&'a FrameMap),
}

impl Frames<'_> {
    /// A frame as the report shows it (`12`, or `b.pcap#12` when merged).
    pub fn label(&self, n: u64) -> String {
        match self {
            Frames::Single => n.to_string(),
            Frames::Merged(m) => m.label(n),
        }
    }

    /// (file index, frame in that file).
    pub fn locate(&self, n: u64) -> (usize, u64) {
        match self {
            Frames::Single => (0, n),
            Frames::Merged(m) => m.locate(n).map_or((0, n), |r| (r.file, r.frame)),
        }
    }

    /// A finding's message with each "frame N" it mentions relabelled.
    pub fn message(&self, msg: &str) -> String {
        match self {
            Frames::Single => msg.to_string(),
            Frames::Merged(_) => relabel(msg, |n| self.label(n)),
        }
    }

    /// A finding's frames, comma separated.
    pub fn list(&self, frames: &[u64]) -> String {
        join(frames.iter().map(|f| self.label(*f)))
    }
}

/// Replaces the number after each "frame " in `msg` with `label(number)`.
fn relabel(msg: &str, label: impl Fn(u64) -> String) -> String {
    const WORD: &str = "frame ";
    let mut out = String::with_capacity(msg.len() + 16);
    let mut rest = msg;
    while let Some(i) = rest.find(WORD) {
        let (head, tail) = rest.split_at(i + WORD.len());
        out.push_str(head);
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        match tail[..digits].parse::<u64>() {
            Ok(n) => out.push_str(&label(n)),
            Err(_) => out.push_str(&tail[..digits]),
        }
        rest = &tail[digits..];
    }
    out.push_str(rest);
    out
}

/// One finding as a report line: `id [severity party, rfc] message (frames ...)`.
pub fn finding_line(f: &analyzer::rules::Finding, fr: &Frames<'_>) -> String {
    format!(
        "{} [{} {}, {}] {} (frames {})",
        f.rule.id,
        f.rule.severity.as_str(),
        f.rule.party.as_str(),
        f.rule.rfc,
        fr.message(&f.message),
        fr.list(&f.frames)
    )
}

/// Items as text, joined by ", ".
pub(crate) fn join<T: ToString>(it: impl IntoIterator<Item = T>) -> String {
    it.into_iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use analyzer::rules::{Finding, CSESS_ATTRS};

    #[test]
    fn merged_frames_are_named_by_file_in_lines_and_messages() {
        let mut map = FrameMap::new(vec!["a.pcap".into(), "b.pcap".into()]);
        for (file, local) in [(0, 1), (1, 1), (1, 2), (0, 2)] {
            map.push(file, local);
        }
        let fr = Frames::Merged(&map);
        let f = Finding {
            rule: &CSESS_ATTRS,
            message: "first in frame 2, then frame 4; frames 1-2 untouched".into(),
            frames: vec![3, 4],
            servers: vec![],
        };
        let line = finding_line(&f, &fr);
        assert!(
            line.ends_with("first in frame b.pcap#1, then frame a.pcap#2; frames 1-2 untouched (frames b.pcap#2, a.pcap#2)"),
            "{line}"
        );
        assert_eq!(fr.locate(4), (0, 2));
        assert_eq!(Frames::Single.message(&f.message), f.message);
        assert!(finding_line(&f, &Frames::Single).ends_with("(frames 3, 4)"));
    }
}
