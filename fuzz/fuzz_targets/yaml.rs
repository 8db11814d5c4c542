//! The YAML loaders of suite files, target files and baselines, on
//! arbitrary text (seeded with the project's own files).
//!
//! Invariants: never a panic, a hang or an allocation the input merely
//! claims; a refused file's error names a place (`t.yaml`), and a suite that
//! loads has scenarios that passed validation (ids of the AREA-NAME-01 form).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match trunkcheck::scenario::load_str(Path::new("t.yaml"), text) {
        Ok(suite) => {
            for s in &suite.file.scenarios {
                assert!(s.id.contains('-'), "an id passed validation: {}", s.id);
                assert!(!s.steps.is_empty());
            }
        }
        Err(e) => assert!(e.to_string().starts_with("t.yaml"), "{e}"),
    }
    if let Err(e) = trunkcheck::targets::Target::parse(text, "t.yaml", false) {
        let _ = e.to_string();
    }
});
