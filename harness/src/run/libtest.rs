//! A runner that prints what `cargo test` prints: `running N tests`, one
//! `test NAME ... ok` line per scenario (with a note such as
//! `ok (2 warnings)`), the failures with their messages, and the
//! `test result:` line. CI systems and people read these lines, so they keep
//! libtest's shape; the runner is ours so that a passed trial can carry its
//! warnings in its line.

use crate::report::analyze_text::Paint;
use std::collections::VecDeque;
use std::io::{IsTerminal, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Which tests run and how the run is printed (libtest's options).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Run only tests whose name contains this (or equals it with `exact`).
    pub filter: Option<String>,
    /// `filter` and `skip` match whole names.
    pub exact: bool,
    /// Leave out tests whose name contains any of these.
    pub skip: Vec<String>,
    /// List the tests instead of running them.
    pub list: bool,
    /// Run only the ignored tests.
    pub ignored: bool,
    /// Run the ignored tests too.
    pub include_ignored: bool,
    /// Tests run at once (at least one).
    pub threads: usize,
    /// One character per test instead of one line.
    pub quiet: bool,
}

/// How one test ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestOutcome {
    /// It passed; the note (e.g. "2 warnings") follows `ok` in brackets.
    Passed {
        /// Shown as `ok (note)`.
        note: Option<String>,
    },
    /// It was not run, or decided at run time not to count.
    Ignored {
        /// Shown as `ignored (reason)`.
        reason: Option<String>,
    },
    /// It failed with this message.
    Failed {
        /// Printed in the failures section.
        message: String,
    },
}

/// The body of a test.
type Body = Box<dyn FnOnce() -> TestOutcome + Send>;

/// One test: its name, a kind shown in brackets before it, whether it is
/// ignored unless asked for, and its body.
pub struct Test {
    name: String,
    kind: String,
    ignored: bool,
    body: Body,
}

impl Test {
    /// A test named `name` of kind `kind` (may be empty).
    pub fn new(
        name: impl Into<String>,
        kind: impl Into<String>,
        body: impl FnOnce() -> TestOutcome + Send + 'static,
    ) -> Test {
        Test {
            name: name.into(),
            kind: kind.into(),
            ignored: false,
            body: Box::new(body),
        }
    }

    /// Marks the test ignored unless `--ignored` or `--include-ignored`.
    pub fn ignored(mut self, ignored: bool) -> Test {
        self.ignored = ignored;
        self
    }

    fn label(&self) -> String {
        if self.kind.is_empty() {
            self.name.clone()
        } else {
            format!("[{}] {}", self.kind, self.name)
        }
    }
}

/// The counts of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Conclusion {
    /// Tests that passed.
    pub passed: usize,
    /// Tests that failed.
    pub failed: usize,
    /// Tests ignored (not run, or ignored at run time).
    pub ignored: usize,
    /// Tests left out by the filter, `--skip` or `--ignored`.
    pub filtered_out: usize,
}

impl Conclusion {
    /// Whether any test failed.
    pub fn has_failed(&self) -> bool {
        self.failed > 0
    }

    fn count(&mut self, outcome: &TestOutcome) {
        match outcome {
            TestOutcome::Passed { .. } => self.passed += 1,
            TestOutcome::Ignored { .. } => self.ignored += 1,
            TestOutcome::Failed { .. } => self.failed += 1,
        }
    }
}

/// Whether `opts` selects `test` (filter, skip, `--ignored`).
fn selected(opts: &Options, test: &Test) -> bool {
    let matches = |pattern: &str| {
        if opts.exact {
            test.name == pattern
        } else {
            test.name.contains(pattern)
        }
    };
    if opts.filter.as_deref().is_some_and(|f| !matches(f)) {
        return false;
    }
    if opts.skip.iter().any(|s| matches(s)) {
        return false;
    }
    !opts.ignored || test.ignored
}

/// Runs (or lists) `tests` as `opts` says, printing to stdout.
pub fn run(opts: &Options, tests: Vec<Test>) -> Conclusion {
    let paint = Paint::for_output(std::io::stdout().is_terminal());
    let mut out = std::io::stdout().lock();
    run_to(opts, tests, &mut out, paint)
}

/// Runs (or lists) `tests`, printing to `out`.
pub fn run_to(opts: &Options, tests: Vec<Test>, out: &mut dyn Write, paint: Paint) -> Conclusion {
    let total = tests.len();
    let tests: Vec<Test> = tests.into_iter().filter(|t| selected(opts, t)).collect();
    let mut conclusion = Conclusion {
        filtered_out: total - tests.len(),
        ..Conclusion::default()
    };
    if opts.list {
        for t in &tests {
            let _ = writeln!(out, "{}: test", t.label());
        }
        return conclusion;
    }
    let started = Instant::now();
    let mut printer = Printer {
        out,
        paint,
        quiet: opts.quiet,
        width: tests.iter().map(|t| t.label().len()).max().unwrap_or(0),
        failures: Vec::new(),
        column: 0,
    };
    printer.title(tests.len());
    let (skipped, runnable): (Vec<Test>, Vec<Test>) = tests
        .into_iter()
        .partition(|t| t.ignored && !opts.ignored && !opts.include_ignored);
    for t in &skipped {
        let outcome = TestOutcome::Ignored { reason: None };
        conclusion.count(&outcome);
        printer.result(&t.label(), &t.name, &outcome);
    }
    let threads = opts.threads.max(1);
    if threads == 1 {
        for t in runnable {
            let label = t.label();
            printer.start(&label);
            let outcome = run_one(t.body);
            conclusion.count(&outcome);
            printer.finish(&t.name, &outcome);
        }
    } else {
        run_parallel(runnable, threads, |label, name, outcome| {
            conclusion.count(&outcome);
            printer.result(&label, &name, &outcome);
        });
    }
    printer.summary(&conclusion, started.elapsed());
    conclusion
}

/// Runs a body, a panic counting as a failure with the panic's message.
fn run_one(body: Body) -> TestOutcome {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(outcome) => outcome,
        Err(panic) => {
            let text = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "the test panicked".to_string());
            TestOutcome::Failed {
                message: format!("panicked: {text}"),
            }
        }
    }
}

/// Runs `tests` on `threads` threads in their order, handing each outcome
/// to `done` (on this thread) as it arrives.
fn run_parallel(
    tests: Vec<Test>,
    threads: usize,
    mut done: impl FnMut(String, String, TestOutcome),
) {
    let queue = Mutex::new(tests.into_iter().collect::<VecDeque<Test>>());
    let (tx, rx) = mpsc::channel::<(String, String, TestOutcome)>();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let tx = tx.clone();
            let queue = &queue;
            scope.spawn(move || loop {
                let next = queue.lock().ok().and_then(|mut q| q.pop_front());
                let Some(t) = next else { break };
                let label = t.label();
                if tx.send((label, t.name, run_one(t.body))).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        for (label, name, outcome) in rx {
            done(label, name, outcome);
        }
    });
}

/// Prints libtest's lines.
struct Printer<'o> {
    out: &'o mut dyn Write,
    paint: Paint,
    quiet: bool,
    width: usize,
    failures: Vec<(String, String)>,
    column: usize,
}

impl Printer<'_> {
    fn title(&mut self, n: usize) {
        let s = if n == 1 { "" } else { "s" };
        let _ = writeln!(self.out, "\nrunning {n} test{s}");
    }

    /// The start of a test's line, before it runs (one thread only).
    fn start(&mut self, label: &str) {
        if !self.quiet {
            let _ = write!(self.out, "test {label:<0$} ... ", self.width);
            let _ = self.out.flush();
        }
    }

    /// A whole line for a test that has ended.
    fn result(&mut self, label: &str, name: &str, outcome: &TestOutcome) {
        self.start(label);
        self.finish(name, outcome);
    }

    /// The end of a test's line; failures are listed by `name`.
    fn finish(&mut self, name: &str, outcome: &TestOutcome) {
        if let TestOutcome::Failed { message } = outcome {
            self.failures.push((name.to_string(), message.clone()));
        }
        if self.quiet {
            let c = match outcome {
                TestOutcome::Passed { .. } => self.paint.green("."),
                TestOutcome::Ignored { .. } => self.paint.yellow("i"),
                TestOutcome::Failed { .. } => self.paint.red("F"),
            };
            let _ = write!(self.out, "{c}");
            self.column += 1;
            if self.column % 88 == 0 {
                let _ = writeln!(self.out);
            }
        } else {
            let _ = writeln!(self.out, "{}", self.outcome_text(outcome));
        }
        let _ = self.out.flush();
    }

    fn outcome_text(&self, outcome: &TestOutcome) -> String {
        let with = |word: &str, note: &Option<String>| match note {
            Some(n) => format!("{word} ({n})"),
            None => word.to_string(),
        };
        match outcome {
            TestOutcome::Passed { note } => self.paint.green(&with("ok", note)),
            TestOutcome::Ignored { reason } => self.paint.yellow(&with("ignored", reason)),
            TestOutcome::Failed { .. } => self.paint.red("FAILED"),
        }
    }

    fn summary(&mut self, c: &Conclusion, took: Duration) {
        if self.quiet && self.column % 88 != 0 {
            let _ = writeln!(self.out);
        }
        if !self.failures.is_empty() {
            let _ = writeln!(self.out, "\nfailures:\n");
            for (name, message) in &self.failures {
                let _ = writeln!(self.out, "---- {name} ----\n{message}\n");
            }
            let _ = writeln!(self.out, "\nfailures:");
            for (name, _) in &self.failures {
                let _ = writeln!(self.out, "    {name}");
            }
        }
        let verdict = if c.has_failed() {
            self.paint.red("FAILED")
        } else {
            self.paint.green("ok")
        };
        let _ = writeln!(
            self.out,
            "\ntest result: {verdict}. {} passed; {} failed; {} ignored; 0 measured; \
             {} filtered out; finished in {:.2}s\n",
            c.passed,
            c.failed,
            c.ignored,
            c.filtered_out,
            took.as_secs_f64()
        );
        let _ = self.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passing(name: &str) -> Test {
        Test::new(name, "", || TestOutcome::Passed { note: None })
    }

    fn run_text(opts: &Options, tests: Vec<Test>) -> (Conclusion, String) {
        let mut out = Vec::new();
        let c = run_to(opts, tests, &mut out, Paint::default());
        (c, String::from_utf8_lossy(&out).into_owned())
    }

    fn mixed() -> Vec<Test> {
        vec![
            passing("A-01"),
            Test::new("A-02", "ident", || TestOutcome::Passed {
                note: Some("2 warnings".into()),
            }),
            Test::new("B-01", "", || TestOutcome::Failed {
                message: "step 3: expected NFS4_OK".into(),
            }),
            Test::new("B-02", "", || TestOutcome::Ignored {
                reason: Some("known failure: x".into()),
            }),
            Test::new("C-01", "", || panic!("boom")),
            passing("D-01").ignored(true),
        ]
    }

    #[test]
    fn prints_libtest_lines_and_counts_each_outcome() {
        for threads in [1, 3] {
            let opts = Options {
                threads,
                ..Options::default()
            };
            let (c, text) = run_text(&opts, mixed());
            assert_eq!(
                c,
                Conclusion {
                    passed: 2,
                    failed: 2,
                    ignored: 2,
                    filtered_out: 0
                }
            );
            assert!(text.starts_with("\nrunning 6 tests\n"), "{text}");
            let line = |needle: &str| text.lines().any(|l| l.contains(needle));
            assert!(line("test [ident] A-02") && line("... ok (2 warnings)"));
            assert!(line("... ignored (known failure: x)"));
            assert!(text.contains("---- B-01 ----\nstep 3: expected NFS4_OK"));
            assert!(text.contains("---- C-01 ----\npanicked: boom"));
            assert!(text.contains("\nfailures:\n    B-01\n    C-01\n"), "{text}");
            assert!(text.contains(
                "test result: FAILED. 2 passed; 2 failed; 2 ignored; 0 measured; 0 filtered out"
            ));
        }
    }

    #[test]
    fn filter_skip_exact_and_ignored_select_tests() {
        let opts = Options {
            filter: Some("A-0".into()),
            skip: vec!["A-02".into()],
            threads: 1,
            ..Options::default()
        };
        let (c, text) = run_text(&opts, mixed());
        assert_eq!((c.passed, c.filtered_out), (1, 5));
        assert!(text.contains("test result: ok. 1 passed; 0 failed"));
        let exact = Options {
            filter: Some("A-0".into()),
            exact: true,
            threads: 1,
            ..Options::default()
        };
        assert_eq!(run_text(&exact, mixed()).0.filtered_out, 6);
        let only_ignored = Options {
            ignored: true,
            threads: 2,
            ..Options::default()
        };
        let (c, _) = run_text(&only_ignored, mixed());
        assert_eq!((c.passed, c.filtered_out), (1, 5), "D-01 runs");
        let listed = Options {
            list: true,
            ..Options::default()
        };
        let (c, text) = run_text(&listed, mixed());
        assert_eq!(c.passed + c.failed, 0, "nothing runs");
        assert!(text.contains("[ident] A-02: test\n"));
    }

    #[test]
    fn quiet_prints_one_character_per_test() {
        let opts = Options {
            quiet: true,
            threads: 1,
            ..Options::default()
        };
        let (_, text) = run_text(&opts, mixed());
        assert!(text.contains("\ni..FiF\n"), "{text:?}");
    }
}
