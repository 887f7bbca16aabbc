//! The anonymous code (PROTOCOL.md §2).
//!
//! 17 random symbols of Crockford's base32 alphabet (85 bits from the OS
//! CSPRNG) and one check symbol, shown as six groups of three:
//! `K7M-2QX-...`. Parsing ignores case, spaces and dashes, reads `I`/`L` as
//! `1` and `O` as `0`, reads the Cyrillic letters drawn like a symbol as that
//! symbol (a Ukrainian keyboard types `К` for `K`), and refuses a code whose
//! check symbol does not match.
//!
//! The check is a weighted sum over GF(32) with the distinct weights α^0 …
//! α^17 (α a primitive element): a single substituted symbol changes the sum
//! by α^i·(d − d′) ≠ 0, and swapping two different symbols at positions i, j
//! changes it by (α^i − α^j)·(d_i − d_j) ≠ 0, so every single typo and every
//! swap of two symbols — neighbours or not — is caught.

use core::fmt;

use rand_core::CryptoRng;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::CodeError;

/// Crockford's base32 alphabet: digits and letters without I, L, O, U.
pub const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Random symbols in a code.
pub const DATA_SYMBOLS: usize = 17;
/// Symbols in a code, the check symbol included.
pub const SYMBOLS: usize = DATA_SYMBOLS + 1;
/// Symbols per group when a code is shown.
pub const GROUP: usize = 3;

/// An anonymous code: the only link between a person and her conversation.
/// Zeroized on drop; `Debug` prints nothing of it and there is no `Display`.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Code {
    /// Symbol values 0..32; the last is the check symbol.
    symbols: [u8; SYMBOLS],
}

impl Code {
    /// A new code from the CSPRNG.
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut symbols = [0u8; SYMBOLS];
        rng.fill_bytes(&mut symbols[..DATA_SYMBOLS]);
        // 256 is a multiple of 32, so masking keeps every symbol uniform.
        for s in &mut symbols[..DATA_SYMBOLS] {
            *s &= 31;
        }
        symbols[DATA_SYMBOLS] = check_symbol(&symbols[..DATA_SYMBOLS]);
        Self { symbols }
    }

    /// Parses a code as a person typed it.
    pub fn parse(input: &str) -> Result<Self, CodeError> {
        let mut symbols = [0u8; SYMBOLS];
        let mut found = 0usize;
        for ch in input.chars() {
            if ch.is_whitespace() || is_dash(ch) || is_invisible(ch) {
                continue;
            }
            found += 1;
            let Some(value) = symbol_value(ch) else {
                symbols.zeroize();
                return Err(CodeError::InvalidCharacter { position: found });
            };
            if let Some(slot) = symbols.get_mut(found - 1) {
                *slot = value;
            }
        }
        if found != SYMBOLS {
            symbols.zeroize();
            return Err(CodeError::WrongLength { found });
        }
        let code = Self { symbols };
        if check_symbol(&code.symbols[..DATA_SYMBOLS]) != code.symbols[DATA_SYMBOLS] {
            return Err(CodeError::CheckFailed);
        }
        Ok(code)
    }

    /// The 18 symbols without separators, upper case: the Argon2id password (§3.1).
    pub fn canonical(&self) -> Zeroizing<String> {
        Zeroizing::new(
            self.symbols
                .iter()
                .map(|&s| char::from(ALPHABET[usize::from(s)]))
                .collect(),
        )
    }

    /// The code as shown to a person: six groups of three joined by `-`.
    pub fn grouped(&self) -> Zeroizing<String> {
        let canonical = self.canonical();
        let mut out = String::with_capacity(SYMBOLS + SYMBOLS / GROUP);
        for (i, ch) in canonical.chars().enumerate() {
            if i > 0 && i % GROUP == 0 {
                out.push('-');
            }
            out.push(ch);
        }
        Zeroizing::new(out)
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Code(..)")
    }
}

/// Dashes a phone keyboard may produce: ASCII hyphen-minus and U+2010–U+2015.
fn is_dash(ch: char) -> bool {
    ch == '-' || ('\u{2010}'..='\u{2015}').contains(&ch)
}

/// Invisible characters that copying and pasting can bring along: zero-width
/// space, non-joiner and joiner, word joiner and the byte-order mark.
fn is_invisible(ch: char) -> bool {
    matches!(ch, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

/// The value of a typed character, with Crockford's readings of look-alikes
/// and the Cyrillic letters drawn like a symbol.
fn symbol_value(ch: char) -> Option<u8> {
    let latin = cyrillic_look_alike(ch).unwrap_or(ch);
    let upper = match latin.to_ascii_uppercase() {
        'I' | 'L' => '1',
        'O' => '0',
        other => other,
    };
    let byte = u8::try_from(upper).ok()?;
    ALPHABET
        .iter()
        .position(|&a| a == byte)
        .and_then(|p| u8::try_from(p).ok())
}

/// The Latin letter or digit a Cyrillic letter is drawn like (PROTOCOL.md §2,
/// *Cyrillic look-alikes*): the Cyrillic capitals that Unicode's confusables
/// data (UTS #39) maps to a symbol of the alphabet or to `I`, `L` or `O`, and
/// their lower-case forms, which a keyboard types from the same key. A code is
/// shown in capitals, so only the capital's shape counts: `Ь` looks like a
/// lower-case `b`, not like `B`, and is not here. Written as escapes, because
/// in source code the two scripts cannot be told apart.
fn cyrillic_look_alike(ch: char) -> Option<char> {
    Some(match ch {
        '\u{0410}' | '\u{0430}' => 'A', // А а
        '\u{0412}' | '\u{0432}' => 'B', // В в
        '\u{0421}' | '\u{0441}' => 'C', // С с
        '\u{0415}' | '\u{0435}' => 'E', // Е е
        '\u{050C}' | '\u{050D}' => 'G', // Ԍ ԍ (Komi sje)
        '\u{041D}' | '\u{043D}' => 'H', // Н н
        '\u{0406}' | '\u{0456}' => 'I', // І і (Ukrainian i), read as 1
        '\u{04C0}' | '\u{04CF}' => 'I', // Ӏ ӏ (palochka), read as 1
        '\u{0408}' | '\u{0458}' => 'J', // Ј ј
        '\u{041A}' | '\u{043A}' => 'K', // К к
        '\u{041C}' | '\u{043C}' => 'M', // М м
        '\u{041E}' | '\u{043E}' => 'O', // О о, read as 0
        '\u{0420}' | '\u{0440}' => 'P', // Р р
        '\u{0405}' | '\u{0455}' => 'S', // Ѕ ѕ (dze)
        '\u{0422}' | '\u{0442}' => 'T', // Т т
        '\u{0474}' | '\u{0475}' => 'V', // Ѵ ѵ (izhitsa)
        '\u{051C}' | '\u{051D}' => 'W', // Ԝ ԝ
        '\u{0425}' | '\u{0445}' => 'X', // Х х
        '\u{0423}' | '\u{0443}' => 'Y', // У у
        '\u{04AE}' | '\u{04AF}' => 'Y', // Ү ү (straight u)
        '\u{0417}' | '\u{0437}' => '3', // З з
        '\u{04E0}' | '\u{04E1}' => '3', // Ӡ ӡ (Abkhasian dze)
        _ => return None,
    })
}

/// Multiplication in GF(2^5) modulo the primitive polynomial x^5 + x^2 + 1.
const fn gf_mul(mut a: u8, mut b: u8) -> u8 {
    let mut product = 0;
    while b != 0 {
        if b & 1 != 0 {
            product ^= a;
        }
        b >>= 1;
        a <<= 1;
        if a & 0x20 != 0 {
            a ^= 0x25;
        }
    }
    product
}

/// α^i for i in 0..=31, with α = x (a generator: the polynomial is primitive).
const POWERS: [u8; 32] = {
    let mut powers = [0u8; 32];
    let mut i = 0;
    let mut p = 1u8;
    while i < 32 {
        powers[i] = p;
        p = gf_mul(p, 2);
        i += 1;
    }
    powers
};

/// The check symbol c such that Σ α^i·d_i over all 18 symbols is zero:
/// c = α^(−17)·Σ_{i<17} α^i·d_i, and α^(−17) = α^14 since α^31 = 1.
fn check_symbol(data: &[u8]) -> u8 {
    let sum = data
        .iter()
        .enumerate()
        .fold(0u8, |acc, (i, &d)| acc ^ gf_mul(POWERS[i], d));
    gf_mul(POWERS[31 - DATA_SYMBOLS], sum)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn alpha_has_order_31() {
        assert_eq!(POWERS[31], 1);
        let distinct: std::collections::BTreeSet<u8> = POWERS[..31].iter().copied().collect();
        assert_eq!(distinct.len(), 31);
    }

    #[test]
    fn typed_forms_parse_to_the_same_code() {
        let code = Code::generate(&mut ChaCha20Rng::seed_from_u64(1));
        let grouped = code.grouped();
        assert_eq!(grouped.len(), 23);
        let spaced = grouped.replace('-', " ").to_lowercase();
        assert_eq!(Code::parse(&spaced).expect("spaces and lower case"), code);
        assert_eq!(Code::parse(&code.canonical()).expect("canonical"), code);
        assert_eq!(
            Code::parse(&grouped.replace('-', "\u{2013}")).expect("en dash"),
            code
        );
        let pasted = format!("\u{FEFF}{}\u{200B}", grouped.as_str());
        assert_eq!(Code::parse(&pasted).expect("invisible characters"), code);
    }

    #[test]
    fn look_alikes_are_read_as_digits() {
        // Build a code whose first three symbols are 1, 1 and 0.
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let mut code = Code::generate(&mut rng);
        code.symbols[0] = 1;
        code.symbols[1] = 1;
        code.symbols[2] = 0;
        code.symbols[DATA_SYMBOLS] = check_symbol(&code.symbols[..DATA_SYMBOLS]);
        let canonical = code.canonical();
        let typed = format!("iLo{}", &canonical[3..]);
        assert_eq!(
            Code::parse(&typed).expect("I, L and O are look-alikes"),
            code
        );
    }

    /// Every Cyrillic look-alike of PROTOCOL.md §2, capital and lower case,
    /// with the symbol it is read as. Hard-coded, not taken from the parser.
    const CYRILLIC: [(char, char, char); 22] = [
        ('\u{0410}', '\u{0430}', 'A'),
        ('\u{0412}', '\u{0432}', 'B'),
        ('\u{0421}', '\u{0441}', 'C'),
        ('\u{0415}', '\u{0435}', 'E'),
        ('\u{050C}', '\u{050D}', 'G'),
        ('\u{041D}', '\u{043D}', 'H'),
        ('\u{0406}', '\u{0456}', '1'),
        ('\u{04C0}', '\u{04CF}', '1'),
        ('\u{0408}', '\u{0458}', 'J'),
        ('\u{041A}', '\u{043A}', 'K'),
        ('\u{041C}', '\u{043C}', 'M'),
        ('\u{041E}', '\u{043E}', '0'),
        ('\u{0420}', '\u{0440}', 'P'),
        ('\u{0405}', '\u{0455}', 'S'),
        ('\u{0422}', '\u{0442}', 'T'),
        ('\u{0474}', '\u{0475}', 'V'),
        ('\u{051C}', '\u{051D}', 'W'),
        ('\u{0425}', '\u{0445}', 'X'),
        ('\u{0423}', '\u{0443}', 'Y'),
        ('\u{04AE}', '\u{04AF}', 'Y'),
        ('\u{0417}', '\u{0437}', '3'),
        ('\u{04E0}', '\u{04E1}', '3'),
    ];

    /// A code whose symbol at `position` is `symbol`.
    fn code_with(position: usize, symbol: char, seed: u64) -> Code {
        let mut code = Code::generate(&mut ChaCha20Rng::seed_from_u64(seed));
        let value = ALPHABET
            .iter()
            .position(|&a| char::from(a) == symbol)
            .expect("a symbol of the alphabet");
        code.symbols[position] = u8::try_from(value).expect("below 32");
        code.symbols[DATA_SYMBOLS] = check_symbol(&code.symbols[..DATA_SYMBOLS]);
        code
    }

    #[test]
    fn each_cyrillic_look_alike_is_read_as_its_symbol_in_either_case() {
        for (i, &(capital, small, symbol)) in CYRILLIC.iter().enumerate() {
            let position = i % DATA_SYMBOLS;
            let code = code_with(position, symbol, 10 + i as u64);
            let canonical: Vec<char> = code.canonical().chars().collect();
            for typed in [capital, small] {
                let mut input = canonical.clone();
                input[position] = typed;
                let input: String = input.into_iter().collect();
                assert_eq!(
                    Code::parse(&input).as_ref(),
                    Ok(&code),
                    "U+{:04X} is read as {symbol}",
                    u32::from(typed)
                );
            }
        }
    }

    #[test]
    fn a_code_typed_on_a_ukrainian_keyboard_parses() {
        // Every letter that has a Cyrillic look-alike typed in Cyrillic,
        // alternately capital and lower case, the rest as shown.
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let mut typed_some = 0;
        for _ in 0..20 {
            let code = Code::generate(&mut rng);
            let grouped = code.grouped();
            let typed: String = grouped
                .chars()
                .enumerate()
                .map(|(i, ch)| {
                    CYRILLIC
                        .iter()
                        .find(|&&(_, _, symbol)| symbol == ch && ch.is_ascii_alphabetic())
                        .map_or(ch, |&(capital, small, _)| {
                            typed_some += 1;
                            if i % 2 == 0 { capital } else { small }
                        })
                })
                .collect();
            assert_eq!(Code::parse(&typed).as_ref(), Ok(&code), "{typed}");
        }
        assert!(typed_some > 50, "the codes had letters to type in Cyrillic");
    }

    #[test]
    fn only_the_listed_cyrillic_letters_are_read_and_any_other_is_refused_where_typed() {
        // Every Cyrillic block: U+0400–U+052F, Extended-A, -B and -C.
        let blocks = [
            0x0400..=0x052F,
            0x2DE0..=0x2DFF,
            0xA640..=0xA69F,
            0x1C80..=0x1C8F,
        ];
        let code = Code::generate(&mut ChaCha20Rng::seed_from_u64(6));
        let canonical: Vec<char> = code.canonical().chars().collect();
        let mut read = 0;
        for cp in blocks.into_iter().flatten() {
            let Some(ch) = char::from_u32(cp) else {
                continue;
            };
            let listed = CYRILLIC
                .iter()
                .find(|&&(capital, small, _)| ch == capital || ch == small);
            // The letter at the 8th code character, after a look-alike that
            // is read and a dash that is skipped.
            let mut input: String = canonical[..6].iter().collect();
            input.push('\u{041A}');
            input.push('-');
            input.push(ch);
            input.extend(&canonical[8..]);
            match listed {
                Some(&(_, _, symbol)) => {
                    read += 1;
                    assert_eq!(
                        symbol_value(ch),
                        symbol_value(symbol),
                        "U+{cp:04X} is read as {symbol}"
                    );
                }
                None => assert_eq!(
                    Code::parse(&input),
                    Err(CodeError::InvalidCharacter { position: 8 }),
                    "U+{cp:04X} is not a look-alike"
                ),
            }
        }
        assert_eq!(read, 2 * CYRILLIC.len());
    }

    #[test]
    fn every_single_typo_and_every_swap_is_caught() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        for _ in 0..50 {
            let code = Code::generate(&mut rng);
            for pos in 0..SYMBOLS {
                for value in 0..32u8 {
                    if value == code.symbols[pos] {
                        continue;
                    }
                    let mut typo = code.clone();
                    typo.symbols[pos] = value;
                    assert_eq!(Code::parse(&typo.canonical()), Err(CodeError::CheckFailed));
                }
                for other in pos + 1..SYMBOLS {
                    if code.symbols[pos] == code.symbols[other] {
                        continue;
                    }
                    let mut swapped = code.clone();
                    swapped.symbols.swap(pos, other);
                    assert_eq!(
                        Code::parse(&swapped.canonical()),
                        Err(CodeError::CheckFailed)
                    );
                }
            }
        }
    }

    #[test]
    fn bad_input_gives_a_precise_error() {
        assert_eq!(Code::parse(""), Err(CodeError::WrongLength { found: 0 }));
        assert_eq!(
            Code::parse("ABC-DEF"),
            Err(CodeError::WrongLength { found: 6 })
        );
        assert_eq!(
            Code::parse("ABC-DUF-GHJ-KMN-PQR-STV"),
            Err(CodeError::InvalidCharacter { position: 5 })
        );
        assert_eq!(
            Code::parse("ÁBC"),
            Err(CodeError::InvalidCharacter { position: 1 })
        );
        // Cyrillic: К, М and З are look-alikes; И, Й and Ё are not.
        assert_eq!(
            Code::parse("КМ3-И"),
            Err(CodeError::InvalidCharacter { position: 4 })
        );
        assert_eq!(
            Code::parse("к м й"),
            Err(CodeError::InvalidCharacter { position: 3 })
        );
        assert_eq!(
            Code::parse("ЁЕ"),
            Err(CodeError::InvalidCharacter { position: 1 })
        );
        let long = "A".repeat(10_000);
        assert_eq!(
            Code::parse(&long),
            Err(CodeError::WrongLength { found: 10_000 })
        );
    }

    #[test]
    fn debug_shows_nothing() {
        let code = Code::generate(&mut ChaCha20Rng::seed_from_u64(4));
        assert_eq!(format!("{code:?}"), "Code(..)");
    }
}
