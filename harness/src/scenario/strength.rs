//! How much an expectation counts: the RFC keyword of the sentence it
//! checks (BCP 14), and what a mismatch is worth. A broken MUST fails the
//! trial; a SHOULD (or a lowercase "should"/"must") not followed is a
//! warning, which fails only with `--strict`; a MAY, or a sentence that
//! requires nothing, is information.
//!
//! An expectation's keyword comes from, in order: its own `kw`, the
//! scenario's `kw`, and the catalogue's Kw column for the rows the
//! scenario covers (when those rows agree on one strength). A step
//! without `expect` is a precondition of the scenario and always counts
//! as a failure.

use super::catalogue::ROW_KEYWORDS;
use super::types::Scenario;
use serde::Deserialize;
use std::fmt;

/// What a mismatch is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Strength {
    /// A requirement broken: fails the trial.
    Failure,
    /// A recommendation not followed: reported, fails only with `--strict`.
    Warning,
    /// Nothing required: reported.
    Information,
}

impl Strength {
    /// `failure`, `warning` or `information`.
    pub fn as_str(self) -> &'static str {
        match self {
            Strength::Failure => "failure",
            Strength::Warning => "warning",
            Strength::Information => "information",
        }
    }
}

impl fmt::Display for Strength {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The keywords `kw:` accepts, with their strength. `defined`: the RFC
/// states the result as the operation's definition without a BCP-14 word
/// ("the server returns NFS4ERR_NOENT"); `none`: the sentence requires
/// nothing; `precondition`: see [`PRECONDITION`].
pub const KEYWORDS: &[(&str, Strength)] = &[
    ("MUST", Strength::Failure),
    ("MUST NOT", Strength::Failure),
    ("REQUIRED", Strength::Failure),
    ("SHALL", Strength::Failure),
    ("SHALL NOT", Strength::Failure),
    ("defined", Strength::Failure),
    ("SHOULD", Strength::Warning),
    ("SHOULD NOT", Strength::Warning),
    ("RECOMMENDED", Strength::Warning),
    ("NOT RECOMMENDED", Strength::Warning),
    ("should", Strength::Warning),
    ("should not", Strength::Warning),
    ("must", Strength::Warning),
    ("must not", Strength::Warning),
    ("MAY", Strength::Information),
    ("OPTIONAL", Strength::Information),
    ("none", Strength::Information),
    (PRECONDITION, Strength::Failure),
];

/// The `kw:` of an expectation the rest of the scenario needs but does not
/// judge (the server may lawfully refuse it, or another scenario judges
/// it): when it does not hold, the trial is skipped as not applicable,
/// saying why, instead of failing.
pub const PRECONDITION: &str = "precondition";

/// The strength of a keyword as `kw:` spells it (`None`: not a keyword).
pub fn keyword_strength(word: &str) -> Option<Strength> {
    KEYWORDS.iter().find(|(k, _)| *k == word).map(|(_, s)| *s)
}

/// `kw:` as a file wrote it, with its place (checked when the suite loads).
#[derive(Debug, Clone)]
pub struct Kw {
    /// The keyword.
    pub word: String,
    /// 1-based line in its file (0 when unknown).
    pub line: u64,
    /// 1-based column in its file (0 when unknown).
    pub column: u64,
}

impl Kw {
    /// The keyword's strength (`None`: not a keyword).
    pub fn strength(&self) -> Option<Strength> {
        keyword_strength(&self.word)
    }

    /// Why a keyword is refused, when it is.
    pub fn check(&self) -> Result<(), ((u64, u64), String)> {
        match self.strength() {
            Some(_) => Ok(()),
            None => Err((
                (self.line, self.column),
                format!(
                    "kw `{}` is not a keyword (use one of: {})",
                    self.word,
                    KEYWORDS
                        .iter()
                        .map(|(k, _)| *k)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }
}

impl<'de> Deserialize<'de> for Kw {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = serde_saphyr::Spanned::<String>::deserialize(d)?;
        Ok(Kw {
            line: s.referenced.line(),
            column: s.referenced.column(),
            word: s.value,
        })
    }
}

/// The strength one catalogue Kw cell gives (`SHOULD NOT / must (lc)` →
/// warning), or none: the cell names no keyword (`–`, `definition`), names
/// keywords of different strengths (`must (lc) + MUST`), or judges the
/// client (`MUST (client)`), so an expectation must state its own.
pub fn cell_strength(cell: &str) -> Option<Strength> {
    let cell = cell.replace("**", "");
    let mut found: Option<Strength> = None;
    for part in cell.split(" / ").flat_map(|p| p.split(" + ")) {
        let part = part.trim();
        if part.ends_with("(client)") {
            return None;
        }
        let word = part.strip_suffix("(lc)").map_or(part, str::trim);
        let s = keyword_strength(word)
            .filter(|_| word != "defined" && word != "none" && word != PRECONDITION)?;
        match found {
            Some(f) if f != s => return None,
            _ => found = Some(s),
        }
    }
    found
}

/// The catalogue Kw cell of a row.
pub fn row_keyword(row: u32) -> Option<&'static str> {
    ROW_KEYWORDS
        .iter()
        .find(|(r, _)| *r == row)
        .map(|(_, k)| *k)
}

/// An expectation's strength and where it came from (for reports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The strength.
    pub strength: Strength,
    /// The keyword and its source, e.g. `SHOULD, catalogue row 44`.
    pub source: String,
}

impl Scenario {
    /// The strength of every expectation its steps state, in step order
    /// (an expectation whose keyword does not resolve is left out: the
    /// loader refuses such a suite).
    pub fn expectation_strengths(&self) -> Vec<Strength> {
        self.steps
            .iter()
            .filter_map(super::load::stated_kw)
            .filter_map(|own| self.strength_of(own.as_ref()).ok())
            .map(|r| r.strength)
            .collect()
    }

    /// The strength of an expectation with keyword `own` (its `kw:`),
    /// falling back to the scenario's `kw:` and then to the catalogue Kw
    /// of the scenario's rows; `Err` says why none applies.
    pub fn strength_of(&self, own: Option<&Kw>) -> Result<Resolved, String> {
        for (kw, whose) in [(own, "expectation"), (self.kw.as_ref(), "scenario")] {
            if let Some(k) = kw {
                let strength = k
                    .strength()
                    .ok_or_else(|| format!("kw `{}` is not a keyword", k.word))?;
                return Ok(Resolved {
                    strength,
                    source: format!("{}, the {whose}'s kw", k.word),
                });
            }
        }
        let mut given: Vec<(u32, &str, Strength)> = Vec::new();
        let mut silent: Vec<String> = Vec::new();
        for &row in &self.rows {
            let cell = row_keyword(row).unwrap_or("?");
            match cell_strength(cell) {
                Some(s) => given.push((row, cell, s)),
                None => silent.push(format!("{row}: {cell}")),
            }
        }
        match given.first() {
            Some(&(_, _, s)) if given.iter().all(|g| g.2 == s) => Ok(Resolved {
                strength: s,
                source: given
                    .iter()
                    .map(|(r, c, _)| format!("{}, catalogue row {r}", c.replace("**", "")))
                    .collect::<Vec<_>>()
                    .join("; "),
            }),
            Some(_) => Err(format!(
                "its rows give different strengths ({}): state `kw:` on the expectation or the scenario",
                given
                    .iter()
                    .map(|(r, c, s)| format!("row {r} {c}: {s}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            None => Err(format!(
                "no RFC keyword: {} (state `kw:` on the expectation or the scenario)",
                if silent.is_empty() {
                    "the scenario names no catalogue rows".to_string()
                } else {
                    format!("the catalogue gives none for rows {}", silent.join(", "))
                }
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_cells_give_one_strength_or_none() {
        assert_eq!(cell_strength("**MUST**"), Some(Strength::Failure));
        assert_eq!(cell_strength("MUST NOT"), Some(Strength::Failure));
        assert_eq!(cell_strength("SHOULD"), Some(Strength::Warning));
        assert_eq!(cell_strength("should (lc)"), Some(Strength::Warning));
        assert_eq!(
            cell_strength("SHOULD NOT / must (lc)"),
            Some(Strength::Warning)
        );
        assert_eq!(cell_strength("must"), Some(Strength::Warning));
        assert_eq!(cell_strength("MAY"), Some(Strength::Information));
        for none in [
            "–",
            "definition",
            "must (lc) + MUST",
            "– / MUST",
            "MUST (client)",
            "**MUST** (client)",
            "SHOULD / **MUST**",
            "procedure, server-side expectation",
        ] {
            assert_eq!(cell_strength(none), None, "{none}");
        }
    }

    #[test]
    fn every_keyword_has_a_strength_and_others_are_refused() {
        for (k, s) in KEYWORDS {
            assert_eq!(keyword_strength(k), Some(*s));
        }
        let bad = Kw {
            word: "SHOUD".into(),
            line: 3,
            column: 9,
        };
        let ((l, c), msg) = bad.check().expect_err("refused");
        assert_eq!((l, c), (3, 9));
        assert!(msg.contains("`SHOUD` is not a keyword"), "{msg}");
    }
}
