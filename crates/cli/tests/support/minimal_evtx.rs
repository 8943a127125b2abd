//! A minimal EVTX file written from scratch, shared by the malformed-input
//! tests of `idrecon` and the checksum tests of `idrecon-winlog` (which
//! include this file by path).
#![allow(dead_code)]

/// A BinXML fragment under construction at chunk offset `at`: elements
/// with inline names (no templates), string values only.
struct BinXml {
    b: Vec<u8>,
    at: usize,
}

impl BinXml {
    fn u16(&mut self, v: u16) {
        self.b.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.b.extend_from_slice(&v.to_le_bytes());
    }
    fn utf16(&mut self, s: &str) {
        for u in s.encode_utf16() {
            self.u16(u);
        }
    }
    /// A name reference whose string follows in place.
    fn name(&mut self, s: &str) {
        let here = self.at + self.b.len() + 4;
        self.u32(here as u32);
        self.u32(0); // next string
        self.u16(0); // hash (not checked)
        self.u16(s.encode_utf16().count() as u16);
        self.utf16(s);
        self.u16(0);
    }
    fn value(&mut self, v: &str) {
        self.b.extend_from_slice(&[0x05, 0x01]);
        self.u16(v.encode_utf16().count() as u16);
        self.utf16(v);
    }
    fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.b.push(if attrs.is_empty() { 0x01 } else { 0x41 });
        self.u32(0); // data size (not checked)
        self.name(name);
        if !attrs.is_empty() {
            self.u32(0); // attribute list size (not checked)
            for (i, (k, v)) in attrs.iter().enumerate() {
                self.b.push(if i + 1 < attrs.len() { 0x46 } else { 0x06 });
                self.name(k);
                self.value(v);
            }
        }
    }
    fn element(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.open(name, attrs);
        self.b.push(0x02);
        self.value(text);
        self.b.push(0x04);
    }
    fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.open(name, attrs);
        self.b.push(0x03);
    }
}

/// Size of the EVTX file header.
pub const EVTX_HEADER: usize = 4096;
/// Size of an EVTX chunk.
pub const EVTX_CHUNK: usize = 65536;

/// A minimal EVTX file written from scratch (no public sample needed): one
/// chunk of `n` Security 4625 records (unknown user from 10.0.0.99,
/// `TargetUserName` ghost1…ghostN, one second apart from
/// 2024-05-01T10:00:00Z), EventRecordIDs 1…n, with valid CRC32 checksums
/// (file header, chunk header, records). Also returns where each record
/// ends.
pub fn minimal_evtx(n: usize) -> (Vec<u8>, Vec<usize>) {
    let mut chunk = vec![0u8; EVTX_CHUNK];
    let mut at = 512;
    let mut ends = Vec::new();
    let mut last = at;
    for i in 1..=n {
        let mut x = BinXml {
            b: vec![0x0f, 1, 1, 0],
            at: at + 24,
        };
        x.open(
            "Event",
            &[(
                "xmlns",
                "http://schemas.microsoft.com/win/2004/08/events/event",
            )],
        );
        x.b.push(0x02);
        x.open("System", &[]);
        x.b.push(0x02);
        x.empty(
            "Provider",
            &[("Name", "Microsoft-Windows-Security-Auditing")],
        );
        x.element("EventID", &[], "4625");
        let time = format!(
            "2024-05-01T10:{:02}:{:02}.0000000Z",
            (i - 1) / 60,
            (i - 1) % 60
        );
        x.empty("TimeCreated", &[("SystemTime", &time)]);
        x.element("EventRecordID", &[], &i.to_string());
        x.element("Channel", &[], "Security");
        x.element("Computer", &[], "DC01.contoso.local");
        x.b.push(0x04);
        x.open("EventData", &[]);
        x.b.push(0x02);
        for (k, v) in [
            ("TargetUserName", format!("ghost{i}")),
            ("TargetDomainName", "CONTOSO".to_string()),
            ("Status", "0xc000006d".to_string()),
            ("SubStatus", "0xc0000064".to_string()),
            ("LogonType", "3".to_string()),
            ("WorkstationName", "KALI".to_string()),
            ("IpAddress", "10.0.0.99".to_string()),
        ] {
            x.element("Data", &[("Name", k)], &v);
        }
        x.b.push(0x04);
        x.b.push(0x04);
        x.b.push(0x00);
        let size = 24 + x.b.len() + 4;
        let filetime = (1_714_557_600u64 + i as u64 - 1 + 11_644_473_600) * 10_000_000;
        let rec = &mut chunk[at..at + size];
        rec[0..4].copy_from_slice(b"\x2a\x2a\x00\x00");
        rec[4..8].copy_from_slice(&(size as u32).to_le_bytes());
        rec[8..16].copy_from_slice(&(i as u64).to_le_bytes());
        rec[16..24].copy_from_slice(&filetime.to_le_bytes());
        rec[24..24 + x.b.len()].copy_from_slice(&x.b);
        rec[size - 4..].copy_from_slice(&(size as u32).to_le_bytes());
        last = at;
        at += size;
        ends.push(EVTX_HEADER + at);
    }
    let h = &mut chunk[..128];
    h[0..8].copy_from_slice(b"ElfChnk\0");
    for (off, v) in [(8, 1u64), (16, n as u64), (24, 1), (32, n as u64)] {
        h[off..off + 8].copy_from_slice(&v.to_le_bytes());
    }
    h[40..44].copy_from_slice(&128u32.to_le_bytes());
    h[44..48].copy_from_slice(&(last as u32).to_le_bytes());
    h[48..52].copy_from_slice(&(at as u32).to_le_bytes());
    let records_crc = crc(&chunk[512..at]);
    chunk[52..56].copy_from_slice(&records_crc.to_le_bytes());
    let header: Vec<u8> = [&chunk[..120], &chunk[128..512]].concat();
    let header_crc = crc(&header);
    chunk[124..128].copy_from_slice(&header_crc.to_le_bytes());

    let mut file = vec![0u8; EVTX_HEADER];
    file[0..8].copy_from_slice(b"ElfFile\0");
    file[24..32].copy_from_slice(&(n as u64 + 1).to_le_bytes());
    file[32..36].copy_from_slice(&128u32.to_le_bytes());
    file[36..38].copy_from_slice(&1u16.to_le_bytes());
    file[38..40].copy_from_slice(&3u16.to_le_bytes());
    file[40..42].copy_from_slice(&(EVTX_HEADER as u16).to_le_bytes());
    file[42..44].copy_from_slice(&1u16.to_le_bytes());
    let file_crc = crc(&file[..120]);
    file[124..128].copy_from_slice(&file_crc.to_le_bytes());
    file.extend_from_slice(&chunk);
    (file, ends)
}

/// CRC-32 (IEEE), bit by bit (test data only).
pub fn crc(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |mut c, &b| {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 == 1 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
        c
    })
}
