//! Streamed zip / tar / tar.gz archives of stored files.
//!
//! Nothing is buffered beyond one chunk per connection: a blocking producer reads each file (from
//! disk, memory, or the `--generate` content generator) and hands fixed-size chunks to the response
//! body through a small bounded channel, so a 1 GiB download keeps the simulator's memory flat.
//! Zip entries are STORED with a data descriptor: the CRC is computed while the bytes go out, so no
//! second pass over the content is needed, and the total length is known up front.

use std::io::{self, Read, Write};

use bytes::Bytes;
use futures::Stream;

use crate::state::FileData;

const CHUNK: usize = 256 * 1024;
/// In-flight chunks per download (bounds memory per connection to ~2 MiB).
const DEPTH: usize = 8;
/// 2024-01-01 00:00:00 in DOS format: fixed so archives are reproducible.
const DOS_DATE: u16 = ((2024 - 1980) << 9) | (1 << 5) | 1;
const DOS_TIME: u16 = 0;

/// One file to put in an archive.
#[derive(Debug, Clone)]
pub struct ArchiveEntry {
    pub name: String,
    pub size: u64,
    pub data: FileData,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    Zip,
    Tar,
    TarGz,
}

impl ArchiveFormat {
    /// From a `format=` value.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "zip" => Some(ArchiveFormat::Zip),
            "tar" => Some(ArchiveFormat::Tar),
            "tar.gz" | "tgz" => Some(ArchiveFormat::TarGz),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ArchiveFormat::Zip => "zip",
            ArchiveFormat::Tar => "tar",
            ArchiveFormat::TarGz => "tar.gz",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ArchiveFormat::Zip => "application/zip",
            ArchiveFormat::Tar => "application/x-tar",
            ArchiveFormat::TarGz => "application/x-gzip",
        }
    }
}

/// Why an archive cannot be produced.
#[derive(Debug, PartialEq, Eq)]
pub enum ArchiveError {
    /// Reserved: every selection currently fits (Zip64 covers large archives).
    TooLarge,
}

fn plain_zip_length(entries: &[ArchiveEntry]) -> u64 {
    let mut total = 22u64;
    for e in entries {
        let n = e.name.len() as u64;
        total += 30 + n + e.size + 16 + 46 + n;
    }
    total
}

/// Zip64 records are needed past 65,534 entries or 4 GiB.
pub fn needs_zip64(entries: &[ArchiveEntry]) -> bool {
    entries.len() >= 0xFFFF || plain_zip_length(entries) >= 0xFFFF_FFFF
}

fn zip_length_with(entries: &[ArchiveEntry], zip64: bool) -> u64 {
    if !zip64 {
        return plain_zip_length(entries);
    }
    let mut total = 56 + 20 + 22u64;
    for e in entries {
        let n = e.name.len() as u64;
        total += (30 + n + 20) + e.size + 24 + (46 + n + 28);
    }
    total
}

/// Exact byte length of the zip [`stream`] produces for these entries.
pub fn zip_length(entries: &[ArchiveEntry]) -> u64 {
    zip_length_with(entries, needs_zip64(entries))
}

/// Readable content of a stored file.
pub fn open(data: &FileData, size: u64) -> io::Result<Box<dyn Read + Send>> {
    Ok(match data {
        FileData::Disk(p) => Box::new(std::fs::File::open(p)?),
        FileData::Inline(v) => Box::new(io::Cursor::new(v.clone())),
        FileData::Generated { seed } => Box::new(GeneratedReader::new(*seed, size)),
    })
}

/// Streams exactly the bytes of [`crate::state::generated_bytes`] without materialising them.
pub struct GeneratedReader {
    x: u64,
    left: u64,
    pending: [u8; 8],
    pending_len: usize,
}

impl GeneratedReader {
    pub fn new(seed: u64, size: u64) -> Self {
        GeneratedReader {
            x: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            left: size,
            pending: [0; 8],
            pending_len: 0,
        }
    }

    fn step(&mut self) -> [u8; 8] {
        self.x ^= self.x << 13;
        self.x ^= self.x >> 7;
        self.x ^= self.x << 17;
        self.x.to_le_bytes()
    }
}

impl Read for GeneratedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = (buf.len() as u64).min(self.left) as usize;
        let mut n = 0;
        while n < want && self.pending_len > 0 {
            buf[n] = self.pending[8 - self.pending_len];
            self.pending_len -= 1;
            n += 1;
        }
        while want - n >= 8 {
            let w = self.step();
            buf[n..n + 8].copy_from_slice(&w);
            n += 8;
        }
        if n < want {
            let w = self.step();
            let k = want - n;
            buf[n..want].copy_from_slice(&w[..k]);
            self.pending = w;
            self.pending_len = 8 - k;
            n = want;
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// `io::Write` that forwards full chunks to the response body; fails once the client is gone.
struct ChunkSink {
    tx: tokio::sync::mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl ChunkSink {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx
            .blocking_send(Ok(Bytes::from(chunk)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "client went away"))
    }
}

impl Write for ChunkSink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.buf.len();
        let k = room.min(data.len());
        self.buf.extend_from_slice(&data[..k]);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(k)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// Copy `size` bytes of `data` into `out`, returning the CRC-32 of what was copied.
fn copy_content(data: &FileData, size: u64, out: &mut impl Write) -> io::Result<u32> {
    let mut reader = open(data, size)?.take(size);
    let mut crc = flate2::Crc::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut copied = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        crc.update(&buf[..n]);
        out.write_all(&buf[..n])?;
        copied += n as u64;
    }
    if copied != size {
        // The recorded size is what the headers promised: a short file would corrupt the archive.
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "stored file is shorter than its recorded size",
        ));
    }
    Ok(crc.sum())
}

/// Write a complete zip (STORED entries, data descriptors; Zip64 when needed) into `out`.
pub fn write_zip(entries: &[ArchiveEntry], out: &mut impl Write) -> io::Result<()> {
    write_zip_with(entries, needs_zip64(entries), out)
}

fn write_zip_with(entries: &[ArchiveEntry], zip64: bool, out: &mut impl Write) -> io::Result<()> {
    let flags: u16 = 0x0008 | 0x0800;
    let version: u16 = if zip64 { 45 } else { 20 };
    let u32_or_max = |v: u64| if zip64 { u32::MAX } else { v as u32 };
    let mut offset = 0u64;
    let mut central = Vec::new();
    for e in entries {
        let name = e.name.as_bytes();
        let mut h = Vec::with_capacity(50 + name.len());
        h.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        h.extend_from_slice(&version.to_le_bytes());
        h.extend_from_slice(&flags.to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes());
        h.extend_from_slice(&DOS_TIME.to_le_bytes());
        h.extend_from_slice(&DOS_DATE.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(&u32_or_max(e.size).to_le_bytes());
        h.extend_from_slice(&u32_or_max(e.size).to_le_bytes());
        h.extend_from_slice(&(name.len() as u16).to_le_bytes());
        h.extend_from_slice(&(if zip64 { 20u16 } else { 0 }).to_le_bytes());
        h.extend_from_slice(name);
        if zip64 {
            h.extend_from_slice(&1u16.to_le_bytes());
            h.extend_from_slice(&16u16.to_le_bytes());
            h.extend_from_slice(&e.size.to_le_bytes());
            h.extend_from_slice(&e.size.to_le_bytes());
        }
        out.write_all(&h)?;
        let crc = copy_content(&e.data, e.size, out)?;
        let mut d = Vec::with_capacity(24);
        d.extend_from_slice(&0x0807_4b50u32.to_le_bytes());
        d.extend_from_slice(&crc.to_le_bytes());
        if zip64 {
            d.extend_from_slice(&e.size.to_le_bytes());
            d.extend_from_slice(&e.size.to_le_bytes());
        } else {
            d.extend_from_slice(&(e.size as u32).to_le_bytes());
            d.extend_from_slice(&(e.size as u32).to_le_bytes());
        }
        out.write_all(&d)?;

        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&version.to_le_bytes());
        central.extend_from_slice(&version.to_le_bytes());
        central.extend_from_slice(&flags.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&DOS_TIME.to_le_bytes());
        central.extend_from_slice(&DOS_DATE.to_le_bytes());
        central.extend_from_slice(&crc.to_le_bytes());
        central.extend_from_slice(&u32_or_max(e.size).to_le_bytes());
        central.extend_from_slice(&u32_or_max(e.size).to_le_bytes());
        central.extend_from_slice(&(name.len() as u16).to_le_bytes());
        central.extend_from_slice(&(if zip64 { 28u16 } else { 0 }).to_le_bytes());
        central.extend_from_slice(&[0u8; 6]);
        central.extend_from_slice(&0u32.to_le_bytes());
        central.extend_from_slice(&u32_or_max(offset).to_le_bytes());
        central.extend_from_slice(name);
        if zip64 {
            central.extend_from_slice(&1u16.to_le_bytes());
            central.extend_from_slice(&24u16.to_le_bytes());
            central.extend_from_slice(&e.size.to_le_bytes());
            central.extend_from_slice(&e.size.to_le_bytes());
            central.extend_from_slice(&offset.to_le_bytes());
        }
        offset += h.len() as u64 + e.size + d.len() as u64;
    }
    let cd_len = central.len() as u64;
    out.write_all(&central)?;
    let n = entries.len() as u64;
    let mut end = Vec::with_capacity(98);
    if zip64 {
        let z64_at = offset + cd_len;
        end.extend_from_slice(&0x0606_4b50u32.to_le_bytes());
        end.extend_from_slice(&44u64.to_le_bytes());
        end.extend_from_slice(&45u16.to_le_bytes());
        end.extend_from_slice(&45u16.to_le_bytes());
        end.extend_from_slice(&[0u8; 8]);
        end.extend_from_slice(&n.to_le_bytes());
        end.extend_from_slice(&n.to_le_bytes());
        end.extend_from_slice(&cd_len.to_le_bytes());
        end.extend_from_slice(&offset.to_le_bytes());
        end.extend_from_slice(&0x0706_4b50u32.to_le_bytes());
        end.extend_from_slice(&0u32.to_le_bytes());
        end.extend_from_slice(&z64_at.to_le_bytes());
        end.extend_from_slice(&1u32.to_le_bytes());
    }
    let small = |v: u64, max: u64| if zip64 { max } else { v };
    end.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    end.extend_from_slice(&[0u8; 4]);
    end.extend_from_slice(&(small(n, 0xFFFF) as u16).to_le_bytes());
    end.extend_from_slice(&(small(n, 0xFFFF) as u16).to_le_bytes());
    end.extend_from_slice(&(small(cd_len, 0xFFFF_FFFF) as u32).to_le_bytes());
    end.extend_from_slice(&(small(offset, 0xFFFF_FFFF) as u32).to_le_bytes());
    end.extend_from_slice(&0u16.to_le_bytes());
    out.write_all(&end)?;
    out.flush()
}

/// Write a tar stream (ustar/GNU headers, 512-byte padding) into `out`.
pub fn write_tar(entries: &[ArchiveEntry], out: &mut impl Write) -> io::Result<()> {
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(e.size);
        h.set_mode(0o644);
        h.set_mtime(1_704_067_200);
        h.set_entry_type(tar::EntryType::Regular);
        if e.name.len() > 100 {
            // GNU long name: a `././@LongLink` entry carrying the name first.
            let mut l = tar::Header::new_gnu();
            let name = e.name.as_bytes();
            l.as_gnu_mut().expect("gnu header").name[..13].copy_from_slice(b"././@LongLink");
            l.set_mode(0o644);
            l.set_size(name.len() as u64 + 1);
            l.set_entry_type(tar::EntryType::GNULongName);
            l.set_cksum();
            out.write_all(l.as_bytes())?;
            out.write_all(name)?;
            out.write_all(&[0])?;
            pad(name.len() as u64 + 1, out)?;
            h.as_gnu_mut().expect("gnu header").name[..100].copy_from_slice(&name[..100]);
        } else {
            h.set_path(&e.name)?;
        }
        h.set_cksum();
        out.write_all(h.as_bytes())?;
        copy_content(&e.data, e.size, out)?;
        pad(e.size, out)?;
    }
    out.write_all(&[0u8; 1024])?;
    out.flush()
}

fn pad(size: u64, out: &mut impl Write) -> io::Result<()> {
    let rem = (size % 512) as usize;
    if rem != 0 {
        out.write_all(&vec![0u8; 512 - rem])?;
    }
    Ok(())
}

fn write_archive(
    entries: &[ArchiveEntry],
    format: ArchiveFormat,
    out: &mut impl Write,
) -> io::Result<()> {
    match format {
        ArchiveFormat::Zip => write_zip(entries, out),
        ArchiveFormat::Tar => write_tar(entries, out),
        ArchiveFormat::TarGz => {
            let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
            write_tar(entries, &mut gz)?;
            gz.finish()?.flush()
        }
    }
}

/// A streamed archive body and, when it can be known up front, its exact length.
pub type ArchiveStream = std::pin::Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// Start producing the archive on a blocking thread; the stream yields its chunks.
pub fn stream(
    entries: Vec<ArchiveEntry>,
    format: ArchiveFormat,
) -> Result<(ArchiveStream, Option<u64>), ArchiveError> {
    let length = match format {
        ArchiveFormat::Zip => Some(zip_length(&entries)),
        _ => None,
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(DEPTH);
    tokio::task::spawn_blocking(move || {
        let mut sink = ChunkSink {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        if let Err(e) = write_archive(&entries, format, &mut sink) {
            if e.kind() != io::ErrorKind::BrokenPipe {
                tracing::warn!("archive stream failed: {e}");
                let _ = tx.blocking_send(Err(e));
            }
        }
    });
    let s = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Ok((Box::pin(s), length))
}

/// Stream one stored file's bytes (same chunking as archives).
pub fn stream_file(data: FileData, size: u64) -> ArchiveStream {
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(DEPTH);
    tokio::task::spawn_blocking(move || {
        let mut sink = ChunkSink {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        let res = copy_content(&data, size, &mut sink).and_then(|_| sink.flush());
        if let Err(e) = res {
            if e.kind() != io::ErrorKind::BrokenPipe {
                let _ = tx.blocking_send(Err(e));
            }
        }
    });
    Box::pin(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

#[cfg(test)]
mod tests;
