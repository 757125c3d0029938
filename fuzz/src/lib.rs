//! What the fuzz targets share.

/// Runs `check` on `data` as it is and, when it is long enough, with its last 4 bytes replaced by the right
/// CRC-32 of the rest: stored records end in a checksum, and without the second try the fuzzer would rarely
/// get past it to the parser.
pub fn as_is_and_with_checksum(data: &[u8], check: impl Fn(&[u8])) {
    check(data);
    if let Some(body_len) = data.len().checked_sub(4) {
        let mut fixed = data.to_vec();
        let (body, trailer) = fixed.split_at_mut(body_len);
        trailer.copy_from_slice(&crc32fast::hash(body).to_le_bytes());
        check(&fixed);
    }
}
