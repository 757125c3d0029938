//! The byte-level pieces shared by the chunk and snapshot encodings: LEB128 varints, short strings, and a
//! CRC-32 trailer so damage is detected rather than trusted. Reading never panics: every read is bounds-checked.

/// A signed value (a timestamp delta) as an unsigned one, small when the value is near zero either way.
#[inline]
pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// The signed value of [`zigzag`].
#[inline]
pub(crate) fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

pub(crate) struct Writer {
    pub bytes: Vec<u8>,
}

impl Writer {
    pub fn with_capacity(n: usize) -> Self {
        Self { bytes: Vec::with_capacity(n) }
    }

    #[inline]
    pub fn u8(&mut self, v: u8) {
        self.bytes.push(v);
    }

    #[inline]
    pub fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.bytes.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.bytes.push(v as u8);
    }

    pub fn str(&mut self, s: &str) {
        self.varint(s.len() as u64);
        self.bytes.extend_from_slice(s.as_bytes());
    }

    /// Appends the CRC-32 of everything written so far and returns the bytes.
    pub fn finish_with_crc(mut self) -> Vec<u8> {
        let crc = crc32fast::hash(&self.bytes);
        self.bytes.extend_from_slice(&crc.to_le_bytes());
        self.bytes
    }
}

/// Why stored bytes could not be read: the low-level part of a chunk or snapshot error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WireError {
    Truncated,
    Checksum,
    Malformed(&'static str),
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::Truncated => write!(f, "the data ends too early"),
            WireError::Checksum => write!(f, "the checksum does not match (the data is damaged)"),
            WireError::Malformed(what) => write!(f, "{what}"),
        }
    }
}

/// A varint of four bytes or more at the start of `rest`, and its length. Apart from the reader (not a method
/// of it), so that the reader of a hot loop can stay in registers.
#[cold]
#[inline(never)]
fn long_varint(rest: &[u8]) -> Result<(u64, usize), WireError> {
    let mut v: u64 = 0;
    for (i, &b) in rest.iter().take(10).enumerate() {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            if i == 9 && b > 1 {
                return Err(WireError::Malformed("a number is too large"));
            }
            return Ok((v, i + 1));
        }
    }
    Err(if rest.len() < 10 { WireError::Truncated } else { WireError::Malformed("a number is too large") })
}

pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Checks the CRC-32 trailer and returns a reader over the body.
    pub fn with_crc(bytes: &'a [u8]) -> Result<Self, WireError> {
        let Some(body_len) = bytes.len().checked_sub(4) else {
            return Err(WireError::Truncated);
        };
        let (body, trailer) = bytes.split_at(body_len);
        let mut crc = [0u8; 4];
        crc.copy_from_slice(trailer);
        if crc32fast::hash(body) != u32::from_le_bytes(crc) {
            return Err(WireError::Checksum);
        }
        Ok(Self { bytes: body, pos: 0 })
    }

    pub fn is_at_end(&self) -> bool {
        self.pos == self.bytes.len()
    }

    /// The bytes not yet read.
    pub fn remaining(&self) -> &'a [u8] {
        self.bytes.get(self.pos..).unwrap_or_default()
    }

    #[inline(always)]
    pub fn u8(&mut self) -> Result<u8, WireError> {
        let b = *self.bytes.get(self.pos).ok_or(WireError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    #[inline(always)]
    pub fn varint(&mut self) -> Result<u64, WireError> {
        let rest = self.bytes.get(self.pos..).unwrap_or_default();
        // Most fields fit in one byte, nearly all in three: those are decoded without a loop, from fixed
        // positions the compiler can check once.
        match *rest {
            [b0, ..] if b0 < 0x80 => {
                self.pos += 1;
                Ok(u64::from(b0))
            }
            [b0, b1, ..] if b1 < 0x80 => {
                self.pos += 2;
                Ok(u64::from(b0 & 0x7f) | u64::from(b1) << 7)
            }
            [b0, b1, b2, ..] if b2 < 0x80 => {
                self.pos += 3;
                Ok(u64::from(b0 & 0x7f) | u64::from(b1 & 0x7f) << 7 | u64::from(b2) << 14)
            }
            [] => Err(WireError::Truncated),
            _ => {
                let (v, len) = long_varint(rest)?;
                self.pos += len;
                Ok(v)
            }
        }
    }

    #[inline(always)]
    pub fn zigzag(&mut self) -> Result<i64, WireError> {
        self.varint().map(unzigzag)
    }

    /// A count of things still to read, each taking at least `min_bytes` bytes, and at most `format_max` of
    /// them: a crafted count can never make the reader allocate more than the data could hold.
    pub fn count_of(&mut self, min_bytes: usize, format_max: usize) -> Result<usize, WireError> {
        let n = self.varint()?;
        let left = self.bytes.len().saturating_sub(self.pos) / min_bytes.max(1);
        if n > left as u64 {
            return Err(WireError::Malformed("a count is larger than the data"));
        }
        if n > format_max as u64 {
            return Err(WireError::Malformed("a count is above the format's maximum"));
        }
        Ok(n as usize)
    }

    pub fn str(&mut self) -> Result<&'a str, WireError> {
        std::str::from_utf8(self.raw_str()?).map_err(|_| WireError::Malformed("a name is not UTF-8"))
    }

    /// A string's bytes, not yet checked to be UTF-8.
    #[inline]
    pub fn raw_str(&mut self) -> Result<&'a [u8], WireError> {
        let len = self.varint()?;
        self.raw_str_at(len)
    }

    /// As [`Reader::raw_str`], with the 16 bytes from the string's start when there are that many left (the
    /// string and what follows it), for a comparison in one step.
    #[inline]
    pub fn raw_str_window(&mut self) -> Result<(&'a [u8], Option<&'a [u8; 16]>), WireError> {
        let len = self.varint()?;
        let start = self.pos;
        let raw = self.raw_str_at(len)?;
        let window = self.bytes.get(start..start.wrapping_add(16)).and_then(|w| <&[u8; 16]>::try_from(w).ok());
        Ok((raw, window))
    }

    /// The `len` bytes of a string whose length was just read. A plain length, not a count: bounding it costs
    /// a division, and the slice's own bounds check already refuses one longer than the data.
    #[inline]
    fn raw_str_at(&mut self, len: u64) -> Result<&'a [u8], WireError> {
        let end = usize::try_from(len).ok().and_then(|len| self.pos.checked_add(len)).ok_or(WireError::Truncated)?;
        let raw = self.bytes.get(self.pos..end).ok_or(WireError::Truncated)?;
        self.pos = end;
        Ok(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_the_edges() {
        let values = [0, 1, 127, 128, 16383, 16384, crate::MAX, u64::MAX];
        let mut w = Writer::with_capacity(64);
        for v in values {
            w.varint(v);
        }
        for v in [0i64, -1, 1, i64::MIN, i64::MAX] {
            w.varint(zigzag(v));
        }
        let bytes = w.finish_with_crc();
        let mut r = Reader::with_crc(&bytes).unwrap();
        for v in values {
            assert_eq!(r.varint().unwrap(), v);
        }
        for v in [0i64, -1, 1, i64::MIN, i64::MAX] {
            assert_eq!(r.zigzag().unwrap(), v);
        }
        assert!(r.is_at_end());
    }

    #[test]
    fn a_flipped_bit_fails_the_checksum() {
        let mut w = Writer::with_capacity(8);
        w.varint(300);
        let mut bytes = w.finish_with_crc();
        bytes[0] ^= 1;
        assert_eq!(Reader::with_crc(&bytes).err(), Some(WireError::Checksum));
        assert_eq!(Reader::with_crc(&[1, 2]).err(), Some(WireError::Truncated));
    }
}
