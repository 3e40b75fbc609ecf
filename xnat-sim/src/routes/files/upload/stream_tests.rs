//! Unit tests for streamed archive extraction of upload bodies.
use super::*;

fn tar_of(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, data.as_slice()).unwrap();
    }
    b.into_inner().unwrap()
}

/// The body as a stream of `chunk`-byte pieces.
fn chunks(
    bytes: &[u8],
    chunk: usize,
) -> impl futures::Stream<Item = Result<bytes::Bytes, String>> + Unpin {
    let parts: Vec<Result<bytes::Bytes, String>> = bytes
        .chunks(chunk)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    futures::stream::iter(parts)
}

fn tmp_files(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("tmp")).map_or(0, |d| d.count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tar_and_tgz_unpack_while_streaming_in_any_chunking() {
    let dir = tempfile::tempdir().unwrap();
    let big: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
    let tar = tar_of(&[("a/1.dcm", b"one".to_vec()), ("b/2.dcm", big.clone())]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    let tgz = gz.finish().unwrap();
    for (body, chunk) in [
        (&tar, 13),
        (&tar, 512),
        (&tar, 1 << 20),
        (&tgz, 3),
        (&tgz, 4096),
    ] {
        let out = extract_stream(dir.path(), chunks(body, chunk), "d")
            .await
            .unwrap();
        let got: Vec<(&str, u64)> = out.iter().map(|i| (i.rel.as_str(), i.size)).collect();
        assert_eq!(got, [("d/a/1.dcm", 3), ("d/b/2.dcm", big.len() as u64)]);
        assert_eq!(out[1].digest, crate::state::md5_hex(&big));
        assert_eq!(std::fs::read(&out[1].tmp).unwrap(), big);
        for i in out {
            std::fs::remove_file(i.tmp).unwrap();
        }
    }
    assert_eq!(tmp_files(dir.path()), 0, "no archive copy is left behind");
}

#[tokio::test]
async fn zip_is_spooled_then_unpacked_and_empty_or_broken_bodies_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    z.start_file("x/1.dcm", zip::write::SimpleFileOptions::default())
        .unwrap();
    z.write_all(b"zipped").unwrap();
    let zip = z.finish().unwrap().into_inner();
    let out = extract_stream(dir.path(), chunks(&zip, 5), "")
        .await
        .unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].rel.as_str(), out[0].size), ("x/1.dcm", 6));
    std::fs::remove_file(&out[0].tmp).unwrap();
    assert_eq!(
        extract_stream(dir.path(), chunks(b"", 1), "")
            .await
            .unwrap_err(),
        StreamExtractError::Empty
    );
    // A tar cut short mid-member: the member already started is removed again.
    let tar = tar_of(&[("1.dcm", vec![1u8; 2000]), ("2.dcm", vec![2u8; 5000])]);
    let cut = &tar[..tar.len() - 6000];
    let err = extract_stream(dir.path(), chunks(cut, 100), "").await;
    assert!(
        matches!(err, Err(StreamExtractError::Archive(_))),
        "{err:?}"
    );
    assert_eq!(tmp_files(dir.path()), 0);
}
