//! Full-width katakana to half-width katakana (半角カナ), the form NameKana takes in the real
//! interface. Voiced and semi-voiced kana become two characters (ガ → ｶﾞ, パ → ﾊﾟ).

/// Converts full-width katakana, the long-vowel mark and the ideographic space to their
/// half-width forms; other characters pass through unchanged.
pub fn to_half_width(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match half_width(c) {
            Some((base, mark)) => {
                out.push(base);
                if let Some(m) = mark {
                    out.push(m);
                }
            }
            None => out.push(c),
        }
    }
    out
}

const DAKUTEN: char = 'ﾞ';
const HANDAKUTEN: char = 'ﾟ';

/// (full-width, half-width) for the unvoiced kana and marks.
const PLAIN: &[(char, char)] = &[
    ('ア', 'ｱ'),
    ('イ', 'ｲ'),
    ('ウ', 'ｳ'),
    ('エ', 'ｴ'),
    ('オ', 'ｵ'),
    ('カ', 'ｶ'),
    ('キ', 'ｷ'),
    ('ク', 'ｸ'),
    ('ケ', 'ｹ'),
    ('コ', 'ｺ'),
    ('サ', 'ｻ'),
    ('シ', 'ｼ'),
    ('ス', 'ｽ'),
    ('セ', 'ｾ'),
    ('ソ', 'ｿ'),
    ('タ', 'ﾀ'),
    ('チ', 'ﾁ'),
    ('ツ', 'ﾂ'),
    ('テ', 'ﾃ'),
    ('ト', 'ﾄ'),
    ('ナ', 'ﾅ'),
    ('ニ', 'ﾆ'),
    ('ヌ', 'ﾇ'),
    ('ネ', 'ﾈ'),
    ('ノ', 'ﾉ'),
    ('ハ', 'ﾊ'),
    ('ヒ', 'ﾋ'),
    ('フ', 'ﾌ'),
    ('ヘ', 'ﾍ'),
    ('ホ', 'ﾎ'),
    ('マ', 'ﾏ'),
    ('ミ', 'ﾐ'),
    ('ム', 'ﾑ'),
    ('メ', 'ﾒ'),
    ('モ', 'ﾓ'),
    ('ヤ', 'ﾔ'),
    ('ユ', 'ﾕ'),
    ('ヨ', 'ﾖ'),
    ('ラ', 'ﾗ'),
    ('リ', 'ﾘ'),
    ('ル', 'ﾙ'),
    ('レ', 'ﾚ'),
    ('ロ', 'ﾛ'),
    ('ワ', 'ﾜ'),
    ('ヲ', 'ｦ'),
    ('ン', 'ﾝ'),
    ('ァ', 'ｧ'),
    ('ィ', 'ｨ'),
    ('ゥ', 'ｩ'),
    ('ェ', 'ｪ'),
    ('ォ', 'ｫ'),
    ('ャ', 'ｬ'),
    ('ュ', 'ｭ'),
    ('ョ', 'ｮ'),
    ('ッ', 'ｯ'),
    ('ー', 'ｰ'),
    ('・', '･'),
    ('　', ' '),
];

/// (voiced full-width, unvoiced full-width, mark).
const MARKED: &[(char, char, char)] = &[
    ('ガ', 'カ', DAKUTEN),
    ('ギ', 'キ', DAKUTEN),
    ('グ', 'ク', DAKUTEN),
    ('ゲ', 'ケ', DAKUTEN),
    ('ゴ', 'コ', DAKUTEN),
    ('ザ', 'サ', DAKUTEN),
    ('ジ', 'シ', DAKUTEN),
    ('ズ', 'ス', DAKUTEN),
    ('ゼ', 'セ', DAKUTEN),
    ('ゾ', 'ソ', DAKUTEN),
    ('ダ', 'タ', DAKUTEN),
    ('ヂ', 'チ', DAKUTEN),
    ('ヅ', 'ツ', DAKUTEN),
    ('デ', 'テ', DAKUTEN),
    ('ド', 'ト', DAKUTEN),
    ('バ', 'ハ', DAKUTEN),
    ('ビ', 'ヒ', DAKUTEN),
    ('ブ', 'フ', DAKUTEN),
    ('ベ', 'ヘ', DAKUTEN),
    ('ボ', 'ホ', DAKUTEN),
    ('パ', 'ハ', HANDAKUTEN),
    ('ピ', 'ヒ', HANDAKUTEN),
    ('プ', 'フ', HANDAKUTEN),
    ('ペ', 'ヘ', HANDAKUTEN),
    ('ポ', 'ホ', HANDAKUTEN),
    ('ヴ', 'ウ', DAKUTEN),
];

fn plain(c: char) -> Option<char> {
    PLAIN.iter().find(|(f, _)| *f == c).map(|(_, h)| *h)
}

fn half_width(c: char) -> Option<(char, Option<char>)> {
    if let Some(h) = plain(c) {
        return Some((h, None));
    }
    let (_, base, mark) = MARKED.iter().find(|(f, _, _)| *f == c)?;
    Some((plain(*base)?, Some(*mark)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_names() {
        assert_eq!(to_half_width("ヤマダ　タロウ"), "ﾔﾏﾀﾞ ﾀﾛｳ");
        assert_eq!(to_half_width("ワタナベ　ケンイチ"), "ﾜﾀﾅﾍﾞ ｹﾝｲﾁ");
        assert_eq!(to_half_width("ポップ・キョウコ"), "ﾎﾟｯﾌﾟ･ｷｮｳｺ");
        assert_eq!(to_half_width("ABC 山田"), "ABC 山田");
    }
}
