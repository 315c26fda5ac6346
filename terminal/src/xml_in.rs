//! Reading a request file: its bytes decoded in the encoding its XML declaration names, parsed
//! into a small element tree, and every way a file can be unreadable told apart — above all a
//! file that is still being written (`Incomplete`, wait for more) from one that never will be
//! XML (answered with an `.err` file).

use std::borrow::Cow;

use encoding_rs::{Encoding, SHIFT_JIS, UTF_8};
use quick_xml::Reader;
use quick_xml::events::Event;
use thiserror::Error;

/// The largest request the terminal reads (a 一括照会 upload of 10,000 search infos is ~3 MiB in
/// the real system, but the terminal's own limit is what TERMINAL.md's clients stay under).
pub const MAX_REQUEST_BYTES: u64 = 1 << 20;

/// The encodings a request or an answer can be in, with CharacterCodeIdentifier's codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    Utf8,
    ShiftJis,
}

impl TextEncoding {
    /// CharacterCodeIdentifier: 0 UTF-8, 1 Shift_JIS.
    pub fn identifier(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "0",
            TextEncoding::ShiftJis => "1",
        }
    }

    /// The name written in the XML declaration.
    pub fn declaration_name(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::ShiftJis => "Shift_JIS",
        }
    }

    pub(crate) fn encoding(self) -> &'static Encoding {
        match self {
            TextEncoding::Utf8 => UTF_8,
            TextEncoding::ShiftJis => SHIFT_JIS,
        }
    }

    /// From a command-line or declaration name: `shift_jis`, `Shift_JIS`, `sjis`, `cp932`,
    /// `windows-31j`, `utf-8`, `utf8`.
    pub fn from_label(label: &str) -> Option<TextEncoding> {
        match label.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "utf_8" | "utf8" => Some(TextEncoding::Utf8),
            "shift_jis" | "sjis" | "shiftjis" | "cp932" | "windows_31j" | "ms932" | "x_sjis" => {
                Some(TextEncoding::ShiftJis)
            }
            _ => None,
        }
    }
}

/// Why a request file cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReadError {
    /// The file ends before its root element does: it is probably still being written.
    #[error("the file ends before its root element is closed (incomplete XML)")]
    Incomplete,
    #[error("the file is {0} bytes; the terminal reads requests of at most 1 MiB")]
    TooLarge(u64),
    #[error("the XML declaration names encoding {0:?}; the terminal reads UTF-8 and Shift_JIS")]
    UnknownEncoding(String),
    #[error("the bytes are not valid {0} (the encoding the XML declaration names)")]
    Undecodable(&'static str),
    #[error("a DTD or entity declaration is not accepted")]
    Doctype,
    #[error("an entity reference &{0}; is not defined (only the five XML entities and character references are)")]
    UnknownEntity(String),
    #[error("not XML: {0}")]
    NotXml(String),
    #[error("the root element is <{0}>; requests are <XmlMsg>")]
    WrongRoot(String),
}

/// One element: its name, its text (all text directly inside it, joined) and its children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child named `name`, in document order.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The text of the child `name`, without surrounding whitespace ("" when absent). A
    /// space-padded 国保 InsurerNumber comes back unpadded, which the server accepts as well.
    pub fn text_of(&self, name: &str) -> &str {
        self.child(name).map(|c| c.text.trim()).unwrap_or("")
    }

    /// The element at a path of child names.
    pub fn at(&self, path: &[&str]) -> Option<&Element> {
        path.iter().try_fold(self, |e, name| e.child(name))
    }
}

/// A decoded, parsed request: its root `XmlMsg` and the encoding it was written in.
#[derive(Debug, Clone)]
pub struct Document {
    pub root: Element,
    pub encoding: TextEncoding,
}

/// The encoding named by the XML declaration at the start of `bytes` (UTF-8 without one).
fn declared_encoding(bytes: &[u8]) -> Result<TextEncoding, ReadError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if !bytes.starts_with(b"<?xml") {
        return Ok(TextEncoding::Utf8);
    }
    let Some(end) = bytes.windows(2).position(|w| w == b"?>") else { return Err(ReadError::Incomplete) };
    // The declaration is ASCII in every encoding the terminal reads.
    let decl = String::from_utf8_lossy(&bytes[..end]);
    let Some(at) = decl.find("encoding") else { return Ok(TextEncoding::Utf8) };
    let rest = decl[at + "encoding".len()..].trim_start().trim_start_matches('=').trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'');
    let Some(q) = quote else { return Err(ReadError::NotXml("the XML declaration's encoding is not quoted".into())) };
    let value = rest[1..].split(q).next().unwrap_or("");
    TextEncoding::from_label(value).ok_or_else(|| ReadError::UnknownEncoding(value.to_owned()))
}

/// Decodes `bytes` in the encoding its declaration names.
pub fn decode(bytes: &[u8]) -> Result<(String, TextEncoding), ReadError> {
    if bytes.len() as u64 > MAX_REQUEST_BYTES {
        return Err(ReadError::TooLarge(bytes.len() as u64));
    }
    let encoding = declared_encoding(bytes)?;
    let body = match encoding {
        TextEncoding::Utf8 => bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes),
        TextEncoding::ShiftJis => bytes,
    };
    let text = encoding
        .encoding()
        .decode_without_bom_handling_and_without_replacement(body)
        .ok_or(ReadError::Undecodable(encoding.declaration_name()))?;
    Ok((text.into_owned(), encoding))
}

/// The text a reference stands for: the five predefined entities and character references.
fn resolve_reference(name: &str) -> Result<Cow<'static, str>, ReadError> {
    Ok(Cow::Borrowed(match name {
        "lt" => "<",
        "gt" => ">",
        "amp" => "&",
        "apos" => "'",
        "quot" => "\"",
        _ => {
            let number = name.strip_prefix('#').ok_or_else(|| ReadError::UnknownEntity(name.to_owned()))?;
            let value = match number.strip_prefix('x') {
                Some(hex) => u32::from_str_radix(hex, 16),
                None => number.parse::<u32>(),
            }
            .map_err(|_| ReadError::UnknownEntity(name.to_owned()))?;
            let c = char::from_u32(value)
                .filter(|c| *c != '\0')
                .ok_or_else(|| ReadError::UnknownEntity(name.to_owned()))?;
            return Ok(Cow::Owned(c.to_string()));
        }
    }))
}

/// Parses decoded text into its root element. The root must be `XmlMsg`.
pub fn parse(text: &str) -> Result<Element, ReadError> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(e) => {
                // An error in a tag or an unclosed construct at the very end of the text is a file
                // still being written; anything before the end is a broken file.
                let at = reader.buffer_position() as usize;
                if at >= text.trim_end().len() {
                    return Err(ReadError::Incomplete);
                }
                return Err(ReadError::NotXml(format!("{e} (at byte {at})")));
            }
        };
        match event {
            Event::Start(start) => {
                if root.is_some() {
                    return Err(ReadError::NotXml("content after the root element".into()));
                }
                let name = start.name().as_ref().to_owned();
                stack.push(Element { name, ..Element::default() });
            }
            Event::Empty(start) => {
                let name = start.name().as_ref().to_owned();
                let element = Element { name, ..Element::default() };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None if root.is_none() => root = Some(element),
                    None => return Err(ReadError::NotXml("content after the root element".into())),
                }
            }
            Event::End(_) => {
                let Some(done) = stack.pop() else {
                    return Err(ReadError::NotXml("an end tag without a start".into()));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(t) => {
                let raw = t.xml10_content();
                match stack.last_mut() {
                    Some(e) => e.text.push_str(&raw),
                    None if raw.trim().is_empty() => {}
                    None => return Err(ReadError::NotXml("text outside the root element".into())),
                }
            }
            Event::CData(c) => {
                if let Some(e) = stack.last_mut() {
                    e.text.push_str(&c.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let resolved = resolve_reference(&r)?;
                if let Some(e) = stack.last_mut() {
                    e.text.push_str(&resolved);
                }
            }
            Event::DocType(_) => return Err(ReadError::Doctype),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(ReadError::Incomplete);
    }
    let Some(root) = root else {
        return Err(if text.trim().is_empty() || text.trim_start().starts_with('<') {
            ReadError::Incomplete
        } else {
            ReadError::NotXml("no element found".into())
        });
    };
    if root.name != "XmlMsg" {
        return Err(ReadError::WrongRoot(root.name));
    }
    Ok(root)
}

/// Decodes and parses a request file's bytes.
pub fn read(bytes: &[u8]) -> Result<Document, ReadError> {
    let (text, encoding) = decode(bytes)?;
    Ok(Document { root: parse(&text)?, encoding })
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUEST: &str = "<XmlMsg><MessageHeader><MedicalInstitutionCode>1312345679</MedicalInstitutionCode></MessageHeader><MessageBody><QualificationConfirmSearchInfo><InsurerNumber>  131045</InsurerNumber><InsuredCardSymbol>A&amp;B&#x3042;</InsuredCardSymbol></QualificationConfirmSearchInfo></MessageBody></XmlMsg>";

    #[test]
    fn shift_jis_and_utf8_requests_read_alike() {
        let utf8 = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n{}",
            REQUEST.replace("A&amp;B", "山田")
        );
        let sjis_text = utf8.replace("UTF-8", "Shift_JIS");
        let (sjis, _, _) = SHIFT_JIS.encode(&sjis_text);
        let a = read(utf8.as_bytes()).expect("utf-8");
        let b = read(&sjis).expect("shift_jis");
        assert_eq!(a.encoding, TextEncoding::Utf8);
        assert_eq!(b.encoding, TextEncoding::ShiftJis);
        assert_eq!(a.root, b.root);
        let info = a.root.at(&["MessageBody", "QualificationConfirmSearchInfo"]).expect("info");
        assert_eq!(info.text_of("InsuredCardSymbol"), "山田あ");
        assert_eq!(info.text_of("InsurerNumber"), "131045");
    }

    #[test]
    fn references_resolve() {
        let root = parse(REQUEST).expect("parses");
        let info = root.at(&["MessageBody", "QualificationConfirmSearchInfo"]).expect("info");
        assert_eq!(info.text_of("InsuredCardSymbol"), "A&Bあ");
    }

    #[test]
    fn a_file_cut_anywhere_is_incomplete_not_broken() {
        let full = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{REQUEST}\n");
        for cut in [0, 10, 39, 45, 60, 120, full.len() - 10, full.len() - 3] {
            let part = &full.as_bytes()[..cut];
            let Ok(text) = std::str::from_utf8(part) else { continue };
            assert_eq!(parse(text), Err(ReadError::Incomplete), "cut at {cut}: {text:?}");
        }
        assert!(read(full.as_bytes()).is_ok());
    }

    #[test]
    fn unreadable_kinds_are_told_apart() {
        assert!(matches!(parse("hello, terminal"), Err(ReadError::NotXml(_))));
        assert!(matches!(parse("<a><b></a></b>"), Err(ReadError::NotXml(_))));
        assert_eq!(parse("<Other/>"), Err(ReadError::WrongRoot("Other".into())));
        assert_eq!(parse("<!DOCTYPE XmlMsg [<!ENTITY x \"y\">]><XmlMsg>&x;</XmlMsg>"), Err(ReadError::Doctype));
        assert_eq!(parse("<XmlMsg>&x;</XmlMsg>"), Err(ReadError::UnknownEntity("x".into())));
        let bad_sjis = b"<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><XmlMsg>\x82</XmlMsg>";
        assert_eq!(read(bad_sjis).map(|_| ()), Err(ReadError::Undecodable("Shift_JIS")));
        let bad_utf8 = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><XmlMsg>\xff\xfe</XmlMsg>";
        assert_eq!(read(bad_utf8).map(|_| ()), Err(ReadError::Undecodable("UTF-8")));
        assert!(matches!(
            read(b"<?xml version=\"1.0\" encoding=\"EBCDIC\"?><XmlMsg/>"),
            Err(ReadError::UnknownEncoding(_))
        ));
        let big = vec![b' '; (MAX_REQUEST_BYTES + 1) as usize];
        assert!(matches!(read(&big), Err(ReadError::TooLarge(_))));
    }

    /// Every byte of a real request replaced by each of a few troublesome bytes, and every
    /// prefix of it: reading never panics, and answers one of the errors above or a document.
    #[test]
    fn no_damage_makes_the_reader_panic() {
        let (sjis, _, _) = SHIFT_JIS.encode(REQUEST);
        let mut request = b"<?xml version=\"1.0\" encoding=\"Shift_JIS\"?>".to_vec();
        request.extend_from_slice(&sjis);
        for at in 0..request.len() {
            for b in [b'<', b'>', b'&', b'"', 0x00, 0x82, 0xff, b'?', b'!'] {
                let mut damaged = request.clone();
                damaged[at] = b;
                let _ = read(&damaged);
            }
            let _ = read(&request[..at]);
        }
        assert!(read(&request).is_ok());
    }
}
