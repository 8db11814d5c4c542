//! Judging replies: statuses, reply fields and saved values against what a
//! scenario expects, and the failure a trial reports.

use super::failure::Failure;
use super::trial::Saved;
use crate::client::ClientError;
use crate::scenario::{Check, Expect, FieldExpect, FieldTest, Scalar, StatusSet};
use analyzer::nfs4::{Compound4Res, NfsResOp, NfsStat4};
use analyzer::xdr::json::ToJson;
use analyzer::xdr::{Reader, Xdr};
use serde_json::Value;
use std::collections::BTreeMap;

/// An operation result as JSON: its result fields plus `status` and `op`.
pub(crate) fn result_json(r: &NfsResOp<'static>) -> Value {
    let v: Value = serde_json::from_str(&r.to_json_string()).unwrap_or(Value::Null);
    let mut out = serde_json::Map::new();
    if let Value::Object(top) = v {
        for (k, val) in top {
            match (k.as_str(), val) {
                ("res", Value::Object(fields)) => out.extend(unwrap_arm(fields)),
                (_, val) => {
                    out.insert(k, val);
                }
            }
        }
    }
    Value::Object(out)
}

/// Entry names quoted when a READDIR reply lacks the one asked for.
const ENTRIES_SHOWN: usize = 12;

/// The reply of a `readdir` step that names an entry, from the READDIR
/// result's JSON: the entry's `name` and `cookie`, each attribute the
/// server returned for it by name (`rdattr_error`, `fs_locations` ...), and
/// the result's `op` and `status`. `Err` says the entry is not in the reply
/// (with the names that are, and whether the reply reached the directory's
/// end).
pub(crate) fn readdir_entry(readdir: &Value, name: &str) -> Result<Value, String> {
    let entries = lookup(readdir, "reply.entries")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let Some(entry) = entries.iter().find(|e| e["name"].as_str() == Some(name)) else {
        let names: Vec<&str> = entries
            .iter()
            .filter_map(|e| e["name"].as_str())
            .take(ENTRIES_SHOWN)
            .collect();
        let more = entries.len().saturating_sub(names.len());
        let end = match lookup(readdir, "reply.eof").and_then(Value::as_bool) {
            Some(true) => "the whole directory",
            _ => "eof false: the reply stopped before the directory's end",
        };
        return Err(format!(
            "no entry {name:?} in the READDIR reply ({} entries, {end}: {}{})",
            entries.len(),
            names.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
    };
    let mut out = serde_json::Map::new();
    for key in ["op", "status"] {
        if let Some(v) = readdir.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    for key in ["name", "cookie"] {
        out.insert(key.into(), entry[key].clone());
    }
    if let Some(values) = lookup(entry, "attrs.values").and_then(Value::as_object) {
        out.extend(values.clone());
    }
    Ok(Value::Object(out))
}

/// A union result rendered as `{"NFS4_OK": {...}}` (its arm's name) is
/// unwrapped, so that paths name the RFC fields directly.
fn unwrap_arm(fields: serde_json::Map<String, Value>) -> serde_json::Map<String, Value> {
    if fields.len() == 1 {
        if let Some((k, Value::Object(inner))) = fields.iter().next() {
            if k.starts_with("NFS4") {
                return inner.clone();
            }
        }
    }
    fields
}

/// Checks an operation's status and fields.
pub(crate) fn expect(
    n: usize,
    what: &str,
    exp: Option<&Expect>,
    status: NfsStat4,
    json: &Value,
    saved: &BTreeMap<String, Saved>,
) -> Result<(), Failure> {
    let (set, fields, rule, why) = match exp {
        None => (None, None, &None, &None),
        Some(Expect::Status(s)) => (Some(s), None, &None, &None),
        Some(Expect::Full(f)) => (f.status.as_ref(), Some(&f.fields), &f.rule, &f.why),
    };
    let got = status_name(status);
    if !status_matches(set, &got) {
        let want = set.map_or("NFS4_OK".to_string(), |s| s.names().join(" or "));
        return Err(
            Failure::mismatch(n, what, "unexpected status".into(), want, got).with_rule(rule, why),
        );
    }
    for (path, fe) in fields.into_iter().flatten() {
        let value = lookup(json, path.as_str());
        field(path.as_str(), fe, value, saved).map_err(|(e, a)| {
            Failure::mismatch(n, what, format!("reply field {path}"), e, a).with_rule(rule, why)
        })?;
    }
    Ok(())
}

fn status_matches(set: Option<&StatusSet>, got: &str) -> bool {
    match set {
        None => got == "NFS4_OK",
        Some(s) => s
            .names()
            .iter()
            .any(|n| *n == "any" || *n == got || (*n == "any_error" && got != "NFS4_OK")),
    }
}

/// A status by its RFC name (or its number when it has none).
pub fn status_name(s: NfsStat4) -> String {
    s.name()
        .map_or_else(|| format!("status {}", s.0), str::to_string)
}

/// Judges one field; `Err((expected, actual))`.
fn field(
    path: &str,
    fe: &FieldExpect,
    value: Option<&Value>,
    saved: &BTreeMap<String, Saved>,
) -> Result<(), (String, String)> {
    let shown = value.map_or("(absent)".to_string(), show);
    match fe {
        FieldExpect::Value(s) => {
            if value.is_some_and(|v| scalar_eq(s, v)) {
                Ok(())
            } else {
                Err((show_scalar(s), shown))
            }
        }
        FieldExpect::AnyOf(list) => {
            if value.is_some_and(|v| list.iter().any(|s| scalar_eq(s, v))) {
                Ok(())
            } else {
                let want: Vec<String> = list.iter().map(show_scalar).collect();
                Err((format!("one of {}", want.join(", ")), shown))
            }
        }
        FieldExpect::Test(t) => test(path, t, value, saved).map_err(|e| (e, shown)),
    }
}

fn test(
    _path: &str,
    t: &FieldTest,
    value: Option<&Value>,
    saved: &BTreeMap<String, Saved>,
) -> Result<(), String> {
    let flags = value.map(flag_names).unwrap_or_default();
    for h in &t.has {
        if !flags.iter().any(|f| f == h) {
            return Err(format!("{h} set"));
        }
    }
    for l in &t.lacks {
        if flags.iter().any(|f| f == l) {
            return Err(format!("{l} not set"));
        }
    }
    if let Some(r) = &t.same_as {
        let other = resolve(saved, r)?;
        if value != Some(&other) {
            return Err(format!("the same as {r} ({})", show(&other)));
        }
    }
    if let Some(r) = &t.differs_from {
        let other = resolve(saved, r)?;
        if value == Some(&other) {
            return Err(format!("different from {r} ({})", show(&other)));
        }
    }
    if let Some(s) = &t.not {
        if value.is_some_and(|v| scalar_eq(s, v)) {
            return Err(format!("not {}", show_scalar(s)));
        }
    }
    if let Some(min) = t.at_least {
        if !value.and_then(Value::as_f64).is_some_and(|v| v >= min) {
            return Err(format!("at least {min}"));
        }
    }
    Ok(())
}

/// Flag names in a rendered flag set (`"A|B"`; `"0"` is none).
fn flag_names(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => s
            .split('|')
            .map(str::trim)
            .filter(|f| !f.is_empty() && *f != "0")
            .map(String::from)
            .collect(),
        _ => Vec::new(),
    }
}

fn scalar_eq(s: &Scalar, v: &Value) -> bool {
    match (s, v) {
        (Scalar::Bool(a), Value::Bool(b)) => a == b,
        (Scalar::Int(a), Value::Number(b)) => {
            b.as_i64() == Some(*a) || b.as_u64() == u64::try_from(*a).ok()
        }
        (Scalar::Str(a), Value::String(b)) => a == b,
        (Scalar::Int(a), Value::String(b)) => b == &a.to_string(),
        _ => false,
    }
}

fn show_scalar(s: &Scalar) -> String {
    match s {
        Scalar::Bool(b) => b.to_string(),
        Scalar::Int(i) => i.to_string(),
        Scalar::Str(s) => s.clone(),
    }
}

/// A JSON value shown compactly (strings without quotes).
pub fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Follows a dotted path (`eir_server_owner.so_major_id`) in `v`.
pub fn lookup<'v>(v: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(v, |cur, key| match cur {
        Value::Object(m) => m.get(key),
        Value::Array(a) => key.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

/// A saved value by reference: `name` or `name.path`.
pub(crate) fn resolve(saved: &BTreeMap<String, Saved>, r: &str) -> Result<Value, String> {
    let (head, rest) = r.split_once('.').unwrap_or((r, ""));
    let s = saved
        .get(head)
        .ok_or_else(|| format!("nothing saved as {head}"))?;
    if rest.is_empty() {
        return Ok(s.json().clone());
    }
    lookup(s.json(), rest)
        .cloned()
        .ok_or_else(|| format!("{head} has no field {rest}"))
}

/// `check`: saved values equal, or pairwise different.
pub(crate) fn check(n: usize, c: &Check, saved: &BTreeMap<String, Saved>) -> Result<(), Failure> {
    let get = |r: &String| resolve(saved, r).map_err(|e| Failure::at(n, "check", e));
    if !c.equal.is_empty() {
        let values: Vec<Value> = c.equal.iter().map(get).collect::<Result<_, _>>()?;
        if values.windows(2).any(|w| w[0] != w[1]) {
            let shown: Vec<String> = c
                .equal
                .iter()
                .zip(&values)
                .map(|(r, v)| format!("{r} = {}", show(v)))
                .collect();
            return Err(Failure::mismatch(
                n,
                "check",
                "values differ".into(),
                format!("{} all equal", c.equal.join(", ")),
                shown.join("; "),
            )
            .with_rule(&c.rule, &c.why));
        }
    }
    if !c.differ.is_empty() {
        let values: Vec<Value> = c.differ.iter().map(get).collect::<Result<_, _>>()?;
        for i in 0..values.len() {
            for j in i + 1..values.len() {
                if values[i] == values[j] {
                    return Err(Failure::mismatch(
                        n,
                        "check",
                        "values are equal".into(),
                        format!("{} different from {}", c.differ[i], c.differ[j]),
                        format!("both {}", show(&values[i])),
                    )
                    .with_rule(&c.rule, &c.why));
                }
            }
        }
    }
    Ok(())
}

/// `raw`: the RPC outcome (accept status, or the COMPOUND status when the
/// reply decodes) against what is expected.
pub(crate) fn raw(
    n: usize,
    exp: Option<&Expect>,
    outcome: Result<Vec<u8>, ClientError>,
) -> Result<(), Failure> {
    let got = match &outcome {
        Ok(body) => {
            let mut r = Reader::new(body);
            match Compound4Res::decode(&mut r) {
                Ok(res) => status_name(res.status),
                Err(_) => "SUCCESS".to_string(),
            }
        }
        Err(ClientError::Rpc { detail, .. }) => [
            "PROG_UNAVAIL",
            "PROG_MISMATCH",
            "PROC_UNAVAIL",
            "GARBAGE_ARGS",
            "SYSTEM_ERR",
        ]
        .into_iter()
        .find(|s| detail.contains(s))
        .map_or_else(|| detail.clone(), str::to_string),
        Err(e) => return Err(Failure::at(n, "raw", format!("no usable reply: {e}"))),
    };
    let set = match exp {
        None => None,
        Some(Expect::Status(s)) => Some(s),
        Some(Expect::Full(f)) => f.status.as_ref(),
    };
    if status_matches(set, &got) || (set.is_none() && got == "SUCCESS") {
        Ok(())
    } else {
        let want = set.map_or("NFS4_OK".to_string(), |s| s.names().join(" or "));
        Err(Failure::mismatch(
            n,
            "raw",
            "unexpected answer".into(),
            want,
            got,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use analyzer::nfs4::attr::AttrValue;
    use analyzer::nfs4::{
        Dirlist4, Entry4, Fattr4, FsLocation4, FsLocations4, NfsRes, Readdir4ResOk, Verifier4,
    };
    use analyzer::xdr::{List, Opaque};

    fn saved(pairs: &[(&str, Value)]) -> BTreeMap<String, Saved> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Saved::Reply(v.clone())))
            .collect()
    }

    fn eid(clientid: &str, flags: &str) -> Value {
        serde_json::json!({
            "op": "EXCHANGE_ID", "status": "NFS4_OK",
            "eir_clientid": clientid, "eir_flags": flags,
            "eir_server_owner": {"so_minor_id": 0, "so_major_id": "m"},
        })
    }

    #[test]
    fn status_defaults_to_ok_and_sets_accept_any_member() {
        let s = BTreeMap::new();
        let v = Value::Null;
        assert!(expect(1, "x", None, NfsStat4::NFS4_OK, &v, &s).is_ok());
        let e = expect(1, "x", None, NfsStat4::NFS4ERR_GRACE, &v, &s).expect_err("not ok");
        assert_eq!(e.expected.as_deref(), Some("NFS4_OK"));
        assert_eq!(e.actual.as_deref(), Some("NFS4ERR_GRACE"));
        let set = Expect::Status(StatusSet::AnyOf(vec![
            "NFS4_OK".into(),
            "NFS4ERR_GRACE".into(),
        ]));
        assert!(expect(1, "x", Some(&set), NfsStat4::NFS4ERR_GRACE, &v, &s).is_ok());
        let any = Expect::Status(StatusSet::One("any".into()));
        assert!(expect(1, "x", Some(&any), NfsStat4::NFS4ERR_DELAY, &v, &s).is_ok());
    }

    #[test]
    fn fields_are_judged_by_path_flags_and_saved_values() {
        let s = saved(&[("x1", eid("0x1", "CONFIRMED_R"))]);
        let v = eid("0x1", "SUPP_MOVED_REFER|USE_PNFS_MDS");
        let yaml = |text: &str| -> Expect { serde_saphyr::from_str(text).expect("expect parses") };
        let ok = yaml("{fields: {eir_flags: {has: [USE_PNFS_MDS], lacks: [CONFIRMED_R]}, eir_clientid: {same_as: x1.eir_clientid}, eir_server_owner.so_minor_id: 0}}");
        expect(2, "x", Some(&ok), NfsStat4::NFS4_OK, &v, &s).expect("holds");
        let bad = yaml("{fields: {eir_flags: {has: [CONFIRMED_R]}}, rule: RFC 8881 §18.35.3}");
        let e = expect(2, "exchange_id", Some(&bad), NfsStat4::NFS4_OK, &v, &s).expect_err("fails");
        assert_eq!(e.expected.as_deref(), Some("CONFIRMED_R set"));
        assert_eq!(e.rule.as_deref(), Some("RFC 8881 §18.35.3"));
        let differs = yaml("{fields: {eir_clientid: {differs_from: x1.eir_clientid}}}");
        assert!(expect(2, "x", Some(&differs), NfsStat4::NFS4_OK, &v, &s).is_err());
    }

    /// A READDIR result with these (name, attributes) entries, as the
    /// runner renders it.
    fn readdir_json(entries: &[(&str, Vec<AttrValue<'static>>)], eof: bool) -> Value {
        let list = entries
            .iter()
            .enumerate()
            .map(|(i, (name, values))| Entry4 {
                cookie: 10 + i as u64,
                name: Opaque::from(name.to_string()),
                attrs: Fattr4::from_values(values),
            })
            .collect();
        result_json(&NfsResOp::Readdir(NfsRes::Ok(Readdir4ResOk {
            cookieverf: Verifier4([0; 8]),
            reply: Dirlist4 {
                entries: List(list),
                eof,
            },
        })))
    }

    #[test]
    fn a_named_readdir_entry_is_the_reply_whatever_its_place() {
        let locations = FsLocations4 {
            fs_root: vec![Opaque::from("export"), Opaque::from("ref-c")],
            locations: vec![FsLocation4 {
                server: vec![Opaque::from("10.99.3.2")],
                rootpath: vec![Opaque::from("export")],
            }],
        };
        let json = readdir_json(
            &[
                ("hello.txt", vec![AttrValue::RdattrError(NfsStat4::NFS4_OK)]),
                (
                    "ref-c",
                    vec![
                        AttrValue::RdattrError(NfsStat4::NFS4ERR_MOVED),
                        AttrValue::FsLocations(locations),
                    ],
                ),
            ],
            true,
        );
        let e = readdir_entry(&json, "ref-c").expect("found");
        assert_eq!(e["name"], "ref-c");
        assert_eq!(e["cookie"], 11);
        assert_eq!(e["op"], "READDIR");
        assert_eq!(e["status"], "NFS4_OK");
        assert_eq!(e["rdattr_error"], "NFS4ERR_MOVED");
        // fs_locations' servers by dotted path, arrays by index.
        assert_eq!(
            lookup(&e, "fs_locations.locations.0.server.0"),
            Some(&Value::from("10.99.3.2"))
        );
        assert_eq!(
            lookup(&e, "fs_locations.fs_root.1"),
            Some(&Value::from("ref-c"))
        );
        // The step's expectation reads it like any reply.
        let want: Expect =
            serde_saphyr::from_str("{fields: {rdattr_error: NFS4ERR_MOVED}}").expect("parses");
        expect(
            3,
            "readdir",
            Some(&want),
            NfsStat4::NFS4_OK,
            &e,
            &BTreeMap::new(),
        )
        .expect("holds");
        let other = readdir_entry(&json, "hello.txt").expect("found");
        assert!(expect(
            3,
            "readdir",
            Some(&want),
            NfsStat4::NFS4_OK,
            &other,
            &BTreeMap::new()
        )
        .is_err());
    }

    #[test]
    fn a_readdir_reply_without_the_entry_says_what_it_holds() {
        let json = readdir_json(&[("a", vec![]), ("b", vec![])], false);
        let e = readdir_entry(&json, "ref-c").expect_err("absent");
        assert!(
            e.contains("no entry \"ref-c\"")
                && e.contains("2 entries")
                && e.contains("a, b")
                && e.contains("eof false"),
            "{e}"
        );
        let whole = readdir_entry(&readdir_json(&[], true), "x").expect_err("empty");
        assert!(whole.contains("0 entries, the whole directory"), "{whole}");
        assert!(
            readdir_entry(&Value::Null, "x").is_err(),
            "no READDIR result at all"
        );
    }

    #[test]
    fn checks_compare_saved_values() {
        let s = saved(&[
            ("a", eid("0x1", "0")),
            ("b", eid("0x1", "0")),
            ("c", eid("0x2", "0")),
        ]);
        let c = |eq: &[&str], df: &[&str]| Check {
            equal: eq.iter().map(|x| x.to_string()).collect(),
            differ: df.iter().map(|x| x.to_string()).collect(),
            rule: None,
            why: None,
            kw: None,
        };
        assert!(check(1, &c(&["a.eir_clientid", "b.eir_clientid"], &[]), &s).is_ok());
        let e = check(1, &c(&["a.eir_clientid", "c.eir_clientid"], &[]), &s).expect_err("differ");
        assert!(
            e.actual.as_deref().is_some_and(|a| a.contains("0x2")),
            "{e}"
        );
        assert!(check(1, &c(&[], &["a.eir_clientid", "c.eir_clientid"]), &s).is_ok());
        assert!(check(1, &c(&[], &["a.eir_clientid", "b.eir_clientid"]), &s).is_err());
        let missing = check(1, &c(&["a.nope", "b.nope"], &[]), &s).expect_err("missing");
        assert!(missing.message.contains("no field nope"), "{missing}");
    }
}
