//! MD5 of several files side by side: 16 (AVX-512) or 8 (AVX2) independent MD5 computations in
//! the lanes of the vector registers, for the archive path's check of each entry against the
//! catalog (`archive.rs`).
//!
//! MD5 cannot be split within one file (every 64-byte block depends on the previous one), and it
//! was half of a download's CPU time: the `md-5` crate's assembly runs at about 600 MB/s on one
//! core. Computing the MD5s of 8 or 16 files at once costs about as many vector instructions as
//! one file costs scalar ones, so the same CPU hashes several times the bytes. Each lane reads its
//! own file (from the page cache, just written), so nothing is held in memory but a 64 KiB
//! buffer per lane. Without AVX2, or for a single file, the `md-5` crate hashes each file in turn.

use std::io::{self, Read};

use md5::{Digest, Md5};

/// Bytes read from one file at a time.
const READ_SIZE: usize = 64 * 1024;
/// MD5's initial state `a, b, c, d`.
const INIT: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

/// How many files [`md5_many`] hashes side by side on this CPU (1: one after the other).
pub fn lanes() -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return 16;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            return 8;
        }
    }
    1
}

/// Byte count and MD5 (lowercase hex) of everything each reader yields, in the readers' order.
pub fn md5_many<R: Read>(readers: Vec<R>) -> Vec<io::Result<(u64, String)>> {
    #[cfg(target_arch = "x86_64")]
    if readers.len() >= 2 {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return run::<R, 16>(readers, |s, m| {
                // SAFETY: the CPU has AVX-512F (checked above).
                unsafe { compress_avx512(s, m) }
            });
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            return run::<R, 8>(readers, |s, m| {
                // SAFETY: the CPU has AVX2 (checked above).
                unsafe { compress_avx2(s, m) }
            });
        }
    }
    readers.into_iter().map(md5_one).collect()
}

/// Byte count and MD5 of one reader with the `md-5` crate.
fn md5_one<R: Read>(mut r: R) -> io::Result<(u64, String)> {
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; READ_SIZE];
    let mut total = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((total, hex::encode(hasher.finalize())))
}

/// One file in a lane: its bytes are read into `buf` and consumed 64 at a time; at its end the
/// MD5 padding is appended in place.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
struct Lane<R> {
    job: usize,
    reader: R,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    total: u64,
    padded: bool,
}

#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
impl<R: Read> Lane<R> {
    /// A lane for `reader`, reading into `buf` (at least `READ_SIZE + 128` bytes, kept from the
    /// previous file of the lane so no file costs an allocation).
    fn new(job: usize, reader: R, buf: Option<Box<[u8]>>) -> Self {
        Lane {
            job,
            reader,
            buf: buf.unwrap_or_else(|| vec![0u8; READ_SIZE + 128].into_boxed_slice()),
            start: 0,
            end: 0,
            total: 0,
            padded: false,
        }
    }

    /// Make the next 64-byte block available at `start`: `Ok(false)` once the file and its
    /// padding are consumed.
    fn ready(&mut self) -> io::Result<bool> {
        while self.end - self.start < 64 && !self.padded {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            match self.reader.read(&mut self.buf[self.end..READ_SIZE]) {
                Ok(0) => self.pad(),
                Ok(n) => {
                    self.end += n;
                    self.total += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end - self.start >= 64)
    }

    /// Append `0x80`, zeros and the bit length (fewer than 64 bytes are left, at the front).
    fn pad(&mut self) {
        let left = self.end - self.start;
        let zeros = (55 + 64 - left % 64) % 64;
        let at = self.end;
        self.buf[at] = 0x80;
        self.buf[at + 1..at + 1 + zeros].fill(0);
        let bits = self.total.wrapping_mul(8).to_le_bytes();
        self.buf[at + 1 + zeros..at + 9 + zeros].copy_from_slice(&bits);
        self.end = at + 9 + zeros;
        self.padded = true;
    }
}

/// The MD5 of lane `l` of `state`, lowercase hex.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn digest<const N: usize>(state: &[[u32; N]; 4], l: usize) -> String {
    let mut out = [0u8; 16];
    for (k, word) in state.iter().enumerate() {
        out[4 * k..4 * k + 4].copy_from_slice(&word[l].to_le_bytes());
    }
    hex::encode(out)
}

/// Hash every reader, `N` at a time: a lane whose file ends takes the next one.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn run<R: Read, const N: usize>(
    readers: Vec<R>,
    compress: impl Fn(&mut [[u32; N]; 4], &[u8]),
) -> Vec<io::Result<(u64, String)>> {
    let mut results: Vec<Option<io::Result<(u64, String)>>> =
        (0..readers.len()).map(|_| None).collect();
    let mut jobs = readers.into_iter().enumerate();
    let mut lanes: Vec<Option<Lane<R>>> = (0..N).map(|_| None).collect();
    let mut spare: Vec<Option<Box<[u8]>>> = (0..N).map(|_| None).collect();
    let mut state = [[0u32; N]; 4];
    // Lane `l`'s block at `stage[64 * l..]` (16 little-endian words).
    let mut stage = vec![0u8; 64 * N];
    loop {
        let mut active = 0;
        for l in 0..N {
            loop {
                if lanes[l].is_none() {
                    let Some((job, reader)) = jobs.next() else {
                        break;
                    };
                    lanes[l] = Some(Lane::new(job, reader, spare[l].take()));
                    for (k, word) in state.iter_mut().enumerate() {
                        word[l] = INIT[k];
                    }
                }
                let lane = lanes[l].as_mut().expect("filled above");
                match lane.ready() {
                    Ok(true) => {
                        stage[64 * l..64 * l + 64]
                            .copy_from_slice(&lane.buf[lane.start..lane.start + 64]);
                        lane.start += 64;
                        active += 1;
                        break;
                    }
                    Ok(false) => {
                        results[lane.job] = Some(Ok((lane.total, digest(&state, l))));
                        spare[l] = lanes[l].take().map(|lane| lane.buf);
                    }
                    Err(e) => {
                        results[lane.job] = Some(Err(e));
                        spare[l] = lanes[l].take().map(|lane| lane.buf);
                    }
                }
            }
        }
        if active == 0 {
            break;
        }
        // Idle lanes compute on stale words; their state is reset before it is used again.
        compress(&mut state, &stage);
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(io::Error::other("not hashed"))))
        .collect()
}

/// MD5's 64 steps (RFC 1321, 3.4) as calls of the `step!` macro each compression function
/// defines for its vector width: round function, the four registers in their rotation, message
/// word, constant, shift. One table for every width, so the widths cannot drift apart.
macro_rules! md5_steps {
    ($step:ident, $a:ident, $b:ident, $c:ident, $d:ident) => {
        $step!(ff, $a, $b, $c, $d, 0, 0xd76aa478u32, 7);
        $step!(ff, $d, $a, $b, $c, 1, 0xe8c7b756u32, 12);
        $step!(ff, $c, $d, $a, $b, 2, 0x242070dbu32, 17);
        $step!(ff, $b, $c, $d, $a, 3, 0xc1bdceeeu32, 22);
        $step!(ff, $a, $b, $c, $d, 4, 0xf57c0fafu32, 7);
        $step!(ff, $d, $a, $b, $c, 5, 0x4787c62au32, 12);
        $step!(ff, $c, $d, $a, $b, 6, 0xa8304613u32, 17);
        $step!(ff, $b, $c, $d, $a, 7, 0xfd469501u32, 22);
        $step!(ff, $a, $b, $c, $d, 8, 0x698098d8u32, 7);
        $step!(ff, $d, $a, $b, $c, 9, 0x8b44f7afu32, 12);
        $step!(ff, $c, $d, $a, $b, 10, 0xffff5bb1u32, 17);
        $step!(ff, $b, $c, $d, $a, 11, 0x895cd7beu32, 22);
        $step!(ff, $a, $b, $c, $d, 12, 0x6b901122u32, 7);
        $step!(ff, $d, $a, $b, $c, 13, 0xfd987193u32, 12);
        $step!(ff, $c, $d, $a, $b, 14, 0xa679438eu32, 17);
        $step!(ff, $b, $c, $d, $a, 15, 0x49b40821u32, 22);
        $step!(gg, $a, $b, $c, $d, 1, 0xf61e2562u32, 5);
        $step!(gg, $d, $a, $b, $c, 6, 0xc040b340u32, 9);
        $step!(gg, $c, $d, $a, $b, 11, 0x265e5a51u32, 14);
        $step!(gg, $b, $c, $d, $a, 0, 0xe9b6c7aau32, 20);
        $step!(gg, $a, $b, $c, $d, 5, 0xd62f105du32, 5);
        $step!(gg, $d, $a, $b, $c, 10, 0x2441453u32, 9);
        $step!(gg, $c, $d, $a, $b, 15, 0xd8a1e681u32, 14);
        $step!(gg, $b, $c, $d, $a, 4, 0xe7d3fbc8u32, 20);
        $step!(gg, $a, $b, $c, $d, 9, 0x21e1cde6u32, 5);
        $step!(gg, $d, $a, $b, $c, 14, 0xc33707d6u32, 9);
        $step!(gg, $c, $d, $a, $b, 3, 0xf4d50d87u32, 14);
        $step!(gg, $b, $c, $d, $a, 8, 0x455a14edu32, 20);
        $step!(gg, $a, $b, $c, $d, 13, 0xa9e3e905u32, 5);
        $step!(gg, $d, $a, $b, $c, 2, 0xfcefa3f8u32, 9);
        $step!(gg, $c, $d, $a, $b, 7, 0x676f02d9u32, 14);
        $step!(gg, $b, $c, $d, $a, 12, 0x8d2a4c8au32, 20);
        $step!(hh, $a, $b, $c, $d, 5, 0xfffa3942u32, 4);
        $step!(hh, $d, $a, $b, $c, 8, 0x8771f681u32, 11);
        $step!(hh, $c, $d, $a, $b, 11, 0x6d9d6122u32, 16);
        $step!(hh, $b, $c, $d, $a, 14, 0xfde5380cu32, 23);
        $step!(hh, $a, $b, $c, $d, 1, 0xa4beea44u32, 4);
        $step!(hh, $d, $a, $b, $c, 4, 0x4bdecfa9u32, 11);
        $step!(hh, $c, $d, $a, $b, 7, 0xf6bb4b60u32, 16);
        $step!(hh, $b, $c, $d, $a, 10, 0xbebfbc70u32, 23);
        $step!(hh, $a, $b, $c, $d, 13, 0x289b7ec6u32, 4);
        $step!(hh, $d, $a, $b, $c, 0, 0xeaa127fau32, 11);
        $step!(hh, $c, $d, $a, $b, 3, 0xd4ef3085u32, 16);
        $step!(hh, $b, $c, $d, $a, 6, 0x4881d05u32, 23);
        $step!(hh, $a, $b, $c, $d, 9, 0xd9d4d039u32, 4);
        $step!(hh, $d, $a, $b, $c, 12, 0xe6db99e5u32, 11);
        $step!(hh, $c, $d, $a, $b, 15, 0x1fa27cf8u32, 16);
        $step!(hh, $b, $c, $d, $a, 2, 0xc4ac5665u32, 23);
        $step!(ii, $a, $b, $c, $d, 0, 0xf4292244u32, 6);
        $step!(ii, $d, $a, $b, $c, 7, 0x432aff97u32, 10);
        $step!(ii, $c, $d, $a, $b, 14, 0xab9423a7u32, 15);
        $step!(ii, $b, $c, $d, $a, 5, 0xfc93a039u32, 21);
        $step!(ii, $a, $b, $c, $d, 12, 0x655b59c3u32, 6);
        $step!(ii, $d, $a, $b, $c, 3, 0x8f0ccc92u32, 10);
        $step!(ii, $c, $d, $a, $b, 10, 0xffeff47du32, 15);
        $step!(ii, $b, $c, $d, $a, 1, 0x85845dd1u32, 21);
        $step!(ii, $a, $b, $c, $d, 8, 0x6fa87e4fu32, 6);
        $step!(ii, $d, $a, $b, $c, 15, 0xfe2ce6e0u32, 10);
        $step!(ii, $c, $d, $a, $b, 6, 0xa3014314u32, 15);
        $step!(ii, $b, $c, $d, $a, 13, 0x4e0811a1u32, 21);
        $step!(ii, $a, $b, $c, $d, 4, 0xf7537e82u32, 6);
        $step!(ii, $d, $a, $b, $c, 11, 0xbd3af235u32, 10);
        $step!(ii, $c, $d, $a, $b, 2, 0x2ad7d2bbu32, 15);
        $step!(ii, $b, $c, $d, $a, 9, 0xeb86d391u32, 21);
    };
}

/// One 64-byte block of each of 8 lanes (AVX2).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn compress_avx2(state: &mut [[u32; 8]; 4], stage: &[u8]) {
    use std::arch::x86_64::*;
    assert!(stage.len() >= 8 * 64);
    let idx = _mm256_setr_epi32(0, 16, 32, 48, 64, 80, 96, 112);
    let base = stage.as_ptr() as *const i32;
    let mut m = [_mm256_setzero_si256(); 16];
    for (j, w) in m.iter_mut().enumerate() {
        // SAFETY: every word read (bytes 64 * lane + 4 * j ..+4, lane < 8) is inside `stage`;
        // x86 is little-endian, as MD5's words are.
        *w = unsafe { _mm256_i32gather_epi32::<4>(base.add(j), idx) };
    }
    let ones = _mm256_set1_epi32(-1);
    // SAFETY: `state[k]` is 8 u32s, one unaligned 256-bit load or store.
    let load = |k: &[u32; 8]| unsafe { _mm256_loadu_si256(k.as_ptr() as *const __m256i) };
    let (mut a, mut b, mut c, mut d) = (
        load(&state[0]),
        load(&state[1]),
        load(&state[2]),
        load(&state[3]),
    );
    let (a0, b0, c0, d0) = (a, b, c, d);
    macro_rules! ff {
        ($b:expr, $c:expr, $d:expr) => {
            _mm256_xor_si256($d, _mm256_and_si256($b, _mm256_xor_si256($c, $d)))
        };
    }
    macro_rules! gg {
        ($b:expr, $c:expr, $d:expr) => {
            _mm256_xor_si256($c, _mm256_and_si256($d, _mm256_xor_si256($b, $c)))
        };
    }
    macro_rules! hh {
        ($b:expr, $c:expr, $d:expr) => {
            _mm256_xor_si256($b, _mm256_xor_si256($c, $d))
        };
    }
    macro_rules! ii {
        ($b:expr, $c:expr, $d:expr) => {
            _mm256_xor_si256($c, _mm256_or_si256($b, _mm256_xor_si256($d, ones)))
        };
    }
    macro_rules! step {
        ($fun:ident, $a:ident, $b:ident, $c:ident, $d:ident, $g:expr, $k:expr, $s:literal) => {
            let t = _mm256_add_epi32(
                _mm256_add_epi32($a, $fun!($b, $c, $d)),
                _mm256_add_epi32(_mm256_set1_epi32($k as i32), m[$g]),
            );
            $a = _mm256_add_epi32(
                $b,
                _mm256_or_si256(
                    _mm256_slli_epi32::<$s>(t),
                    _mm256_srli_epi32::<{ 32 - $s }>(t),
                ),
            );
        };
    }
    md5_steps!(step, a, b, c, d);
    a = _mm256_add_epi32(a, a0);
    b = _mm256_add_epi32(b, b0);
    c = _mm256_add_epi32(c, c0);
    d = _mm256_add_epi32(d, d0);
    for (k, v) in state.iter_mut().zip([a, b, c, d]) {
        // SAFETY: as for `load`.
        unsafe { _mm256_storeu_si256(k.as_mut_ptr() as *mut __m256i, v) };
    }
}

/// One 64-byte block of each of 16 lanes (AVX-512: rotations and the round functions are one
/// instruction each).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn compress_avx512(state: &mut [[u32; 16]; 4], stage: &[u8]) {
    use std::arch::x86_64::*;
    assert!(stage.len() >= 16 * 64);
    let idx = _mm512_setr_epi32(
        0, 16, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240,
    );
    let base = stage.as_ptr() as *const i32;
    let mut m = [_mm512_setzero_si512(); 16];
    for (j, w) in m.iter_mut().enumerate() {
        // SAFETY: every word read (bytes 64 * lane + 4 * j ..+4, lane < 16) is inside `stage`;
        // x86 is little-endian, as MD5's words are.
        *w = unsafe { _mm512_i32gather_epi32::<4>(idx, base.add(j)) };
    }
    // SAFETY: `state[k]` is 16 u32s, one unaligned 512-bit load or store.
    let load = |k: &[u32; 16]| unsafe { _mm512_loadu_si512(k.as_ptr() as *const __m512i) };
    let (mut a, mut b, mut c, mut d) = (
        load(&state[0]),
        load(&state[1]),
        load(&state[2]),
        load(&state[3]),
    );
    let (a0, b0, c0, d0) = (a, b, c, d);
    // The round functions as truth tables of (b, c, d): F = b ? c : d, G = d ? b : c,
    // H = b ^ c ^ d, I = c ^ (b | !d).
    macro_rules! ff {
        ($b:expr, $c:expr, $d:expr) => {
            _mm512_ternarylogic_epi32::<0xca>($b, $c, $d)
        };
    }
    macro_rules! gg {
        ($b:expr, $c:expr, $d:expr) => {
            _mm512_ternarylogic_epi32::<0xe4>($b, $c, $d)
        };
    }
    macro_rules! hh {
        ($b:expr, $c:expr, $d:expr) => {
            _mm512_ternarylogic_epi32::<0x96>($b, $c, $d)
        };
    }
    macro_rules! ii {
        ($b:expr, $c:expr, $d:expr) => {
            _mm512_ternarylogic_epi32::<0x39>($b, $c, $d)
        };
    }
    macro_rules! step {
        ($fun:ident, $a:ident, $b:ident, $c:ident, $d:ident, $g:expr, $k:expr, $s:literal) => {
            let t = _mm512_add_epi32(
                _mm512_add_epi32($a, $fun!($b, $c, $d)),
                _mm512_add_epi32(_mm512_set1_epi32($k as i32), m[$g]),
            );
            $a = _mm512_add_epi32($b, _mm512_rol_epi32::<$s>(t));
        };
    }
    md5_steps!(step, a, b, c, d);
    a = _mm512_add_epi32(a, a0);
    b = _mm512_add_epi32(b, b0);
    c = _mm512_add_epi32(c, c0);
    d = _mm512_add_epi32(d, d0);
    for (k, v) in state.iter_mut().zip([a, b, c, d]) {
        // SAFETY: as for `load`.
        unsafe { _mm512_storeu_si512(k.as_mut_ptr() as *mut __m512i, v) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(n: usize, seed: u32) -> Vec<u8> {
        let mut x = seed.wrapping_mul(2_654_435_761) | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }

    fn reference(data: &[u8]) -> (u64, String) {
        (data.len() as u64, hex::encode(Md5::digest(data)))
    }

    /// Every length around the padding's edges, files of unequal lengths sharing the lanes,
    /// more files than lanes, and reads that return a few bytes at a time.
    fn check(hash: impl Fn(Vec<&[u8]>) -> Vec<io::Result<(u64, String)>>) {
        let mut lens: Vec<usize> = (0..=130).collect();
        lens.extend([
            183,
            1000,
            4095,
            65_535,
            65_536,
            65_537,
            65_536 * 3 + 55,
            262_144,
        ]);
        let files: Vec<Vec<u8>> = lens
            .iter()
            .enumerate()
            .map(|(i, n)| bytes(*n, i as u32))
            .collect();
        let got = hash(files.iter().map(|f| f.as_slice()).collect());
        assert_eq!(got.len(), files.len());
        for (f, g) in files.iter().zip(got) {
            assert_eq!(g.unwrap(), reference(f), "length {}", f.len());
        }
    }

    #[test]
    fn the_lanes_agree_with_the_md5_crate() {
        #[allow(clippy::redundant_closure)] // the closure is general over the slices' lifetime
        check(|fs| md5_many(fs));
        check(|fs| fs.into_iter().map(md5_one).collect());
        #[cfg(target_arch = "x86_64")]
        {
            /// A reader that hands out at most 7 bytes per call.
            struct Trickle<'a>(&'a [u8]);
            impl Read for Trickle<'_> {
                fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                    let n = buf.len().min(self.0.len()).min(7);
                    buf[..n].copy_from_slice(&self.0[..n]);
                    self.0 = &self.0[n..];
                    Ok(n)
                }
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                check(|fs| {
                    run::<_, 8>(fs.into_iter().map(Trickle).collect(), |s, m| unsafe {
                        compress_avx2(s, m)
                    })
                });
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                check(|fs| run::<_, 16>(fs, |s, m| unsafe { compress_avx512(s, m) }));
            }
        }
    }

    #[test]
    fn a_read_error_fails_only_its_file() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk on fire"))
            }
        }
        let ok: Box<dyn Read> = Box::new(&b"abc"[..]);
        let got = md5_many(vec![ok, Box::new(Broken), Box::new(&b""[..])]);
        assert_eq!(got[0].as_ref().unwrap(), &reference(b"abc"));
        assert!(got[1].is_err());
        assert_eq!(got[2].as_ref().unwrap(), &reference(b""));
    }
}
