//! Tracking numbers as Magento holds them: which ones La Poste accepts,
//! and the placeholders people type for "no number".

/// Whether La Poste could accept this number: 11 to 15 ASCII alphanumerics
/// (Swagger SUIVI, `idShip`).
pub fn is_valid_number(number: &str) -> bool {
    (11..=15).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Whether La Poste can ever be asked about `number` as Magento holds it:
/// the La Poste client sends numbers trimmed and upper-cased, and never
/// sends one that is not [`is_valid_number`]. A parcel whose number fails
/// this will never get an answer.
pub fn can_track(number: &str) -> bool {
    is_valid_number(&number.trim().to_ascii_uppercase())
}

/// What people type in Magento's tracking number field to say there is
/// none, compared case-insensitively with whitespace removed (as
/// [`parcels_of`] removes it from numbers). Every entry is safe because no
/// carrier's number looks like it: La Poste's are 11 to 15 letters and
/// digits, DPD's, GLS's, UPS's and the others' 8 or more characters, always
/// with digits. English and French ways of saying "none" or "not known"
/// (`nc` non communiqué, `nr` non renseigné), the usual fillers (`x`, `0`),
/// and the spellings with dots a hand types. Anything without a single
/// letter or digit (`-`, `--`, `/`, `?`, `…`) is a placeholder too.
/// Deliberately not here: words that could begin a real reference, and
/// anything of three characters or more that holds a digit other than 0.
const PLACEHOLDER_NUMBERS: &[&str] = &[
    "n/a",
    "n.a",
    "n.a.",
    "na",
    "n/d",
    "nd",
    "none",
    "null",
    "nil",
    "nan",
    "undefined",
    "no",
    "non",
    "x",
    "xx",
    "xxx",
    "aucun",
    "aucune",
    "néant",
    "neant",
    "rien",
    "sans",
    "sansnuméro",
    "sansnumero",
    "sanssuivi",
    "pasdenuméro",
    "pasdenumero",
    "pasdesuivi",
    "nc",
    "n.c",
    "n.c.",
    "nr",
    "n.r",
    "n.r.",
    "tbd",
];

/// Whether a tracking number (whitespace already removed) is a
/// placeholder for "no number" (see [`PLACEHOLDER_NUMBERS`]): the shipment
/// is then an untracked one, keyed `shipment-<id>`.
pub fn is_placeholder_number(number: &str) -> bool {
    let lower = number.to_lowercase();
    !lower.chars().any(char::is_alphanumeric)
        || lower.chars().all(|c| c == '0')
        || PLACEHOLDER_NUMBERS.contains(&lower.as_str())
}
