//! The few DIMSE command sets a storage SCU needs (PS3.7 §9.3), encoded by hand: command sets
//! are always Implicit VR Little Endian group 0000 elements, so a dozen lines beat building a
//! dataset object for every file.

/// Verification SOP Class.
pub(crate) const VERIFICATION: &str = "1.2.840.10008.1.1";

const C_STORE_RQ: u16 = 0x0001;
const C_ECHO_RQ: u16 = 0x0030;
const NO_DATASET: u16 = 0x0101;
const DATASET: u16 = 0x0000;

fn element(out: &mut Vec<u8>, element: u16, value: &[u8]) {
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&element.to_le_bytes());
    out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    out.extend_from_slice(value);
}

fn uid(value: &str) -> Vec<u8> {
    let mut v = value.as_bytes().to_vec();
    if v.len() % 2 == 1 {
        v.push(0);
    }
    v
}

fn with_group_length(body: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 12);
    element(&mut out, 0x0000, &(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// C-ECHO-RQ.
pub(crate) fn echo_rq(message_id: u16) -> Vec<u8> {
    let mut b = Vec::new();
    element(&mut b, 0x0002, &uid(VERIFICATION));
    element(&mut b, 0x0100, &C_ECHO_RQ.to_le_bytes());
    element(&mut b, 0x0110, &message_id.to_le_bytes());
    element(&mut b, 0x0800, &NO_DATASET.to_le_bytes());
    with_group_length(b)
}

/// C-STORE-RQ for one instance (medium priority, a data set follows).
pub(crate) fn store_rq(message_id: u16, sop_class: &str, sop_instance: &str) -> Vec<u8> {
    let mut b = Vec::new();
    element(&mut b, 0x0002, &uid(sop_class));
    element(&mut b, 0x0100, &C_STORE_RQ.to_le_bytes());
    element(&mut b, 0x0110, &message_id.to_le_bytes());
    element(&mut b, 0x0700, &0u16.to_le_bytes());
    element(&mut b, 0x0800, &DATASET.to_le_bytes());
    element(&mut b, 0x1000, &uid(sop_instance));
    with_group_length(b)
}

/// The Status (0000,0900) of a response command set, and its Error Comment (0000,0902).
pub(crate) fn status_of(command: &[u8]) -> Option<(u16, Option<String>)> {
    let mut pos = 0;
    let mut status = None;
    let mut comment = None;
    while pos + 8 <= command.len() {
        let group = u16::from_le_bytes([command[pos], command[pos + 1]]);
        let elem = u16::from_le_bytes([command[pos + 2], command[pos + 3]]);
        let len = u32::from_le_bytes([
            command[pos + 4],
            command[pos + 5],
            command[pos + 6],
            command[pos + 7],
        ]) as usize;
        pos += 8;
        let value = command.get(pos..pos.checked_add(len)?)?;
        pos += len;
        match (group, elem) {
            (0, 0x0900) if len == 2 => status = Some(u16::from_le_bytes([value[0], value[1]])),
            (0, 0x0902) => {
                let text = String::from_utf8_lossy(value)
                    .trim_end_matches(['\0', ' '])
                    .to_string();
                comment = (!text.is_empty()).then_some(text);
            }
            _ => {}
        }
    }
    status.map(|s| (s, comment))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_rq_is_group_length_prefixed_and_uids_are_even() {
        let c = store_rq(7, "1.2.3", "1.2.34");
        let len = u32::from_le_bytes([c[8], c[9], c[10], c[11]]) as usize;
        assert_eq!(len, c.len() - 12);
        assert_eq!(&c[12..16], &[0, 0, 2, 0]);
        assert_eq!(u32::from_le_bytes([c[16], c[17], c[18], c[19]]), 6);
    }

    #[test]
    fn status_is_read_from_a_response() {
        let mut b = Vec::new();
        element(&mut b, 0x0100, &0x8001u16.to_le_bytes());
        element(&mut b, 0x0900, &0xA700u16.to_le_bytes());
        element(&mut b, 0x0902, b"out of space");
        assert_eq!(
            status_of(&with_group_length(b)),
            Some((0xA700, Some("out of space".into())))
        );
        assert_eq!(status_of(&echo_rq(1)), None);
    }
}
