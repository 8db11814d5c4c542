//! Why a trial failed: the step, what was expected and what came, the RFC
//! section, and the frames of the trial's capture that show it.

use std::fmt;

/// Why a trial failed: the step, what was expected and what came.
#[derive(Debug, Clone, Default)]
pub struct Failure {
    /// 1-based step number (none: before the steps, e.g. setup).
    pub step: Option<usize>,
    /// What the step did.
    pub what: String,
    /// The problem in one line.
    pub message: String,
    /// The expected value, when there is one.
    pub expected: Option<String>,
    /// The value that came.
    pub actual: Option<String>,
    /// The RFC section the expectation comes from.
    pub rule: Option<String>,
    /// Why it matters.
    pub why: Option<String>,
    /// Frames of the trial's capture that show it.
    pub frames: Vec<u64>,
    /// What the expectation is worth and why: `warning (SHOULD, catalogue
    /// row 44)` (none: a failure of a step that states no expectation).
    pub strength: Option<String>,
    /// The step could not be sent: it needs what an earlier step did not
    /// leave (a saved client ID, session, open or lock).
    pub unmet: bool,
}

impl Failure {
    /// A failure at step `n` with a message.
    pub fn at(n: usize, what: impl Into<String>, message: impl Into<String>) -> Failure {
        Failure {
            step: Some(n),
            what: what.into(),
            message: message.into(),
            ..Failure::default()
        }
    }

    /// Step `n` needs what an earlier step did not leave behind.
    pub fn unmet(n: usize, what: impl Into<String>, message: impl Into<String>) -> Failure {
        Failure {
            unmet: true,
            ..Failure::at(n, what, message)
        }
    }

    /// A failure at step `n` where `expected` and `actual` differ.
    pub(super) fn mismatch(
        n: usize,
        what: &str,
        message: String,
        expected: String,
        actual: String,
    ) -> Failure {
        Failure {
            step: Some(n),
            what: what.into(),
            message,
            expected: Some(expected),
            actual: Some(actual),
            ..Failure::default()
        }
    }

    /// The same failure naming the RFC section and why it matters.
    pub(super) fn with_rule(mut self, rule: &Option<String>, why: &Option<String>) -> Failure {
        self.rule = rule.clone();
        self.why = why.clone();
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.step {
            Some(n) => write!(f, "step {n} ({}): {}", self.what, self.message)?,
            None => write!(f, "{}: {}", self.what, self.message)?,
        }
        if let Some(e) = &self.expected {
            write!(f, "\n  expected: {e}")?;
        }
        if let Some(a) = &self.actual {
            write!(f, "\n  actual:   {a}")?;
        }
        if let Some(r) = &self.rule {
            write!(f, "\n  rule:     {r}")?;
        }
        if let Some(w) = &self.why {
            write!(f, "\n  why:      {w}")?;
        }
        if let Some(s) = &self.strength {
            write!(f, "\n  strength: {s}")?;
        }
        if !self.frames.is_empty() {
            let frames: Vec<String> = self.frames.iter().map(u64::to_string).collect();
            write!(f, "\n  frames:   {}", frames.join(", "))?;
        }
        Ok(())
    }
}
