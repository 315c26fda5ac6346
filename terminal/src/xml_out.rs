//! Writing an answer: an indented XmlMsg built element by element, escaped by quick-xml, and
//! encoded into the terminal's encoding with the matching declaration. A character Shift_JIS
//! cannot hold is written as an XML character reference, so the answer stays exact.

use crate::xml_in::TextEncoding;

/// An XML document under construction.
pub struct XmlOut {
    text: String,
    open: Vec<String>,
}

impl Default for XmlOut {
    fn default() -> Self {
        Self::new()
    }
}

impl XmlOut {
    /// A document whose root `XmlMsg` is open.
    pub fn new() -> XmlOut {
        let mut out = XmlOut { text: String::with_capacity(4096), open: Vec::new() };
        out.open("XmlMsg");
        out
    }

    fn indent(&mut self) {
        for _ in 0..self.open.len() {
            self.text.push_str("  ");
        }
    }

    /// Opens an element that will hold children.
    pub fn open(&mut self, name: &str) {
        self.indent();
        self.text.push('<');
        self.text.push_str(name);
        self.text.push_str(">\n");
        self.open.push(name.to_owned());
    }

    /// Closes the innermost open element.
    pub fn close(&mut self) {
        if let Some(name) = self.open.pop() {
            self.indent();
            self.text.push_str("</");
            self.text.push_str(&name);
            self.text.push_str(">\n");
        }
    }

    /// Copies an element read from a file, with its children.
    pub fn copy(&mut self, e: &crate::xml_in::Element) {
        if e.children.is_empty() {
            self.value(&e.name, e.text.trim());
        } else {
            self.open(&e.name);
            for c in &e.children {
                self.copy(c);
            }
            self.close();
        }
    }

    /// A leaf element, always written (empty as `<Name/>` is never produced: see `leaf`).
    pub fn value(&mut self, name: &str, value: &str) {
        self.indent();
        self.text.push('<');
        self.text.push_str(name);
        self.text.push('>');
        self.text.push_str(&quick_xml::escape::escape(value));
        self.text.push_str("</");
        self.text.push_str(name);
        self.text.push_str(">\n");
    }

    /// A leaf element, left out when the value is empty: the real answers omit elements that
    /// carry nothing (TERMINAL.md's samples), and clients look for elements by name.
    pub fn leaf(&mut self, name: &str, value: &str) {
        if !value.is_empty() {
            self.value(name, value);
        }
    }

    /// Closes every open element and encodes the document.
    pub fn finish(mut self, encoding: TextEncoding) -> Vec<u8> {
        while !self.open.is_empty() {
            self.close();
        }
        let document = format!(
            "<?xml version=\"1.0\" encoding=\"{}\" standalone=\"no\"?>\n{}",
            encoding.declaration_name(),
            self.text
        );
        match encoding {
            TextEncoding::Utf8 => document.into_bytes(),
            TextEncoding::ShiftJis => {
                let (bytes, _, _) = encoding.encoding().encode(&document);
                bytes.into_owned()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml_in;

    #[test]
    fn written_answers_read_back_in_both_encodings() {
        for encoding in [TextEncoding::Utf8, TextEncoding::ShiftJis] {
            let mut out = XmlOut::new();
            out.open("MessageHeader");
            out.leaf("Name", "山田　太郎 <&> 髙");
            out.leaf("Empty", "");
            out.value("CharacterCodeIdentifier", encoding.identifier());
            out.close();
            let bytes = out.finish(encoding);
            let doc = xml_in::read(&bytes).expect("reads back");
            assert_eq!(doc.encoding, encoding);
            let header = doc.root.child("MessageHeader").expect("header");
            assert_eq!(header.text_of("Name"), "山田　太郎 <&> 髙");
            assert!(header.child("Empty").is_none());
            assert_eq!(header.text_of("CharacterCodeIdentifier"), encoding.identifier());
        }
    }

    #[test]
    fn characters_outside_shift_jis_become_references() {
        let mut out = XmlOut::new();
        out.leaf("Name", "𠮷野");
        let bytes = out.finish(TextEncoding::ShiftJis);
        let doc = xml_in::read(&bytes).expect("reads back");
        assert_eq!(doc.root.text_of("Name"), "𠮷野");
    }
}
