//! Reading a database's catalog back as sorted, comparable lines, and diffing two catalogs.
//!
//! One line per fact (`table x`, `column x.y #3 character varying(255) NOT NULL default=-`,
//! `index ...`, `constraint ...`, `fk ...`, `sequence ...`); two databases have the same schema
//! when they give the same set of lines.

pub mod pg;
pub mod sqlite;

use std::collections::BTreeSet;

use diesel::QueryableByName;
use diesel::sql_types::Text;

/// One catalog line, as returned by the catalog queries.
#[derive(QueryableByName)]
pub struct Line {
    #[diesel(sql_type = Text)]
    pub line: String,
}

/// The only tolerated difference: Alembic stamps the install time into `blobupload.created`'s
/// default. Lines about that column get the literal masked (after checking it is a timestamp).
pub fn mask_install_time(line: &str) -> String {
    let about_it =
        line.starts_with("column blobupload.created ") || line.starts_with("sql table blobupload ");
    if !about_it {
        return line.to_owned();
    }
    let bytes = line.as_bytes();
    let shape = b"'dddd-dd-dd dd:dd:dd'";
    let mut out = String::new();
    let mut i = 0;
    while i < line.len() {
        let candidate = bytes.get(i..i + shape.len());
        let is_stamp = candidate.is_some_and(|c| {
            c.iter().zip(shape).all(|(b, s)| match s {
                b'd' => b.is_ascii_digit(),
                other => b == other,
            })
        });
        if is_stamp {
            out.push_str("'<install time>'");
            i += shape.len();
        } else {
            out.push(line[i..].chars().next().unwrap_or(' '));
            i += line[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    assert_ne!(
        out, line,
        "blobupload.created has no timestamp default: {line}"
    );
    out
}

/// Lines in one set and not the other, both ways, as a readable report (empty when equal).
pub fn diff(left_name: &str, left: &[String], right_name: &str, right: &[String]) -> String {
    let l: BTreeSet<_> = left.iter().collect();
    let r: BTreeSet<_> = right.iter().collect();
    let mut out = String::new();
    for line in l.difference(&r) {
        out.push_str(&format!("  only in {left_name}:  {line}\n"));
    }
    for line in r.difference(&l) {
        out.push_str(&format!("  only in {right_name}: {line}\n"));
    }
    out
}

/// Panics with the readable diff when the two catalogs differ.
pub fn assert_same(
    what: &str,
    left_name: &str,
    left: &[String],
    right_name: &str,
    right: &[String],
) {
    assert!(!left.is_empty(), "{what}: {left_name} catalog is empty");
    let d = diff(left_name, left, right_name, right);
    assert!(d.is_empty(), "{what}: catalogs differ\n{d}");
}

#[test]
fn masks_only_the_install_time() {
    let l = "column blobupload.created #10 timestamp without time zone NOT NULL \
             default='2026-11-27 11:28:00'::timestamp without time zone";
    assert!(mask_install_time(l).contains("default='<install time>'::timestamp"));
    let other = "column tag.name #2 character varying(255) NOT NULL default='2026-11-27 11:28:00'";
    assert_eq!(mask_install_time(other), other);
}
