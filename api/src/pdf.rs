//! A small PDF writer for transcripts: A4 pages of Helvetica text lines, wrapped to the
//! page, with no dependency. Text is set in the standard fonts' WinAnsi encoding, so Latin
//! letters with accents show as they are; characters outside it (emoji, CJK) print as `?`.
//! `pdftotext` reads the result back (the transcript test does).

/// One line of text.
#[derive(Debug, Clone)]
pub struct Line {
    /// What it says.
    pub text: String,
    /// Set in bold (headings, who spoke).
    pub bold: bool,
}

impl Line {
    /// A plain line.
    pub fn plain(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            bold: false,
        }
    }

    /// A bold line.
    pub fn bold(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            bold: true,
        }
    }
}

const PAGE_WIDTH: u32 = 595;
const PAGE_HEIGHT: u32 = 842;
const MARGIN: u32 = 50;
const FONT_SIZE: u32 = 10;
const LEADING: u32 = 14;
/// Characters per line: Helvetica averages about half an em, so 10 pt text fits ~95 in the
/// 495 pt between margins; 90 leaves room for wide letters.
const WRAP: usize = 90;

/// Splits `text` into lines of at most [`WRAP`] characters, at spaces where it can.
fn wrap(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split(' ') {
            let mut word = word.to_owned();
            while word.chars().count() > WRAP {
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                let head: String = word.chars().take(WRAP).collect();
                word = word.chars().skip(WRAP).collect();
                lines.push(head);
            }
            let needed =
                line.chars().count() + usize::from(!line.is_empty()) + word.chars().count();
            if needed > WRAP && !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&word);
        }
        lines.push(line);
    }
    lines
}

/// `text` as a PDF string literal's content in WinAnsi encoding.
fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            // Latin-1's printable upper half is WinAnsi's too.
            '\u{a0}'..='\u{ff}' => out.push_str(&format!("\\{:03o}", c as u32)),
            '\t' => out.push(' '),
            _ => out.push('?'),
        }
    }
    out
}

/// The document: `lines` set on as many pages as they need, with `title` in its info.
pub fn render(title: &str, lines: &[Line]) -> Vec<u8> {
    let mut set: Vec<(String, bool)> = Vec::new();
    for line in lines {
        for part in wrap(&line.text) {
            set.push((part, line.bold));
        }
    }
    let per_page = ((PAGE_HEIGHT - 2 * MARGIN) / LEADING) as usize;
    let pages: Vec<&[(String, bool)]> = if set.is_empty() {
        vec![&[]]
    } else {
        set.chunks(per_page).collect()
    };

    // Objects: 1 catalog, 2 pages, 3 regular font, 4 bold font, 5 info, then a page and its
    // content stream per page.
    let mut objects: Vec<Vec<u8>> = Vec::new();
    let page_ids: Vec<usize> = (0..pages.len()).map(|i| 6 + 2 * i).collect();
    objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    let kids: Vec<String> = page_ids.iter().map(|id| format!("{id} 0 R")).collect();
    objects.push(
        format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            pages.len()
        )
        .into_bytes(),
    );
    objects.push(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    );
    objects.push(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    );
    objects.push(format!("<< /Title ({}) /Producer (Switchboard) >>", literal(title)).into_bytes());
    for (page, id) in pages.iter().zip(&page_ids) {
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] \
                 /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
                id + 1
            )
            .into_bytes(),
        );
        let mut content = format!(
            "BT\n{LEADING} TL\n{MARGIN} {} Td\n",
            PAGE_HEIGHT - MARGIN - FONT_SIZE
        );
        for (text, bold) in page.iter() {
            let font = if *bold { "F2" } else { "F1" };
            content.push_str(&format!(
                "/{font} {FONT_SIZE} Tf\n({}) Tj\nT*\n",
                literal(text)
            ));
        }
        content.push_str("ET\n");
        let mut stream = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
        stream.extend_from_slice(content.as_bytes());
        stream.extend_from_slice(b"endstream");
        objects.push(stream);
    }

    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(object);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_wrap_at_spaces_and_long_words_split() {
        let text = format!("{} {}", "a".repeat(50), "b".repeat(50));
        assert_eq!(wrap(&text), ["a".repeat(50), "b".repeat(50)]);
        let word = "c".repeat(200);
        let lines = wrap(&word);
        assert_eq!(lines.len(), 3);
        assert!(lines.iter().all(|l| l.chars().count() <= WRAP));
        assert_eq!(wrap("one\ntwo"), ["one", "two"]);
    }

    #[test]
    fn strings_are_escaped_and_set_in_winansi() {
        assert_eq!(literal(r"a(b)\c"), r"a\(b\)\\c");
        assert_eq!(literal("café"), "caf\\351");
        assert_eq!(literal("ok 👍"), "ok ?");
    }

    #[test]
    fn the_cross_reference_table_points_at_each_object() {
        let lines: Vec<Line> = (0..120).map(|i| Line::plain(format!("line {i}"))).collect();
        let pdf = render("T", &lines);
        let find = |needle: &[u8]| pdf.windows(needle.len()).rposition(|w| w == needle);
        assert!(pdf.starts_with(b"%PDF-1.4"));
        assert!(find(b"/Count 3").is_some(), "120 lines take three pages");
        let after = find(b"startxref\n").unwrap() + "startxref\n".len();
        let xref_at: usize = std::str::from_utf8(&pdf[after..])
            .unwrap()
            .lines()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap();
        assert!(pdf[xref_at..].starts_with(b"xref"));
        let table = std::str::from_utf8(&pdf[xref_at..]).unwrap();
        for (i, entry) in table.lines().skip(3).take(5).enumerate() {
            let offset: usize = entry[..10].parse().unwrap();
            assert!(
                pdf[offset..].starts_with(format!("{} 0 obj", i + 1).as_bytes()),
                "object {}",
                i + 1
            );
        }
    }
}
