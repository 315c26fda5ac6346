//! PDF answers (薬剤情報 FileCategory 1 and 3, 特定健診 FileCategory 1): the same data as the
//! XML answer, as text on A4 pages in a Japanese font that is embedded (subset) in the file, so
//! the PDF shows and searches the same on any machine. Written with krilla.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use krilla::geom::Point;
use krilla::page::PageSettings;
use krilla::text::{Font, TextDirection};
use krilla::{Document, metadata::Metadata};

/// Where Debian's Japanese fonts are (`./dev` installs fonts-ipafont-gothic).
pub const FONT_CANDIDATES: &[&str] = &[
    "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/truetype/vlgothic/VL-Gothic-Regular.ttf",
];

/// A loaded font, shared by every PDF the terminal writes.
#[derive(Clone)]
pub struct PdfFont {
    font: Font,
    pub path: PathBuf,
}

impl PdfFont {
    pub fn load(path: &Path) -> Result<PdfFont, String> {
        let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let font =
            Font::new(Arc::new(data).into(), 0).ok_or_else(|| format!("{}: not a usable font", path.display()))?;
        Ok(PdfFont { font, path: path.to_owned() })
    }

    /// `ONSHI_PDF_FONT`, or the first Japanese font of [`FONT_CANDIDATES`] that exists.
    pub fn find() -> Option<PdfFont> {
        let configured = std::env::var_os("ONSHI_PDF_FONT").map(PathBuf::from);
        configured
            .into_iter()
            .chain(FONT_CANDIDATES.iter().map(PathBuf::from))
            .find(|p| p.exists())
            .and_then(|p| PdfFont::load(&p).ok())
    }
}

const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 48.0;
const SIZE: f32 = 10.0;
const LEADING: f32 = 15.0;
const TITLE_SIZE: f32 = 16.0;
/// Full-width characters per line at this size; longer lines wrap.
const COLUMNS: usize = 48;

/// Splits a line into pieces that fit the page (a full-width character counts twice).
fn wrap(line: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut width = 0;
    for c in line.chars() {
        let w = if c.is_ascii() { 1 } else { 2 };
        if width + w > COLUMNS * 2 {
            pieces.push(std::mem::take(&mut current));
            current.push_str("    ");
            width = 4;
        }
        current.push(c);
        width += w;
    }
    pieces.push(current);
    pieces
}

/// A PDF of a title and lines of text.
pub fn render(font: &PdfFont, title: &str, lines: &[String]) -> Result<Vec<u8>, String> {
    let mut document = Document::new();
    document.set_metadata(Metadata::new().title(title.to_owned()).creator("onshi-terminal".to_owned()));
    let wrapped: Vec<String> = lines.iter().flat_map(|l| wrap(l)).collect();
    let per_page = ((PAGE_HEIGHT - 2.0 * MARGIN - 2.0 * LEADING) / LEADING) as usize;
    let pages: Vec<&[String]> = if wrapped.is_empty() { vec![&[][..]] } else { wrapped.chunks(per_page).collect() };
    let settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT).ok_or("page size")?;
    for (n, chunk) in pages.iter().enumerate() {
        let mut page = document.start_page_with(settings.clone());
        let mut surface = page.surface();
        let mut y = MARGIN + TITLE_SIZE;
        let heading = if pages.len() > 1 { format!("{title} ({}/{})", n + 1, pages.len()) } else { title.to_owned() };
        surface.draw_text(
            Point::from_xy(MARGIN, y),
            font.font.clone(),
            TITLE_SIZE,
            &heading,
            false,
            TextDirection::Auto,
        );
        y += 2.0 * LEADING;
        for line in chunk.iter() {
            if !line.is_empty() {
                surface.draw_text(Point::from_xy(MARGIN, y), font.font.clone(), SIZE, line, false, TextDirection::Auto);
            }
            y += LEADING;
        }
        surface.finish();
        page.finish();
    }
    document.finish().map_err(|e| format!("PDF: {e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_wrap_within_the_page() {
        let line = "あ".repeat(COLUMNS + 3);
        let pieces = wrap(&line);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0].chars().count(), COLUMNS);
        assert!(pieces[1].starts_with("    "));
    }

    #[test]
    fn a_pdf_is_a_pdf_with_the_font_embedded() {
        let Some(font) = PdfFont::find() else {
            panic!("no Japanese font installed: ./dev installs fonts-ipafont-gothic (or set ONSHI_PDF_FONT)");
        };
        let lines: Vec<String> = (0..120).map(|i| format!("{i}: 山田 太郎 ﾔﾏﾀﾞ ﾀﾛｳ")).collect();
        let pdf = render(&font, "薬剤情報", &lines).expect("renders");
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(pdf.windows(9).any(|w| w == b"FontFile2"), "the TrueType font is embedded");
        assert!(pdf.windows(9).any(|w| w == b"ToUnicode"), "text can be extracted");
    }
}
