//! A bounds check of a file's element structure before dicom-rs parses it.
//!
//! dicom-rs allocates (and zero-fills) whatever length an element header claims before reading
//! the value, so a corrupt header claiming 3 GB costs 3 GB and many seconds (pydicom's
//! `UN_sequence.dcm` and `SC_rgb_jpeg.dcm` do exactly that). This walk reads only headers,
//! recursing into sequences and items, and refuses any length larger than what is left of its
//! container: such files are reported as broken in microseconds.

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;

const UNDEFINED: u32 = 0xFFFF_FFFF;
const ITEM: (u16, u16) = (0xFFFE, 0xE000);
const ITEM_END: (u16, u16) = (0xFFFE, 0xE00D);
const SEQ_END: (u16, u16) = (0xFFFE, 0xE0DD);
/// Nesting deeper than this is refused rather than recursed into.
const MAX_DEPTH: usize = 64;

/// Where the parts of a Part 10 file are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Offset of the first data set byte (after preamble and meta group).
    pub dataset_start: usize,
    /// Transfer syntax UID from the meta group (empty when absent).
    pub transfer_syntax: String,
    /// MediaStorageSOPClassUID (empty when absent).
    pub sop_class: String,
    /// MediaStorageSOPInstanceUID (empty when absent).
    pub sop_instance: String,
}

/// An element header: tag as (group, element), VR when known, value length.
type Header = ((u16, u16), Option<VR>, u32);

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    big: bool,
    explicit: bool,
}

impl Cursor<'_> {
    fn u16(&mut self) -> Result<u16, String> {
        let big = self.big;
        let b = self.take(2)?;
        Ok(if big {
            u16::from_be_bytes([b[0], b[1]])
        } else {
            u16::from_le_bytes([b[0], b[1]])
        })
    }

    fn u32(&mut self) -> Result<u32, String> {
        let big = self.big;
        let b = self.take(4)?;
        let a = [b[0], b[1], b[2], b[3]];
        Ok(if big {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        })
    }

    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.bytes.len());
        match end {
            Some(e) => {
                let s = &self.bytes[self.pos..e];
                self.pos = e;
                Ok(s)
            }
            None => Err(format!(
                "file ends inside an element header at byte {}",
                self.pos
            )),
        }
    }

    /// Skip `len` bytes of a value, refusing lengths beyond `limit`.
    fn skip(&mut self, tag: (u16, u16), len: u32, limit: usize) -> Result<(), String> {
        let len = len as usize;
        if len > limit.saturating_sub(self.pos) {
            return Err(format!(
                "element ({:04X},{:04X}) claims {len} bytes but only {} remain (truncated or corrupt file)",
                tag.0,
                tag.1,
                limit.saturating_sub(self.pos)
            ));
        }
        self.pos += len;
        Ok(())
    }

    fn header(&mut self) -> Result<Header, String> {
        let tag = (self.u16()?, self.u16()?);
        if tag.0 == 0xFFFE {
            return Ok((tag, None, self.u32()?));
        }
        if !self.explicit {
            let vr = StandardDataDictionary
                .by_tag(Tag(tag.0, tag.1))
                .map(|e| e.vr().relaxed());
            return Ok((tag, vr, self.u32()?));
        }
        let code = self.take(2)?;
        let code = [code[0], code[1]];
        let vr = VR::from_binary(code);
        let long = matches!(
            vr,
            Some(
                VR::OB
                    | VR::OD
                    | VR::OF
                    | VR::OL
                    | VR::OV
                    | VR::OW
                    | VR::SQ
                    | VR::UC
                    | VR::UR
                    | VR::UT
                    | VR::UN
                    | VR::SV
                    | VR::UV
            )
        );
        let len = if long {
            self.take(2)?;
            self.u32()?
        } else {
            u32::from(self.u16()?)
        };
        Ok((tag, vr, len))
    }

    /// Walk a data set until `limit` (or, with `until_item_end`, an item delimiter).
    fn dataset(&mut self, limit: usize, until_item_end: bool, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err("sequences nested too deeply".into());
        }
        while self.pos < limit {
            let (tag, vr, len) = self.header()?;
            if tag == ITEM_END {
                if until_item_end {
                    return Ok(());
                }
                continue;
            }
            if tag.0 == 0xFFFE {
                return Err(format!(
                    "unexpected delimiter ({:04X},{:04X})",
                    tag.0, tag.1
                ));
            }
            self.value(tag, vr, len, limit, depth)?;
        }
        if until_item_end {
            return Err("file ends inside a sequence item".into());
        }
        Ok(())
    }

    /// Skip (and check) the value of an element whose header was just read.
    fn value(
        &mut self,
        tag: (u16, u16),
        vr: Option<VR>,
        len: u32,
        limit: usize,
        depth: usize,
    ) -> Result<(), String> {
        let is_sq = vr == Some(VR::SQ);
        if len == UNDEFINED {
            if tag == (0x7FE0, 0x0010) {
                self.fragments(limit)?;
            } else if is_sq || (!self.explicit && vr.is_none()) {
                self.sequence(None, limit, depth + 1)?;
            } else {
                return Err(format!(
                    "element ({:04X},{:04X}) has an undefined length that this reader does not support",
                    tag.0, tag.1
                ));
            }
        } else if is_sq {
            let end = self.pos.saturating_add(len as usize);
            self.skip(tag, len, limit)?;
            self.pos -= len as usize;
            self.sequence(Some(end), limit, depth + 1)?;
            self.pos = end;
        } else {
            self.skip(tag, len, limit)?;
        }
        Ok(())
    }

    /// Items of a sequence, up to `end` (defined length) or a sequence delimiter.
    fn sequence(&mut self, end: Option<usize>, limit: usize, depth: usize) -> Result<(), String> {
        let stop = end.unwrap_or(limit);
        loop {
            if end.is_some() && self.pos >= stop {
                return Ok(());
            }
            let (tag, _, len) = self.header()?;
            match tag {
                SEQ_END => return Ok(()),
                ITEM if len == UNDEFINED => self.dataset(stop, true, depth)?,
                ITEM => {
                    let item_end = self.pos.saturating_add(len as usize);
                    self.skip(tag, len, stop)?;
                    self.pos -= len as usize;
                    self.dataset(item_end, false, depth)?;
                    self.pos = item_end;
                }
                _ => {
                    return Err(format!(
                        "expected a sequence item, found ({:04X},{:04X})",
                        tag.0, tag.1
                    ))
                }
            }
        }
    }

    /// Encapsulated pixel data: fragments with defined lengths up to a sequence delimiter.
    fn fragments(&mut self, limit: usize) -> Result<(), String> {
        loop {
            let (tag, _, len) = self.header()?;
            match tag {
                SEQ_END => return Ok(()),
                ITEM => self.skip(tag, len, limit)?,
                _ => return Err("malformed encapsulated pixel data".into()),
            }
        }
    }
}

fn text(value: &[u8]) -> String {
    String::from_utf8_lossy(value)
        .trim_end_matches(['\0', ' '])
        .to_string()
}

/// Find the meta group and data set of `bytes` and check the data set's structure.
pub(crate) fn check(bytes: &[u8]) -> Result<Layout, String> {
    let (layout, mut c) = meta_cursor(bytes)?;
    match layout.transfer_syntax.as_str() {
        "1.2.840.10008.1.2" => c.explicit = false,
        "1.2.840.10008.1.2.2" => c.big = true,
        // Deflated data sets cannot be walked without inflating them; dicom-rs does that.
        "1.2.840.10008.1.2.1.99" => return Ok(layout),
        _ => {}
    }
    c.dataset(bytes.len(), false, 0)?;
    Ok(layout)
}

/// Where the top-level PixelData element starts when the file can be split there: its length is
/// defined and it is the file's last element. Everything before it can then be parsed and
/// rewritten alone, and the rest copied as bytes. `head` is the start of the file, `file_len`
/// its size. `None` when that does not apply: no pixel data in `head`, encapsulated pixel data,
/// elements after it, a deflated data set, or a structure error (which the full check names).
/// The elements before the pixel data are bounds-checked as [`check`] does.
pub(crate) fn pixel_data_split(head: &[u8], file_len: u64) -> Option<usize> {
    let (layout, mut c) = meta_cursor(head).ok()?;
    match layout.transfer_syntax.as_str() {
        "1.2.840.10008.1.2" => c.explicit = false,
        "1.2.840.10008.1.2.2" => c.big = true,
        "1.2.840.10008.1.2.1.99" => return None,
        _ => {}
    }
    let limit = head.len();
    while c.pos < limit {
        let start = c.pos;
        let (tag, vr, len) = c.header().ok()?;
        if tag == (0x7FE0, 0x0010) {
            return (len != UNDEFINED && c.pos as u64 + u64::from(len) == file_len)
                .then_some(start);
        }
        if tag.0 == 0xFFFE {
            return None;
        }
        c.value(tag, vr, len, limit, 0).ok()?;
    }
    None
}

/// The meta group only (`bytes` may be just the head of the file).
pub(crate) fn meta(bytes: &[u8]) -> Result<Layout, String> {
    meta_cursor(bytes).map(|(l, _)| l)
}

fn meta_cursor(bytes: &[u8]) -> Result<(Layout, Cursor<'_>), String> {
    let start = if bytes.len() >= 132 && &bytes[128..132] == b"DICM" {
        132
    } else {
        0
    };
    let mut c = Cursor {
        bytes,
        pos: start,
        big: false,
        explicit: true,
    };
    let mut layout = Layout {
        dataset_start: start,
        transfer_syntax: String::new(),
        sop_class: String::new(),
        sop_instance: String::new(),
    };
    // The meta group is always Explicit VR Little Endian.
    while bytes.len() >= c.pos + 2 && u16::from_le_bytes([bytes[c.pos], bytes[c.pos + 1]]) == 2 {
        let (tag, _, len) = c.header()?;
        let at = c.pos;
        c.skip(tag, len, bytes.len())?;
        let value = &bytes[at..c.pos];
        match tag.1 {
            0x0002 => layout.sop_class = text(value),
            0x0003 => layout.sop_instance = text(value),
            0x0010 => layout.transfer_syntax = text(value),
            _ => {}
        }
    }
    layout.dataset_start = c.pos;
    Ok((layout, c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::dicom::testing::{write_sample, Sample};

    #[test]
    fn a_sample_passes_and_its_layout_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.dcm");
        write_sample(&p, &Sample::default());
        let bytes = std::fs::read(&p).unwrap();
        let l = check(&bytes).unwrap();
        assert_eq!(l.transfer_syntax, "1.2.840.10008.1.2.1");
        assert_eq!(l.sop_instance, "1.2.3.4.5.6.7");
        assert_eq!(&bytes[l.dataset_start..l.dataset_start + 2], &[0x08, 0x00]);
    }

    #[test]
    fn a_length_beyond_the_end_is_refused_without_reading_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.dcm");
        write_sample(&p, &Sample::default());
        let mut bytes = std::fs::read(&p).unwrap();
        let l = check(&bytes).unwrap();
        // First element: (0008,0016) UI, 2-byte length at +6.
        bytes[l.dataset_start + 6] = 0xFF;
        bytes[l.dataset_start + 7] = 0xFF;
        let err = check(&bytes).unwrap_err();
        assert!(err.contains("claims 65535 bytes"), "{err}");
        assert!(check(&bytes[..l.dataset_start + 3]).is_err());
    }

    #[test]
    fn the_pixel_data_split_is_found_only_when_it_ends_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.dcm");
        write_sample(&p, &Sample::default());
        let bytes = std::fs::read(&p).unwrap();
        let len = bytes.len() as u64;
        let at = pixel_data_split(&bytes, len).unwrap();
        assert_eq!(&bytes[at..at + 4], &[0xE0, 0x7F, 0x10, 0x00]);
        // A head that stops before the pixel data, a file longer or shorter than the element.
        assert_eq!(pixel_data_split(&bytes[..at], len), None);
        assert_eq!(pixel_data_split(&bytes, len + 2), None);
        assert_eq!(pixel_data_split(&bytes, len - 2), None);
        let after = Sample {
            after_pixels: Some("x".into()),
            ..Sample::default()
        };
        write_sample(&p, &after);
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(pixel_data_split(&bytes, bytes.len() as u64), None);
    }
}
