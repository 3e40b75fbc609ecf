//! Unit tests for `archive`, kept in their own file so the module itself reads as the code it ships.

use super::*;
use crate::state::generated_bytes;

fn entries() -> Vec<ArchiveEntry> {
    vec![
        ArchiveEntry {
            name: "MR1/scans/1-T1_MPRAGE/resources/DICOM/files/1.dcm".into(),
            size: 5,
            data: FileData::Inline(b"hello".to_vec()),
        },
        ArchiveEntry {
            name: "MR1/resources/NOTES/files/a/b.bin".into(),
            size: 1000,
            data: FileData::Generated { seed: 7 },
        },
    ]
}

#[test]
fn generated_reader_matches_generated_bytes() {
    for size in [0u64, 1, 7, 8, 9, 1000, 4099] {
        let mut r = GeneratedReader::new(42, size);
        let mut got = Vec::new();
        // Odd read sizes exercise the pending-bytes path.
        let mut buf = [0u8; 13];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, generated_bytes(42, size), "size {size}");
    }
}

#[test]
fn zip_bytes_and_entry_names() {
    let mut out = Vec::new();
    write_zip(&entries(), &mut out).unwrap();
    assert_eq!(out.len() as u64, zip_length(&entries()));
    // Local header of the first entry: signature, then the name at offset 30.
    assert_eq!(&out[..4], b"PK\x03\x04");
    let name = b"MR1/scans/1-T1_MPRAGE/resources/DICOM/files/1.dcm";
    assert_eq!(u16::from_le_bytes([out[26], out[27]]) as usize, name.len());
    assert_eq!(&out[30..30 + name.len()], name);
    assert_eq!(&out[30 + name.len()..35 + name.len()], b"hello");
    assert_eq!(&out[out.len() - 22..out.len() - 18], b"PK\x05\x06");

    let mut z = zip::ZipArchive::new(io::Cursor::new(out)).unwrap();
    assert_eq!(z.len(), 2);
    let mut first = String::new();
    z.by_index(0).unwrap().read_to_string(&mut first).unwrap();
    assert_eq!(first, "hello");
    let mut second = Vec::new();
    let mut f = z.by_name("MR1/resources/NOTES/files/a/b.bin").unwrap();
    f.read_to_end(&mut second).unwrap();
    assert_eq!(second, generated_bytes(7, 1000));
    assert_eq!(f.compression(), zip::CompressionMethod::Stored);
}

#[test]
fn tar_and_tar_gz_round_trip() {
    let mut long = entries();
    long[0].name = format!("S/{}/f.dcm", "x".repeat(120));
    for format in [ArchiveFormat::Tar, ArchiveFormat::TarGz] {
        let mut out = Vec::new();
        write_archive(&long, format, &mut out).unwrap();
        let reader: Box<dyn Read> = match format {
            ArchiveFormat::TarGz => Box::new(flate2::read::GzDecoder::new(&out[..])),
            _ => Box::new(&out[..]),
        };
        let mut t = tar::Archive::new(reader);
        let mut names = Vec::new();
        for e in t.entries().unwrap() {
            let mut e = e.unwrap();
            let mut body = Vec::new();
            e.read_to_end(&mut body).unwrap();
            names.push((e.path().unwrap().display().to_string(), body.len()));
        }
        assert_eq!(
            names,
            vec![(long[0].name.clone(), 5), (long[1].name.clone(), 1000)]
        );
    }
}

#[test]
fn zip64_when_needed_and_readable() {
    let big = vec![ArchiveEntry {
        name: "x".into(),
        size: 5 << 30,
        data: FileData::Generated { seed: 1 },
    }];
    assert!(needs_zip64(&big));
    assert!(!needs_zip64(&entries()));
    let mut out = Vec::new();
    write_zip_with(&entries(), true, &mut out).unwrap();
    assert_eq!(out.len() as u64, zip_length_with(&entries(), true));
    let mut z = zip::ZipArchive::new(io::Cursor::new(out)).unwrap();
    assert_eq!(z.len(), 2);
    let mut body = Vec::new();
    z.by_name("MR1/resources/NOTES/files/a/b.bin")
        .unwrap()
        .read_to_end(&mut body)
        .unwrap();
    assert_eq!(body, generated_bytes(7, 1000));
}
