//! File and prearchive records: what a stored file is and where its bytes come from.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct FileEntry {
    pub size: u64,
    /// Lower-case hex MD5 of the content.
    pub digest: String,
    pub content_type: String,
    pub data: FileData,
}

/// Where a file's bytes come from.
#[derive(Debug, Clone, Serialize)]
pub enum FileData {
    /// Stored on disk (absolute path, under the data dir).
    Disk(PathBuf),
    /// Generated on demand: `size` bytes of [`generated_bytes`] for `seed`. Lets `--generate` describe
    /// millions of files without writing them.
    Generated { seed: u64 },
    /// Small content held in memory (fixtures).
    Inline(Vec<u8>),
}

/// Deterministic pseudo-random content for generated files (xorshift over the seed).
pub fn generated_bytes(seed: u64, size: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(size as usize);
    while (out.len() as u64) < size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        for b in x.to_le_bytes() {
            if (out.len() as u64) < size {
                out.push(b);
            }
        }
    }
    out
}

/// Lower-case hex MD5.
pub fn md5_hex(bytes: &[u8]) -> String {
    use md5::{Digest, Md5};
    hex::encode(Md5::digest(bytes))
}

#[derive(Debug, Clone, Serialize)]
pub struct PrearchiveScan {
    pub id: String,
    pub scan_type: String,
    pub series_description: String,
    pub files: BTreeMap<String, FileEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PrearchiveEntry {
    /// Project ID, or `Unassigned`.
    pub project: String,
    /// `yyyyMMdd_HHmmssSSS`.
    pub timestamp: String,
    pub folder_name: String,
    pub name: String,
    pub status: String,
    pub subject: String,
    pub session: String,
    /// StudyInstanceUID.
    pub tag: String,
    pub scan_date: String,
    pub scan_time: String,
    pub uploaded: String,
    pub lastmod: String,
    pub source: String,
    pub scans: Vec<PrearchiveScan>,
}
