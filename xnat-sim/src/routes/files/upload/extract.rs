//! Archive extraction for `extract=true` uploads and import bodies: zip, tar and tar.gz members
//! written to temporary files (hashed while written), a tar even while the body still arrives.

use std::io::{Read, Write};
use std::path::Path;

use futures::StreamExt;
use md5::{Digest, Md5};

use super::receive::{receive_stream, safe_rel, tmp_path, Incoming};

/// Fill `buf` from `r` as far as it goes (short only at the end of the stream), so files are
/// written in large blocks however small the network chunks are.
fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Writes archive members to temporary files, each hashed while it is written (one pass over the
/// bytes), and removes what it wrote when the archive turns out to be broken.
struct Extractor<'a> {
    data_dir: &'a Path,
    dir: &'a str,
    buf: Vec<u8>,
    out: Vec<Incoming>,
}

impl<'a> Extractor<'a> {
    fn new(data_dir: &'a Path, dir: &'a str) -> Self {
        Extractor {
            data_dir,
            dir,
            buf: vec![0u8; 256 * 1024],
            out: Vec::new(),
        }
    }

    /// `{dir}/{entry path}`, or None for names escaping the resource.
    fn name(&self, entry: &str) -> Option<String> {
        let rel = safe_rel(entry)?;
        Some(if self.dir.is_empty() {
            rel
        } else {
            format!("{}/{rel}", self.dir)
        })
    }

    fn save(&mut self, name: String, reader: &mut dyn Read) -> Result<(), String> {
        let tmp = tmp_path(self.data_dir);
        let mut file = std::fs::File::create(&tmp).map_err(|e| e.to_string())?;
        let mut md5 = Md5::new();
        let mut size = 0u64;
        let written = loop {
            let n = match read_full(reader, &mut self.buf) {
                Ok(0) => break Ok(()),
                Ok(n) => n,
                Err(e) => break Err(e.to_string()),
            };
            md5.update(&self.buf[..n]);
            size += n as u64;
            if let Err(e) = file.write_all(&self.buf[..n]) {
                break Err(e.to_string());
            }
        };
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        self.out.push(Incoming {
            rel: name,
            tmp,
            size,
            digest: hex::encode(md5.finalize()),
        });
        Ok(())
    }

    /// The regular files of a tar read front to back (nothing is buffered beyond one block).
    fn tar(&mut self, reader: impl Read) -> Result<(), String> {
        let mut t = tar::Archive::new(reader);
        for e in t.entries().map_err(|e| e.to_string())? {
            let mut e = e.map_err(|e| e.to_string())?;
            if e.header().entry_type() != tar::EntryType::Regular {
                continue;
            }
            let name = e.path().map_err(|e| e.to_string())?.display().to_string();
            let Some(name) = self.name(&name) else {
                continue;
            };
            self.save(name, &mut e)?;
        }
        Ok(())
    }

    fn zip(&mut self, file: std::fs::File) -> Result<(), String> {
        let mut z = zip::ZipArchive::new(file).map_err(|e| e.to_string())?;
        for i in 0..z.len() {
            let mut e = z.by_index(i).map_err(|e| e.to_string())?;
            if e.is_dir() {
                continue;
            }
            let Some(name) = self.name(e.name()) else {
                continue;
            };
            self.save(name, &mut e)?;
        }
        Ok(())
    }

    /// The extracted files, or the error after removing them.
    fn finish(self, r: Result<(), String>) -> Result<Vec<Incoming>, String> {
        match r {
            Ok(()) => Ok(self.out),
            Err(e) => {
                for i in &self.out {
                    let _ = std::fs::remove_file(&i.tmp);
                }
                Err(e)
            }
        }
    }
}

fn is_zip(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04")
}

fn is_gzip(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b])
}

/// Unpack a zip, tar or tar.gz into temporary files named `{dir}/{entry path}`.
pub fn extract_archive(
    data_dir: &Path,
    archive: &Path,
    dir: &str,
) -> Result<Vec<Incoming>, String> {
    let mut head = [0u8; 4];
    let mut file = std::fs::File::open(archive).map_err(|e| e.to_string())?;
    let n = read_full(&mut file, &mut head).map_err(|e| e.to_string())?;
    std::io::Seek::rewind(&mut file).map_err(|e| e.to_string())?;
    let mut x = Extractor::new(data_dir, dir);
    let r = if is_zip(&head[..n]) {
        x.zip(file)
    } else if is_gzip(&head[..n]) {
        x.tar(flate2::read::GzDecoder::new(file))
    } else {
        x.tar(file)
    };
    x.finish(r)
}

/// A blocking [`Read`] over body chunks sent from async code through a bounded channel, so a
/// tar can be unpacked on a blocking thread while it arrives.
struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<Result<bytes::Bytes, String>>,
    cur: bytes::Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.cur = b,
                Some(Err(e)) => return Err(std::io::Error::other(e)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        bytes::Buf::advance(&mut self.cur, n);
        Ok(n)
    }
}

/// Why [`extract_stream`] produced nothing.
#[derive(Debug, PartialEq, Eq)]
pub enum StreamExtractError {
    /// The body was empty.
    Empty,
    /// The body could not be stored or read as an archive.
    Archive(String),
}

/// Unpack a zip, tar or tar.gz request body into temporary files named `{dir}/{entry path}`.
///
/// A tar or tar.gz is unpacked while it arrives: its bytes are written once, straight into the
/// member files (hashed on the way), never stored as an archive first; memory stays at a few
/// chunks. A zip needs its central directory (at the end), so it is stored first.
pub async fn extract_stream<S, E>(
    data_dir: &Path,
    mut stream: S,
    dir: &str,
) -> Result<Vec<Incoming>, StreamExtractError>
where
    S: futures::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let archive_err = |e: String| StreamExtractError::Archive(e);
    let mut head = bytes::BytesMut::new();
    while head.len() < 4 {
        match stream.next().await {
            Some(Ok(c)) => head.extend_from_slice(&c),
            Some(Err(e)) => return Err(archive_err(e.to_string())),
            None => break,
        }
    }
    if head.is_empty() {
        return Err(StreamExtractError::Empty);
    }
    let head = head.freeze();
    let (dd, dir) = (data_dir.to_path_buf(), dir.to_string());
    if is_zip(&head) {
        let rest = futures::stream::iter([Ok::<_, E>(head)]).chain(stream);
        let (tmp, _, _) = receive_stream(data_dir, rest)
            .await
            .map_err(|e| archive_err(e.to_string()))?;
        let t = tmp.clone();
        let out = tokio::task::spawn_blocking(move || extract_archive(&dd, &t, &dir)).await;
        let _ = std::fs::remove_file(&tmp);
        return out
            .map_err(|e| archive_err(e.to_string()))?
            .map_err(archive_err);
    }
    std::fs::create_dir_all(data_dir.join("tmp")).map_err(|e| archive_err(e.to_string()))?;
    let gz = is_gzip(&head);
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let worker = tokio::task::spawn_blocking(move || {
        let reader = ChannelReader { rx, cur: head };
        let mut x = Extractor::new(&dd, &dir);
        let r = if gz {
            x.tar(flate2::read::GzDecoder::new(reader))
        } else {
            x.tar(reader)
        };
        x.finish(r)
    });
    while let Some(chunk) = stream.next().await {
        let failed = chunk.is_err();
        // A send error means the extractor stopped (broken archive): stop reading.
        if tx.send(chunk.map_err(|e| e.to_string())).await.is_err() || failed {
            break;
        }
    }
    drop(tx);
    worker
        .await
        .map_err(|e| archive_err(e.to_string()))?
        .map_err(archive_err)
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod stream_tests;
