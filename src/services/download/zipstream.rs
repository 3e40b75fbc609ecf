//! A push parser for a zip archive as it arrives over the network: local headers, entry data and
//! data descriptors, in order, without the central directory and without a temporary file.
//!
//! Why not a crate: `async_zip`'s streaming reader refuses STORED entries that carry a data
//! descriptor (flag bit 3), which is what XNAT-like servers that stream write when they also put
//! the sizes in the local header (our simulator does), and it hands out entries as `AsyncRead`,
//! which costs a copy per chunk. Here STORED data is passed on as slices of the network buffers
//! (no copy), DEFLATE data is inflated with `flate2` (a deflate stream ends itself, so its
//! length need not be known up front), and Zip64 sizes come from the local header's extra
//! field. A STORED entry with a data descriptor and no size anywhere cannot be streamed: that
//! is an error, and the caller falls back to per-file requests.

use bytes::{Buf, Bytes, BytesMut};
use flate2::{Decompress, FlushDecompress, Status};

const LOCAL_HEADER: u32 = 0x0403_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const END_OF_CENTRAL: u32 = 0x0605_4b50;
const ZIP64_END: u32 = 0x0606_4b50;
const DESCRIPTOR: u32 = 0x0807_4b50;
/// Inflated output per event.
const INFLATE_CHUNK: usize = 128 * 1024;

/// What the parser found next.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// A new entry starts; its data follows.
    Entry(EntryHeader),
    /// Uncompressed bytes of the current entry.
    Data(Bytes),
    /// The current entry ended: its byte count and the CRC-32 the archive gives for it.
    End {
        /// Uncompressed bytes.
        size: u64,
        /// CRC-32 from the header or the data descriptor.
        crc: u32,
        /// CRC-32 of the bytes actually delivered; `None` when the consumer skipped it
        /// ([`ZipStream::skip_crc`]).
        computed_crc: Option<u32>,
    },
    /// The central directory began: no more entries.
    Finished,
}

/// A local file header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryHeader {
    /// Entry name as stored (UTF-8, lossy for other encodings).
    pub name: String,
    /// Uncompressed size when the header gives it.
    pub size: Option<u64>,
    /// A directory entry (name ends in `/`).
    pub is_dir: bool,
}

/// Why the archive cannot be read on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipError(pub String);

impl std::fmt::Display for ZipError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "zip stream: {}", self.0)
    }
}

enum State {
    Header,
    Stored { left: u64 },
    Inflate(Box<Decompress>),
    Descriptor,
    Finished,
}

struct Current {
    crc: u32,
    size: Option<u64>,
    descriptor: bool,
    zip64: bool,
    /// `None` once the consumer said it checks the bytes another way.
    hasher: Option<flate2::Crc>,
    delivered: u64,
}

/// Feed network chunks with [`ZipStream::feed`], take events with [`ZipStream::next_event`]
/// until it answers `None` (needs more input).
pub struct ZipStream {
    input: Bytes,
    /// Header bytes gathered across chunk boundaries.
    held: BytesMut,
    state: State,
    cur: Option<Current>,
}

impl Default for ZipStream {
    fn default() -> Self {
        Self::new()
    }
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

fn u64_at(b: &[u8], i: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[i..i + 8]);
    u64::from_le_bytes(a)
}

impl ZipStream {
    /// A parser before the first byte.
    pub fn new() -> Self {
        ZipStream {
            input: Bytes::new(),
            held: BytesMut::new(),
            state: State::Header,
            cur: None,
        }
    }

    /// Queue the next network chunk. Call only after [`Self::next_event`] answered `None`.
    pub fn feed(&mut self, chunk: Bytes) {
        if self.input.is_empty() {
            self.input = chunk;
        } else {
            // Only reached when a caller feeds twice without draining; keep it correct.
            let mut joined = BytesMut::with_capacity(self.input.len() + chunk.len());
            joined.extend_from_slice(&self.input);
            joined.extend_from_slice(&chunk);
            self.input = joined.freeze();
        }
    }

    /// Do not compute the CRC-32 of the current entry (call after its [`Event::Entry`]): the
    /// consumer checks its bytes against a stronger digest (the catalog's MD5), which makes the
    /// CRC redundant work on every byte. Its [`Event::End`] then carries `computed_crc: None`.
    pub fn skip_crc(&mut self) {
        if let Some(c) = self.cur.as_mut() {
            c.hasher = None;
        }
    }

    /// Compute the CRC-32 of the current entry again after [`Self::skip_crc`] (call before its
    /// first data).
    pub fn check_crc(&mut self) {
        if let Some(c) = self.cur.as_mut() {
            if c.delivered == 0 {
                c.hasher.get_or_insert_with(flate2::Crc::new);
            }
        }
    }

    /// Whether the archive was read to its central directory.
    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Finished)
    }

    /// Gather `n` bytes into `held`; false when the input ran out first.
    fn gather(&mut self, n: usize) -> bool {
        if self.held.len() < n {
            let take = (n - self.held.len()).min(self.input.len());
            self.held.extend_from_slice(&self.input[..take]);
            self.input.advance(take);
        }
        self.held.len() >= n
    }

    /// The next event, `Ok(None)` when more input is needed.
    pub fn next_event(&mut self) -> Result<Option<Event>, ZipError> {
        loop {
            match &mut self.state {
                State::Finished => {
                    self.input.clear();
                    return Ok(None);
                }
                State::Header => return self.header(),
                State::Stored { left } => {
                    if *left == 0 {
                        self.state = State::Descriptor;
                        continue;
                    }
                    if self.input.is_empty() {
                        return Ok(None);
                    }
                    let n = (*left).min(self.input.len() as u64) as usize;
                    *left -= n as u64;
                    let data = self.input.split_to(n);
                    return Ok(Some(self.deliver(data)));
                }
                State::Inflate(d) => {
                    if self.input.is_empty() {
                        return Ok(None);
                    }
                    let mut out = Vec::with_capacity(INFLATE_CHUNK);
                    let before_in = d.total_in();
                    let status = d
                        .decompress_vec(&self.input, &mut out, FlushDecompress::None)
                        .map_err(|e| ZipError(format!("bad deflate data: {e}")))?;
                    let used = (d.total_in() - before_in) as usize;
                    let ended = status == Status::StreamEnd;
                    self.input.advance(used);
                    if ended {
                        self.state = State::Descriptor;
                    }
                    if !out.is_empty() {
                        return Ok(Some(self.deliver(Bytes::from(out))));
                    }
                    if used == 0 && !ended {
                        return Ok(None);
                    }
                }
                State::Descriptor => return self.descriptor(),
            }
        }
    }

    fn deliver(&mut self, data: Bytes) -> Event {
        if let Some(c) = self.cur.as_mut() {
            if let Some(h) = c.hasher.as_mut() {
                h.update(&data);
            }
            c.delivered += data.len() as u64;
        }
        Event::Data(data)
    }

    fn header(&mut self) -> Result<Option<Event>, ZipError> {
        if !self.gather(4) {
            return Ok(None);
        }
        match u32_at(&self.held, 0) {
            LOCAL_HEADER => {}
            CENTRAL_HEADER | END_OF_CENTRAL | ZIP64_END => {
                self.held.clear();
                self.state = State::Finished;
                self.input.clear();
                return Ok(Some(Event::Finished));
            }
            sig => return Err(ZipError(format!("unexpected signature {sig:#010x}"))),
        }
        if !self.gather(30) {
            return Ok(None);
        }
        let name_len = u16_at(&self.held, 26) as usize;
        let extra_len = u16_at(&self.held, 28) as usize;
        if !self.gather(30 + name_len + extra_len) {
            return Ok(None);
        }
        let h = std::mem::take(&mut self.held);
        let flags = u16_at(&h, 6);
        let method = u16_at(&h, 8);
        let crc = u32_at(&h, 14);
        let mut csize = u32_at(&h, 18) as u64;
        let mut usize_ = u32_at(&h, 22) as u64;
        let name = String::from_utf8_lossy(&h[30..30 + name_len]).into_owned();
        let extra = &h[30 + name_len..30 + name_len + extra_len];
        let mut zip64 = false;
        let mut i = 0;
        while i + 4 <= extra.len() {
            let id = u16_at(extra, i);
            let len = u16_at(extra, i + 2) as usize;
            let body = &extra[i + 4..(i + 4 + len).min(extra.len())];
            if id == 0x0001 {
                zip64 = true;
                let mut j = 0;
                if usize_ == 0xFFFF_FFFF && body.len() >= j + 8 {
                    usize_ = u64_at(body, j);
                    j += 8;
                }
                if csize == 0xFFFF_FFFF && body.len() >= j + 8 {
                    csize = u64_at(body, j);
                }
            }
            i += 4 + len;
        }
        if flags & 0x0001 != 0 {
            return Err(ZipError(format!(
                "{name}: encrypted entries are not supported"
            )));
        }
        let descriptor = flags & 0x0008 != 0;
        let known = !descriptor || csize != 0 || usize_ != 0;
        self.state = match method {
            0 => {
                if descriptor && !known {
                    // Zero sizes with a descriptor: an empty entry if a descriptor follows at once.
                    State::Stored { left: 0 }
                } else if csize != usize_ {
                    return Err(ZipError(format!("{name}: stored sizes disagree")));
                } else {
                    State::Stored { left: csize }
                }
            }
            8 => State::Inflate(Box::new(Decompress::new(false))),
            m => {
                return Err(ZipError(format!(
                    "{name}: compression method {m} is not supported"
                )))
            }
        };
        self.cur = Some(Current {
            crc,
            size: known.then_some(usize_),
            descriptor,
            zip64,
            hasher: Some(flate2::Crc::new()),
            delivered: 0,
        });
        Ok(Some(Event::Entry(EntryHeader {
            is_dir: name.ends_with('/'),
            name,
            size: known.then_some(usize_),
        })))
    }

    fn descriptor(&mut self) -> Result<Option<Event>, ZipError> {
        let Some((descriptor, zip64)) = self.cur.as_ref().map(|c| (c.descriptor, c.zip64)) else {
            return Err(ZipError("data without an entry".into()));
        };
        let (crc, size) = if descriptor {
            if !self.gather(4) {
                return Ok(None);
            }
            let signed = u32_at(&self.held, 0) == DESCRIPTOR;
            let width = if zip64 { 8 } else { 4 };
            let need = usize::from(signed) * 4 + 4 + 2 * width;
            if !self.gather(need) {
                return Ok(None);
            }
            let h = std::mem::take(&mut self.held);
            let at = usize::from(signed) * 4;
            let crc = u32_at(&h, at);
            let size = if zip64 {
                u64_at(&h, at + 4 + 8)
            } else {
                u32_at(&h, at + 4 + 4) as u64
            };
            (crc, size)
        } else {
            let cur = self.cur.as_ref().expect("checked above");
            (cur.crc, cur.size.unwrap_or(cur.delivered))
        };
        let cur = self.cur.take().expect("checked above");
        if size != cur.delivered {
            return Err(ZipError(format!(
                "entry declares {size} bytes but holds {}",
                cur.delivered
            )));
        }
        self.state = State::Header;
        Ok(Some(Event::End {
            size,
            crc,
            computed_crc: cur.hasher.map(|h| h.sum()),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Feed `zip` in chunks of `step` bytes; collect (name, bytes, crc ok) per entry.
    fn parse(zip: &[u8], step: usize) -> Result<Vec<(String, Vec<u8>, bool)>, ZipError> {
        let mut p = ZipStream::new();
        let mut out: Vec<(String, Vec<u8>, bool)> = Vec::new();
        for chunk in zip.chunks(step) {
            p.feed(Bytes::copy_from_slice(chunk));
            while let Some(ev) = p.next_event()? {
                match ev {
                    Event::Entry(h) => out.push((h.name, Vec::new(), false)),
                    Event::Data(d) => out.last_mut().unwrap().1.extend_from_slice(&d),
                    Event::End {
                        crc, computed_crc, ..
                    } => out.last_mut().unwrap().2 = Some(crc) == computed_crc,
                    Event::Finished => {}
                }
            }
        }
        assert!(p.is_finished());
        Ok(out)
    }

    fn sample() -> Vec<(String, Vec<u8>)> {
        vec![
            (
                "S/scans/1-T1/resources/DICOM/files/a.dcm".into(),
                (0..70_000u32).map(|i| (i * 7) as u8).collect(),
            ),
            (
                "S/scans/1-T1/resources/DICOM/files/empty".into(),
                Vec::new(),
            ),
            (
                "S/resources/NOTES/files/n.txt".into(),
                b"notes\n".repeat(1000),
            ),
        ]
    }

    /// A zip as a streaming server writes it: every entry with a data descriptor; STORED
    /// entries with their sizes in the local header (as our simulator does), DEFLATE entries
    /// with zeros there (as Java's `ZipOutputStream` does); Zip64 extra fields and descriptors
    /// when `zip64`. The central directory is left out but for its signature: the parser
    /// stops there.
    fn zip_with(deflate: bool, zip64: bool) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, data) in sample() {
            let mut crc = flate2::Crc::new();
            crc.update(&data);
            let body = if deflate {
                let mut e =
                    flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(&data).unwrap();
                e.finish().unwrap()
            } else {
                data.clone()
            };
            let header_size = |v: u64| -> u32 {
                if zip64 {
                    u32::MAX
                } else if deflate {
                    0
                } else {
                    v as u32
                }
            };
            out.extend_from_slice(&LOCAL_HEADER.to_le_bytes());
            out.extend_from_slice(&45u16.to_le_bytes());
            out.extend_from_slice(&0x0808u16.to_le_bytes());
            out.extend_from_slice(&(if deflate { 8u16 } else { 0 }).to_le_bytes());
            out.extend_from_slice(&[0u8; 4]);
            out.extend_from_slice(&0u32.to_le_bytes());
            out.extend_from_slice(&header_size(body.len() as u64).to_le_bytes());
            out.extend_from_slice(&header_size(data.len() as u64).to_le_bytes());
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(&(if zip64 { 20u16 } else { 0 }).to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            if zip64 {
                let known = |v: u64| if deflate { 0 } else { v };
                out.extend_from_slice(&1u16.to_le_bytes());
                out.extend_from_slice(&16u16.to_le_bytes());
                out.extend_from_slice(&known(data.len() as u64).to_le_bytes());
                out.extend_from_slice(&known(body.len() as u64).to_le_bytes());
            }
            out.extend_from_slice(&body);
            out.extend_from_slice(&DESCRIPTOR.to_le_bytes());
            out.extend_from_slice(&crc.sum().to_le_bytes());
            if zip64 {
                out.extend_from_slice(&(body.len() as u64).to_le_bytes());
                out.extend_from_slice(&(data.len() as u64).to_le_bytes());
            } else {
                out.extend_from_slice(&(body.len() as u32).to_le_bytes());
                out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            }
        }
        out.extend_from_slice(&CENTRAL_HEADER.to_le_bytes());
        out.extend_from_slice(&[0u8; 42]);
        out
    }

    #[test]
    fn deflated_and_stored_streams_with_descriptors_parse_in_any_chunking() {
        for method in [true, false] {
            for large in [false, true] {
                let zip = zip_with(method, large);
                for step in [1, 7, 4096, zip.len()] {
                    let got = parse(&zip, step).unwrap();
                    let want = sample();
                    assert_eq!(got.len(), want.len(), "{method:?} {large} {step}");
                    for ((n, d, crc_ok), (wn, wd)) in got.iter().zip(want) {
                        assert_eq!((n, d), (&wn, &wd));
                        assert!(crc_ok, "{n}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_simulators_archives_parse() {
        let entries: Vec<xnat_sim::archive::ArchiveEntry> = sample()
            .into_iter()
            .map(|(name, data)| xnat_sim::archive::ArchiveEntry {
                name,
                size: data.len() as u64,
                data: xnat_sim::state::FileData::Inline(data),
            })
            .collect();
        let mut zip = Vec::new();
        xnat_sim::archive::write_zip(&entries, &mut zip).unwrap();
        let got = parse(&zip, 1000).unwrap();
        assert_eq!(got.len(), 3);
        assert!(got.iter().all(|(_, _, crc_ok)| *crc_ok));
        assert_eq!(got[2].1, b"notes\n".repeat(1000));
    }

    #[test]
    fn a_skipped_crc_is_not_computed_and_the_sizes_are_still_checked() {
        let zip = zip_with(false, false);
        let mut p = ZipStream::new();
        p.feed(Bytes::from(zip));
        let mut ends = Vec::new();
        while let Some(ev) = p.next_event().unwrap() {
            match ev {
                Event::Entry(h) if h.name.ends_with("a.dcm") => p.skip_crc(),
                Event::Entry(h) if h.name.ends_with("n.txt") => {
                    p.skip_crc();
                    p.check_crc();
                }
                Event::End {
                    size,
                    crc,
                    computed_crc,
                } => ends.push((size, computed_crc.map(|c| c == crc))),
                _ => {}
            }
        }
        assert_eq!(ends, [(70_000, None), (0, Some(true)), (6000, Some(true))]);
    }

    #[test]
    fn a_truncated_or_foreign_stream_is_not_finished_or_is_an_error() {
        let zip = zip_with(true, false);
        let mut p = ZipStream::new();
        p.feed(Bytes::copy_from_slice(&zip[..zip.len() / 2]));
        while let Ok(Some(_)) = p.next_event() {}
        assert!(!p.is_finished());
        let mut p = ZipStream::new();
        p.feed(Bytes::from_static(b"<html>not a zip</html>"));
        assert!(p.next_event().is_err());
    }
}
