//! A minimal tar reader with Python `tarfile` semantics for the fields tarsum uses. Numbers are
//! parsed from their octal or base-256 text explicitly (no host byte order involved).

use crate::error::CryptoError;

const BLOCK: usize = 512;

/// One tar member.
#[derive(Debug)]
pub struct Member<'a> {
    pub name: String,
    pub mode: u64,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    /// Python's `str(tarinfo.mtime)`: an int, or a float from a PAX header.
    pub mtime: String,
    pub typeflag: u8,
    pub linkname: String,
    pub uname: String,
    pub gname: String,
    pub devmajor: u64,
    pub devminor: u64,
    pub content: &'a [u8],
}

impl Member<'_> {
    /// Python's `REGULAR_TYPES` (regular, old regular, contiguous, GNU sparse).
    pub fn is_regular(&self) -> bool {
        matches!(self.typeflag, b'0' | 0 | b'7' | b'S')
    }
}

/// `repr(bytes([b]))` as Python prints it.
pub fn py_bytes_repr(b: u8) -> String {
    match b {
        b'\\' => "b'\\\\'".to_owned(),
        b'\'' => "b\"'\"".to_owned(),
        b'\t' => "b'\\t'".to_owned(),
        b'\n' => "b'\\n'".to_owned(),
        b'\r' => "b'\\r'".to_owned(),
        0x20..=0x7e => format!("b'{}'", char::from(b)),
        _ => format!("b'\\x{b:02x}'"),
    }
}

fn bad(what: &'static str) -> CryptoError {
    CryptoError::InvalidInput(what)
}

/// Python `nts`: up to the first NUL, decoded as UTF-8 (lossy).
fn nts(field: &[u8]) -> String {
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// Python `nti`: octal text, or GNU base-256 when the first byte has the high bit set.
fn nti(field: &[u8]) -> Result<u64, CryptoError> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        let mut n: u64 = u64::from(field[0] & 0x7f);
        for b in &field[1..] {
            n = n
                .checked_mul(256)
                .and_then(|n| n.checked_add(u64::from(*b)))
                .ok_or(bad("tar number overflow"))?;
        }
        return Ok(n);
    }
    let text = nts(field);
    let text = text.trim_matches(|c: char| c == ' ' || c == '\0');
    if text.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(text, 8).map_err(|_| bad("tar number is not octal"))
}

fn checksum_ok(block: &[u8]) -> Result<bool, CryptoError> {
    let stored = nti(&block[148..156])?;
    let unsigned: u64 = block
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(*b)
            }
        })
        .sum();
    Ok(stored == unsigned)
}

fn padded(size: usize) -> usize {
    size.div_ceil(BLOCK) * BLOCK
}

#[derive(Default)]
struct Overrides {
    name: Option<String>,
    linkname: Option<String>,
    pax: Vec<(String, String)>,
}

/// Parses PAX records `"<len> key=value\n"`.
fn parse_pax(data: &[u8]) -> Result<Vec<(String, String)>, CryptoError> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() && rest[0] != 0 {
        let space = rest
            .iter()
            .position(|b| *b == b' ')
            .ok_or(bad("bad PAX record"))?;
        let len: usize = std::str::from_utf8(&rest[..space])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(bad("bad PAX length"))?;
        if len <= space + 1 || len > rest.len() {
            return Err(bad("bad PAX length"));
        }
        let record = &rest[space + 1..len - 1];
        let eq = record
            .iter()
            .position(|b| *b == b'=')
            .ok_or(bad("bad PAX record"))?;
        out.push((
            String::from_utf8_lossy(&record[..eq]).into_owned(),
            String::from_utf8_lossy(&record[eq + 1..]).into_owned(),
        ));
        rest = &rest[len..];
    }
    Ok(out)
}

/// Reads every member of an uncompressed tar; an empty input has no members.
pub fn members(data: &[u8]) -> Result<Vec<Member<'_>>, CryptoError> {
    let mut out = Vec::new();
    let mut offset = 0;
    let mut pending = Overrides::default();
    while offset + BLOCK <= data.len() {
        let block = &data[offset..offset + BLOCK];
        if block.iter().all(|b| *b == 0) {
            break;
        }
        if !checksum_ok(block)? {
            return Err(bad("tar header checksum mismatch"));
        }
        let size = usize::try_from(nti(&block[124..136])?).map_err(|_| bad("tar size"))?;
        let body_start = offset + BLOCK;
        let body_end = body_start.checked_add(size).ok_or(bad("tar size"))?;
        let content = data
            .get(body_start..body_end)
            .ok_or(bad("truncated tar member"))?;
        offset = body_start + padded(size);
        let typeflag = block[156];
        match typeflag {
            b'L' => {
                pending.name = Some(nts(content));
                continue;
            }
            b'K' => {
                pending.linkname = Some(nts(content));
                continue;
            }
            b'x' => {
                pending.pax = parse_pax(content)?;
                continue;
            }
            b'g' => continue,
            _ => {}
        }
        let mut member = header_member(block, typeflag, content)?;
        apply_overrides(
            &mut member,
            std::mem::take(&mut pending),
            data,
            body_start,
            &mut offset,
        )?;
        out.push(member);
    }
    Ok(out)
}

fn header_member<'a>(
    block: &[u8],
    typeflag: u8,
    content: &'a [u8],
) -> Result<Member<'a>, CryptoError> {
    let mut name = nts(&block[0..100]);
    if &block[257..265] == b"ustar\x0000" {
        let prefix = nts(&block[345..500]);
        if !prefix.is_empty() {
            name = format!("{prefix}/{name}");
        }
    }
    let mut typeflag = typeflag;
    if typeflag == 0 && name.ends_with('/') {
        typeflag = b'5';
    }
    if typeflag == b'5' {
        name = name.trim_end_matches('/').to_owned();
    }
    Ok(Member {
        name,
        mode: nti(&block[100..108])?,
        uid: nti(&block[108..116])?,
        gid: nti(&block[116..124])?,
        size: nti(&block[124..136])?,
        mtime: nti(&block[136..148])?.to_string(),
        typeflag,
        linkname: nts(&block[157..257]),
        uname: nts(&block[265..297]),
        gname: nts(&block[297..329]),
        devmajor: nti(&block[329..337])?,
        devminor: nti(&block[337..345])?,
        content,
    })
}

fn apply_overrides<'a>(
    member: &mut Member<'a>,
    pending: Overrides,
    data: &'a [u8],
    body_start: usize,
    offset: &mut usize,
) -> Result<(), CryptoError> {
    if let Some(name) = pending.name {
        member.name = if member.typeflag == b'5' {
            name.trim_end_matches('/').to_owned()
        } else {
            name
        };
    }
    if let Some(link) = pending.linkname {
        member.linkname = link;
    }
    for (key, value) in pending.pax {
        let num = || value.parse::<u64>().map_err(|_| bad("bad PAX number"));
        match key.as_str() {
            "path" => {
                member.name = if member.typeflag == b'5' {
                    value.trim_end_matches('/').to_owned()
                } else {
                    value.clone()
                };
            }
            "linkpath" => member.linkname = value.clone(),
            "uname" => member.uname = value.clone(),
            "gname" => member.gname = value.clone(),
            "uid" => member.uid = num()?,
            "gid" => member.gid = num()?,
            "mtime" => {
                let f: f64 = value.parse().map_err(|_| bad("bad PAX mtime"))?;
                member.mtime = crate::pyjson::dumps(
                    &quay_ports::crypto::JsonValue::Float(f),
                    crate::pyjson::COMPACT,
                );
            }
            "size" => {
                let size = num()?;
                let end = body_start
                    .checked_add(usize::try_from(size).map_err(|_| bad("tar size"))?)
                    .ok_or(bad("tar size"))?;
                member.content = data
                    .get(body_start..end)
                    .ok_or(bad("truncated tar member"))?;
                member.size = size;
                *offset = body_start + padded(member.content.len());
            }
            _ => {}
        }
    }
    Ok(())
}
