//! Tests of the scenario format: the committed suites load, and bad files
//! are refused with their place.

use super::*;
use std::path::{Path, PathBuf};

fn suites_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../suites")
}

fn load(text: &str) -> Result<Suite, LoadError> {
    load_str(Path::new("t.yaml"), text)
}

const GOOD: &str = r#"
area: t
scenarios:
  - id: T-ONE-01
    title: t
    kw: MUST
    rfc: ["RFC 8881 §2.10.5"]
    requires: {servers: {a: {addresses: 2}}}
    steps:
      - connect: {as: c1, to: a, address: 1}
      - exchange_id: {owner: o1, save: x1, expect: {status: NFS4_OK, fields: {eir_flags: {lacks: [CONFIRMED_R]}}}}
      - create_session: {client: x1, save: s1, flags: [CONN_BACK_CHAN]}
      - sequence: {session: s1, expect: [NFS4_OK, NFS4ERR_DELAY]}
      - compound: {session: s1, ops: [{putrootfh: {}}, {getattr: {attrs: [lease_time]}}]}
      - wait: {leases: 1.5}
      - restart: a
"#;

#[test]
fn every_committed_suite_loads() {
    let suites = load_dir(&suites_dir()).unwrap_or_else(|errs| {
        let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        panic!("suites refused:\n{}", text.join("\n"))
    });
    assert!(!suites.is_empty());
    assert!(suites.iter().all(|s| !s.file.scenarios.is_empty()));
}

#[test]
fn a_well_formed_scenario_loads_with_its_steps() {
    let s = load(GOOD).expect("loads");
    let sc = &s.file.scenarios[0];
    assert_eq!(sc.steps.len(), 7);
    assert!(matches!(sc.steps[1], Step::ExchangeId(_)));
    assert!(matches!(sc.steps[4], Step::Compound(ref c) if c.ops.len() == 2));
    assert!(
        matches!(sc.steps[6], Step::Action(ref a) if a.role == "a" && a.action == crate::action::Action::Restart)
    );
}

#[test]
fn an_unknown_key_is_refused_with_line_and_column() {
    let bad = GOOD.replace("owner: o1, save: x1", "owner: o1, sav: x1");
    let e = load(&bad).expect_err("refused");
    match &e {
        LoadError::Syntax { line, .. } => assert!(line.is_some(), "{e}"),
        other => panic!("not a syntax error: {other}"),
    }
    let text = e.to_string();
    assert!(text.starts_with("t.yaml:"), "{text}");
}

#[test]
fn an_unknown_step_kind_is_refused() {
    let bad = GOOD.replace("- wait: {leases: 1.5}", "- snooze: {leases: 1.5}");
    let e = load(&bad).expect_err("refused");
    assert!(matches!(e, LoadError::Syntax { line: Some(_), .. }), "{e}");
}

#[test]
fn references_to_things_never_made_are_refused_with_the_step() {
    let cases = [
        (
            "client: x1, save: s1",
            "client: x9, save: s1",
            3,
            "nothing saved as x9",
        ),
        (
            "- sequence: {session: s1",
            "- sequence: {session: x1",
            4,
            "is an exchange_id",
        ),
        ("address: 1}", "address: 2}", 1, "only 2 address"),
        ("- restart: a", "- restart: b", 7, "no server role b"),
        (
            "attrs: [lease_time]",
            "attrs: [lease_tim]",
            5,
            "unknown attribute",
        ),
        ("NFS4ERR_DELAY]", "NFS4ERR_DELAYED]", 4, "unknown status"),
        ("[CONN_BACK_CHAN]", "[CONN_BACK]", 3, "unknown flag"),
    ];
    for (from, to, step, msg) in cases {
        let bad = GOOD.replace(from, to);
        assert_ne!(bad, GOOD, "{from}");
        match load(&bad) {
            Err(LoadError::Invalid {
                step: s,
                message,
                scenario,
                ..
            }) => {
                assert_eq!(s, Some(step), "{to}: {message}");
                assert!(message.contains(msg), "{to}: {message}");
                assert_eq!(scenario, "T-ONE-01");
            }
            other => panic!("{to}: {other:?}"),
        }
    }
}

#[test]
fn ids_are_checked_and_unique_across_files() {
    let e = load(&GOOD.replace("T-ONE-01", "t_one")).expect_err("bad id");
    assert!(e.to_string().contains("not of the form"), "{e}");
    let dir = std::env::temp_dir().join(format!("trunkcheck-suites-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("a.yaml"), GOOD).expect("write");
    std::fs::write(dir.join("b.yaml"), GOOD).expect("write");
    let errs = load_dir(&dir).expect_err("duplicate id");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(errs.len(), 1);
    assert!(errs[0].to_string().contains("already used"), "{}", errs[0]);
}

#[test]
fn syntax_errors_name_the_place_once() {
    let bad = GOOD.replace("- wait: {leases: 1.5}", "- snooze: 3");
    let text = load(&bad).expect_err("refused").to_string();
    assert!(text.starts_with("t.yaml:15:9: "), "{text}");
    assert!(text.contains("unknown variant `snooze`"), "{text}");
    assert!(!text.contains("line 14"), "location said twice: {text}");
}

#[test]
fn a_typo_in_a_reply_field_is_refused_with_line_and_column() {
    let bad = GOOD.replace("fields: {eir_flags:", "fields: {eir_flagz:");
    assert_ne!(bad, GOOD);
    let e = load(&bad).expect_err("refused");
    let text = e.to_string();
    assert!(
        text.starts_with("t.yaml:11:79: scenario T-ONE-01, step 2: "),
        "{text}"
    );
    assert!(text.contains("`eir_flagz` is not a field"), "{text}");
    assert!(text.contains("did you mean `eir_flags`?"), "{text}");
}

#[test]
fn a_compound_names_the_fields_of_its_last_operation() {
    let ok = GOOD.replace(
        "{getattr: {attrs: [lease_time]}}]}",
        "{getattr: {attrs: [lease_time]}}], expect: {fields: {obj_attributes.lease_time: 90}}}",
    );
    assert_ne!(ok, GOOD);
    load(&ok).expect("GETATTR's reply has obj_attributes");
    let bad = ok.replace("obj_attributes.lease_time", "eir_flags");
    let text = load(&bad).expect_err("refused").to_string();
    assert!(
        text.contains("step 5: expect.fields: `eir_flags` is not a field of the reply to the compound's last operation (getattr"),
        "{text}"
    );
}

/// A scenario with one expectation of each kind of strength source.
const STRENGTHS: &str = r#"
area: t
scenarios:
  - id: T-KW-01
    title: t
    rfc: ["RFC 8881 §18.35.4"]
    rows: [44]
    steps:
      - connect: {as: c1, to: a}
      - exchange_id: {owner: o1, save: x1}
      - create_session: {client: x1, expect: NFS4ERR_STALE_CLIENTID}
      - create_session: {client: x1, expect: {status: NFS4ERR_STALE_CLIENTID, kw: MUST}}
"#;

#[test]
fn an_expectation_takes_its_own_keyword_else_the_scenarios_else_its_rows() {
    let s = load(STRENGTHS).expect("loads");
    let sc = &s.file.scenarios[0];
    let from_rows = sc.strength_of(None).expect("row 44 is SHOULD");
    assert_eq!(from_rows.strength, Strength::Warning);
    assert!(
        from_rows.source.contains("catalogue row 44"),
        "{from_rows:?}"
    );
    let Step::CreateSession(own) = &sc.steps[3] else {
        panic!("step 4 is create_session")
    };
    let own = sc
        .strength_of(own.expect.as_ref().and_then(Expect::kw))
        .expect("own kw");
    assert_eq!(own.strength, Strength::Failure);
    let mut scenario_kw = sc.clone();
    scenario_kw.kw = Some(Kw {
        word: "MAY".into(),
        line: 0,
        column: 0,
    });
    assert_eq!(
        scenario_kw.strength_of(None).map(|r| r.strength),
        Ok(Strength::Information)
    );
}

#[test]
fn an_unknown_keyword_is_refused_with_line_and_column() {
    let bad = STRENGTHS.replace("kw: MUST", "kw: MUSTN'T");
    let text = load(&bad).expect_err("refused").to_string();
    assert!(
        text.starts_with("t.yaml:12:83: scenario T-KW-01, step 4: "),
        "{text}"
    );
    assert!(text.contains("kw `MUSTN'T` is not a keyword"), "{text}");
    let bad = STRENGTHS.replace("    rows: [44]\n", "    rows: [44]\n    kw: should'nt\n");
    let text = load(&bad).expect_err("refused").to_string();
    assert!(
        text.starts_with("t.yaml:8:9: scenario T-KW-01: kw"),
        "{text}"
    );
}

#[test]
fn an_expectation_without_any_keyword_is_refused() {
    // Row 48's Kw is "–": the scenario must say which keyword applies.
    let bad = STRENGTHS.replace("rows: [44]", "rows: [48]");
    let text = load(&bad).expect_err("refused").to_string();
    assert!(text.contains("scenario T-KW-01, step 3"), "{text}");
    assert!(text.contains("no RFC keyword"), "{text}");
    // Rows that disagree (44 SHOULD, 29 MUST) must be settled too.
    let mixed = STRENGTHS.replace("rows: [44]", "rows: [44, 29]");
    let text = load(&mixed).expect_err("refused").to_string();
    assert!(text.contains("different strengths"), "{text}");
    // A step without `expect` is a precondition and needs no keyword.
    let none = STRENGTHS.replace("rows: [44]", "rows: []");
    let none = none.replace(", expect: NFS4ERR_STALE_CLIENTID}", "}");
    load(&none).expect("a step without expect needs no keyword");
}

#[test]
fn partial_rows_slots_and_any_error_are_checked() {
    let ok = GOOD
        .replace(
            "    requires:",
            "    rows: [16]\n    partial: {16: client IDs only}\n    requires:",
        )
        .replace(
            "expect: [NFS4_OK, NFS4ERR_DELAY]}",
            "slot: beyond, seqid: 1, expect: {status: any_error, kw: MUST}}",
        );
    load(&ok).expect("loads");
    let bad = ok.replace("partial: {16:", "partial: {17:");
    assert!(load(&bad)
        .expect_err("partial row not in rows")
        .to_string()
        .contains("partial: row 17"));
    let bad = ok.replace("slot: beyond", "slot: past");
    assert!(load(&bad)
        .expect_err("unknown slot word")
        .to_string()
        .contains("slot `past`"));
    let bad = ok.replace(
        "- create_session: {client: x1, save: s1, flags: [CONN_BACK_CHAN]}",
        "- create_session: {client: x1, save: s1, flags: [CONN_BACK_CHAN], slot: 1}",
    );
    assert!(load(&bad)
        .expect_err("no session")
        .to_string()
        .contains("sent without one"));
}

fn with_principal(p: &str) -> String {
    format!(
        "area: t\nscenarios:\n  - id: T-KRB-01\n    title: t\n    rfc: [x]\n    kw: MUST\n    principals:\n      m: {p}\n    steps:\n      - connect: {{as: c1, principal: m}}\n"
    )
}

#[test]
fn krb5_principals_load_with_their_kind_and_service() {
    let s = load(&with_principal("{krb5: machine client1, service: privacy}")).expect("loads");
    let sc = &s.file.scenarios[0];
    assert!(sc.needs_krb5());
    let k = sc.principals["m"].krb5().expect("valid").expect("krb5");
    assert!(k.machine);
    assert_eq!(k.name, "client1");
    assert_eq!(k.service, GssServiceName::Privacy);
    let u = load(&with_principal("{krb5: user alice}")).expect("loads");
    let k = u.file.scenarios[0].principals["m"]
        .krb5()
        .expect("valid")
        .expect("krb5");
    assert!(!k.machine);
    assert_eq!(k.service, GssServiceName::Integrity);
    let sys = load(&with_principal("{uid: 5}")).expect("loads");
    assert!(!sys.file.scenarios[0].needs_krb5());
}

#[test]
fn bad_krb5_principals_are_refused() {
    for bad in [
        "{krb5: root client1}",
        "{krb5: machine}",
        "{krb5: user a/b}",
        "{krb5: user alice, service: secret}",
        "{krb5: user alice, uid: 3}",
        "{uid: 3, service: privacy}",
    ] {
        let e = load(&with_principal(bad))
            .err()
            .unwrap_or_else(|| panic!("{bad} loads"));
        assert!(e.to_string().contains("principal m"), "{bad}: {e}");
    }
}

/// A referral scenario: role `c` is the server `a`'s referral leads to.
fn referral_suite(steps: &str) -> String {
    format!(
        r#"
area: t
scenarios:
  - id: T-REF-01
    title: t
    kw: none
    rfc: ["RFC 8881 §11.4"]
    requires: {{servers: {{a: {{}}, c: {{relation: referral-target, of: a}}}}}}
    steps:
      - connect: {{as: c1, to: a, save: at}}
      - exchange_id: {{owner: o1, save: x1}}
      - create_session: {{client: x1, save: s1}}
{steps}"#
    )
}

#[test]
fn lookup_and_readdir_steps_load_with_referral_paths_and_entries() {
    let text = referral_suite(
        r#"      - lookup: {session: s1, path: {referral: c}, getfh: true, expect: NFS4ERR_MOVED}
      - lookup: {session: s1, path: {referral: c}, attrs: [fsid, fs_locations], expect: {fields: {obj_attributes.values.fs_locations.locations.0.server.0: {not: at.address}}}}
      - readdir: {session: s1, attrs: [rdattr_error, fs_locations], entry: {referral: c}, expect: {fields: {rdattr_error: NFS4ERR_MOVED, fs_locations.fs_root.0: export, name: ref-c}}}
      - readdir: {session: s1, path: dir/sub, attrs: [size], entry: hello.txt}
"#,
    );
    let s = load(&text).expect("loads");
    let steps = &s.file.scenarios[0].steps;
    let Step::Lookup(l) = &steps[3] else {
        panic!("a lookup step: {:?}", steps[3])
    };
    assert_eq!(l.path.as_ref().and_then(PathSpec::referral_role), Some("c"));
    assert!(l.getfh && l.attrs.is_empty());
    let Step::Readdir(r) = &steps[6] else {
        panic!("a readdir step")
    };
    assert_eq!(r.entry, Some(PathSpec::Text("hello.txt".into())));
    assert_eq!(r.path, Some(PathSpec::Text("dir/sub".into())));
}

#[test]
fn bad_lookup_and_readdir_steps_are_refused() {
    let cases = [
        ("      - lookup: {session: s1}\n", "name the `path`"),
        ("      - lookup: {session: s1, path: ../x}\n", "no '.' or '..'"),
        ("      - lookup: {path: x}\n", "name the saved session"),
        ("      - lookup: {session: s1, path: x, attrs: [sizes]}\n", "unknown attribute `sizes`"),
        ("      - lookup: {session: s1, path: {referral: a}}\n", "needs role a to be `relation: referral-target`"),
        ("      - lookup: {session: s1, path: {referral: z}}\n", "no server role z"),
        ("      - readdir: {session: s1, attrs: [size], entry: a/b}\n", "is one name"),
        ("      - readdir: {session: s1, path: d, attrs: [size], entry: {referral: c}}\n", "remove `path`"),
        // The entry's reply has its name, cookie and attributes; not READDIR's.
        ("      - readdir: {session: s1, attrs: [size], entry: x, expect: {fields: {cookieverf: 0}}}\n", "`cookieverf` is not a field"),
        ("      - readdir: {session: s1, attrs: [size], expect: {fields: {rdattr_error: 0}}}\n", "`rdattr_error` is not a field"),
        ("      - lookup: {session: s1, path: x, getfh: true, expect: {fields: {entries: 0}}}\n", "`entries` is not a field"),
    ];
    for (step, want) in cases {
        let e = load(&referral_suite(step)).expect_err(want);
        let text = e.to_string();
        assert!(text.contains(want), "want {want:?} in: {text}");
    }
}
