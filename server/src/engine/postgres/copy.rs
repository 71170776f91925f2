//! COPY's text format, in which new users go into the `users` table in
//! bulk (`WriteTx::write_users`).

use domain::store::StoreError;

/// A text field of COPY's text format, escaped.
pub(super) fn copy_text(line: &mut Vec<u8>, text: &str) {
    for b in text.bytes() {
        match b {
            b'\\' => line.extend_from_slice(b"\\\\"),
            b'\t' => line.extend_from_slice(b"\\t"),
            b'\n' => line.extend_from_slice(b"\\n"),
            b'\r' => line.extend_from_slice(b"\\r"),
            other => line.push(other),
        }
    }
}

/// A bytea field of COPY's text format (hex: `\\x…`, the backslash
/// escaped).
pub(super) fn copy_bytea(line: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    line.extend_from_slice(b"\\\\x");
    for b in bytes {
        line.push(HEX[usize::from(b >> 4)]);
        line.push(HEX[usize::from(b & 15)]);
    }
}

pub(super) fn backend_io(e: std::io::Error) -> StoreError {
    StoreError::Backend(format!("writing to the database: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_fields_are_escaped() {
        let mut line = Vec::new();
        copy_text(&mut line, "a\\b\tc\nd\re");
        assert_eq!(line, b"a\\\\b\\tc\\nd\\re");
        line.clear();
        copy_bytea(&mut line, &[0, 0xab, 0x7f]);
        assert_eq!(line, b"\\\\x00ab7f");
    }
}
