//! Reading files as DICOM, telling "not DICOM at all" apart from "DICOM but broken", and
//! turning element values into short display text.

use std::path::Path;

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_core::value::Value;
use dicom_core::{Tag, VR};
use dicom_dictionary_std::{tags, StandardDataDictionary};
use dicom_object::mem::InMemElement;
use dicom_object::{DefaultDicomObject, OpenFileOptions};

/// Why a file could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReadError {
    /// Not a DICOM file at all (no `DICM` magic, no meta group): counted and skipped.
    NotDicom,
    /// A DICOM file that could not be parsed (truncated, corrupt): a per-file failure.
    Broken(String),
}

impl ReadError {
    /// One line for reports.
    pub(crate) fn message(&self) -> String {
        match self {
            ReadError::NotDicom => "not a DICOM file".into(),
            ReadError::Broken(m) => m.clone(),
        }
    }
}

/// Whether `head` starts like DICOM: a Part 10 preamble with `DICM`, or (no preamble) a file
/// meta group tag `(0002,xxxx)` in explicit little endian.
pub(crate) fn looks_like_dicom(head: &[u8]) -> bool {
    (head.len() >= 132 && &head[128..132] == b"DICM")
        || (head.len() >= 8 && head[0] == 0x02 && head[1] == 0x00 && &head[4..6] == b"UL")
}

/// A file read whole and checked: its bytes and where its parts are.
pub(crate) fn load(path: &Path) -> Result<(Vec<u8>, super::layout::Layout), ReadError> {
    let bytes = std::fs::read(path).map_err(|e| ReadError::Broken(format!("cannot read: {e}")))?;
    if !looks_like_dicom(&bytes) {
        return Err(ReadError::NotDicom);
    }
    let layout = super::layout::check(&bytes).map_err(ReadError::Broken)?;
    Ok((bytes, layout))
}

fn open_with(path: &Path, opts: OpenFileOptions) -> Result<DefaultDicomObject, ReadError> {
    let (bytes, _) = load(path)?;
    parse(&bytes, opts)
}

/// Parse checked bytes of a Part 10 file (with or without its preamble).
pub(crate) fn parse(bytes: &[u8], opts: OpenFileOptions) -> Result<DefaultDicomObject, ReadError> {
    let body = if bytes.len() >= 132 && &bytes[128..132] == b"DICM" {
        &bytes[128..]
    } else {
        bytes
    };
    opts.read_preamble(dicom_object::file::ReadPreamble::Never)
        .from_reader(body)
        .map_err(|e| ReadError::Broken(one_line(&e)))
}

/// Media Storage Directory Storage: the SOP class of a DICOMDIR.
pub(crate) const DICOMDIR_CLASS: &str = "1.2.840.10008.1.3.10";

/// Whether `obj` is a DICOMDIR (an index of the files on a medium, not an instance).
pub(crate) fn is_dicomdir(obj: &DefaultDicomObject) -> bool {
    obj.meta()
        .media_storage_sop_class_uid()
        .trim_end_matches(['\0', ' '])
        == DICOMDIR_CLASS
}

/// Bytes read to find where a file's pixel data starts.
const REWRITE_HEAD: u64 = 64 * 1024;

/// The part of a file after its header, left on disk to be copied as bytes.
#[derive(Debug)]
pub(crate) struct Tail {
    /// The open source file.
    pub file: std::fs::File,
    /// Offset of the first byte (the PixelData element's header).
    pub from: u64,
    /// Bytes up to the end of the file.
    pub len: u64,
}

/// A file about to be rewritten with changes to its attributes. When its pixel data has a
/// defined length and is its last element (the common case), only the first 64 KiB are read,
/// what precedes the pixel data is checked and parsed, and the pixel data comes back as a
/// [`Tail`] to be copied unchanged; otherwise the whole file is read, checked and parsed.
pub(crate) fn open_for_rewrite(
    path: &Path,
) -> Result<(DefaultDicomObject, Option<Tail>), ReadError> {
    use std::io::Read;
    let cannot = |e: std::io::Error| ReadError::Broken(format!("cannot read: {e}"));
    let file = std::fs::File::open(path).map_err(cannot)?;
    let file_len = file.metadata().map_err(cannot)?.len();
    let mut head = Vec::with_capacity(REWRITE_HEAD.min(file_len) as usize);
    (&file)
        .take(REWRITE_HEAD)
        .read_to_end(&mut head)
        .map_err(cannot)?;
    if !looks_like_dicom(&head) {
        return Err(ReadError::NotDicom);
    }
    if let Some(split) = super::layout::pixel_data_split(&head, file_len) {
        let obj = parse(&head[..split], OpenFileOptions::new())?;
        let from = split as u64;
        let tail = Tail {
            file,
            from,
            len: file_len - from,
        };
        return Ok((obj, Some(tail)));
    }
    open_full(path).map(|obj| (obj, None))
}

/// The header of a file: everything before the pixel data.
pub(crate) fn open_header(path: &Path) -> Result<DefaultDicomObject, ReadError> {
    open_with(path, OpenFileOptions::new().read_until(tags::PIXEL_DATA))
}

/// The whole file, pixel data included.
pub(crate) fn open_full(path: &Path) -> Result<DefaultDicomObject, ReadError> {
    open_with(path, OpenFileOptions::new())
}

/// A library error and its causes on one line.
pub(crate) fn one_line(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        source = s.source();
    }
    msg.replace('\n', " ")
}

/// `(GGGG,EEEE)` as dcmdump and pydicom print tags.
pub fn tag_text(tag: Tag) -> String {
    format!("({:04X},{:04X})", tag.group(), tag.element())
}

/// The standard keyword of a tag, or `""` for private and unknown tags.
pub fn keyword_of(tag: Tag) -> &'static str {
    if tag.group() % 2 == 1 {
        return "";
    }
    StandardDataDictionary
        .by_tag(tag)
        .map(|e| e.alias())
        .unwrap_or("")
}

/// An element's value as display text, cut to `max` characters (0: no cut). Binary values and
/// sequences are summarised instead of dumped.
pub fn element_text(elem: &InMemElement, max: usize) -> String {
    let text = match elem.value() {
        Value::Sequence(seq) => format!("<sequence of {} item(s)>", seq.items().len()),
        Value::PixelSequence(seq) => {
            format!("<encapsulated data, {} fragment(s)>", seq.fragments().len())
        }
        Value::Primitive(p) => match elem.vr() {
            VR::OB | VR::OW | VR::OF | VR::OD | VR::OL | VR::OV | VR::UN => {
                format!("<{} bytes>", p.calculate_byte_len())
            }
            _ => p.to_str().trim_end_matches(['\0', ' ']).to_string(),
        },
    };
    cut(&text, max)
}

/// At most `max` characters of `text` (0: all of it).
pub(crate) fn cut(text: &str, max: usize) -> String {
    if max == 0 {
        return text.to_string();
    }
    match text.char_indices().nth(max) {
        Some((i, _)) => text[..i].to_string(),
        None => text.to_string(),
    }
}

/// The trimmed string value of `tag` at the top level, if present and not empty.
pub(crate) fn string_of(obj: &DefaultDicomObject, tag: Tag) -> Option<String> {
    let elem = obj.element_opt(tag).ok().flatten()?;
    let text = elem.to_str().ok()?;
    let text = text.trim_end_matches(['\0', ' ']).trim_start();
    (!text.is_empty()).then(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_text_is_upper_hex_in_parentheses() {
        assert_eq!(tag_text(tags::PATIENT_NAME), "(0010,0010)");
    }

    #[test]
    fn keyword_of_private_is_empty() {
        assert_eq!(keyword_of(Tag(0x0009, 0x0010)), "");
        assert_eq!(keyword_of(tags::PATIENT_ID), "PatientID");
    }

    #[test]
    fn cut_respects_char_boundaries() {
        assert_eq!(cut("héllo", 2), "hé");
        assert_eq!(cut("abc", 0), "abc");
    }

    #[test]
    fn a_text_file_is_not_dicom_and_an_empty_one_neither() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.dcm");
        std::fs::write(&p, b"hello").unwrap();
        assert_eq!(open_header(&p).unwrap_err(), ReadError::NotDicom);
        std::fs::write(&p, b"").unwrap();
        assert_eq!(open_header(&p).unwrap_err(), ReadError::NotDicom);
    }
}
