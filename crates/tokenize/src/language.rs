//! Languages: which Snowball stemmer a language tag selects, and detection of a text's language.
//!
//! Language tags are BCP 47 as vocabularies write them (`fi`, `en-GB`, `pt_BR`); only the primary subtag
//! matters here, and three-letter ISO 639-3 codes (`fin`) are accepted too.

use rust_stemmers::Algorithm;

/// ISO 639-1 code → Snowball algorithm, for every language `rust-stemmers` has.
const STEMMERS: &[(&str, Algorithm)] = &[
    ("ar", Algorithm::Arabic),
    ("da", Algorithm::Danish),
    ("de", Algorithm::German),
    ("el", Algorithm::Greek),
    ("en", Algorithm::English),
    ("es", Algorithm::Spanish),
    ("fi", Algorithm::Finnish),
    ("fr", Algorithm::French),
    ("hu", Algorithm::Hungarian),
    ("it", Algorithm::Italian),
    ("nb", Algorithm::Norwegian),
    ("nl", Algorithm::Dutch),
    ("nn", Algorithm::Norwegian),
    ("no", Algorithm::Norwegian),
    ("pt", Algorithm::Portuguese),
    ("ro", Algorithm::Romanian),
    ("ru", Algorithm::Russian),
    ("sv", Algorithm::Swedish),
    ("ta", Algorithm::Tamil),
    ("tr", Algorithm::Turkish),
];

/// ISO 639-3 → 639-1 for the languages the detector knows (those without a two-letter code keep three).
const ISO_639_3: &[(&str, &str)] = &[
    ("afr", "af"),
    ("aka", "ak"),
    ("amh", "am"),
    ("ara", "ar"),
    ("aze", "az"),
    ("bel", "be"),
    ("ben", "bn"),
    ("bul", "bg"),
    ("cat", "ca"),
    ("ces", "cs"),
    ("cmn", "zh"),
    ("dan", "da"),
    ("deu", "de"),
    ("ell", "el"),
    ("eng", "en"),
    ("epo", "eo"),
    ("est", "et"),
    ("fin", "fi"),
    ("fra", "fr"),
    ("guj", "gu"),
    ("heb", "he"),
    ("hin", "hi"),
    ("hrv", "hr"),
    ("hun", "hu"),
    ("hye", "hy"),
    ("ind", "id"),
    ("ita", "it"),
    ("jav", "jv"),
    ("jpn", "ja"),
    ("kan", "kn"),
    ("kat", "ka"),
    ("khm", "km"),
    ("kor", "ko"),
    ("lat", "la"),
    ("lav", "lv"),
    ("lit", "lt"),
    ("mal", "ml"),
    ("mar", "mr"),
    ("mkd", "mk"),
    ("mya", "my"),
    ("nep", "ne"),
    ("nld", "nl"),
    ("nob", "nb"),
    ("nor", "no"),
    ("ori", "or"),
    ("pan", "pa"),
    ("pes", "fa"),
    ("pol", "pl"),
    ("por", "pt"),
    ("ron", "ro"),
    ("rus", "ru"),
    ("sin", "si"),
    ("slk", "sk"),
    ("slv", "sl"),
    ("sna", "sn"),
    ("spa", "es"),
    ("srp", "sr"),
    ("swe", "sv"),
    ("tam", "ta"),
    ("tel", "te"),
    ("tgl", "tl"),
    ("tha", "th"),
    ("tuk", "tk"),
    ("tur", "tr"),
    ("ukr", "uk"),
    ("urd", "ur"),
    ("uzb", "uz"),
    ("vie", "vi"),
    ("yid", "yi"),
    ("zul", "zu"),
];

/// The primary language subtag of a tag, lower-cased, as a two-letter code when one exists
/// (`"en-GB"` → `"en"`, `"fin"` → `"fi"`). `None` for an empty or non-alphabetic tag.
pub fn primary_language(tag: &str) -> Option<String> {
    let primary = tag.split(['-', '_']).next()?.trim().to_ascii_lowercase();
    if primary.is_empty() || !primary.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    Some(ISO_639_3.iter().find(|(three, _)| *three == primary).map_or(primary, |(_, two)| (*two).to_owned()))
}

/// The Snowball algorithm for a language tag, if `rust-stemmers` has one.
pub(crate) fn stemmer_algorithm(tag: &str) -> Option<Algorithm> {
    let code = primary_language(tag)?;
    STEMMERS.iter().find(|(c, _)| *c == code).map(|(_, a)| *a)
}

/// Whether a Snowball stemmer exists for this language tag.
pub fn has_stemmer(tag: &str) -> bool {
    stemmer_algorithm(tag).is_some()
}

/// The two-letter codes of the languages that have a stemmer (`no`, `nb` and `nn` all select Norwegian).
pub fn stemmer_languages() -> impl Iterator<Item = &'static str> {
    STEMMERS.iter().map(|(c, _)| *c)
}

/// A detected language.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectedLanguage {
    /// ISO 639-1 code when the language has one, else ISO 639-3.
    pub code: String,
    /// The detector's confidence, 0 to 1.
    pub confidence: f64,
}

/// The language of a text by character trigram profiles (the `whatlang` crate, 69 languages), or `None` when the
/// text has too little to go on. Short texts are unreliable; callers that decide for a corpus should pool many
/// documents (see [`LanguageVote`]).
pub fn detect_language(text: &str) -> Option<DetectedLanguage> {
    whatlang::detect(text).and_then(detected)
}

/// A detection with its language's code as [`primary_language`] gives it.
fn detected(info: whatlang::Info) -> Option<DetectedLanguage> {
    let code = primary_language(info.lang().code())?;
    Some(DetectedLanguage { code, confidence: info.confidence() })
}

/// The language of a text among candidate languages (tags such as `fi`, `sv`, `eng`): `None` when a candidate is
/// not one the detector knows; `Some(None)` when the text has too little to go on; else the detected candidate
/// (its code as [`detect_language`] gives it) and the detector's confidence.
pub fn detect_language_among(text: &str, candidates: &[&str]) -> Option<Option<DetectedLanguage>> {
    let mut allow = Vec::with_capacity(candidates.len());
    for c in candidates {
        let two = primary_language(c)?;
        let three = ISO_639_3.iter().find(|(_, t)| *t == two).map_or(two.as_str(), |(three, _)| three);
        allow.push(whatlang::Lang::from_code(three)?);
    }
    let detector = whatlang::Detector::with_allowlist(allow);
    Some(detector.detect(text).and_then(detected))
}

/// Pools per-document detections into one language for a corpus: each document votes with its confidence.
#[derive(Debug, Clone, Default)]
pub struct LanguageVote {
    votes: Vec<(String, f64)>,
    documents: usize,
}

impl LanguageVote {
    /// Detect the language of one document (its first 2,000 bytes) and count its vote.
    pub fn add(&mut self, text: &str) {
        let mut end = text.len().min(2000);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        self.documents += 1;
        if let Some(d) = detect_language(&text[..end]) {
            match self.votes.iter_mut().find(|(c, _)| *c == d.code) {
                Some((_, w)) => *w += d.confidence,
                None => self.votes.push((d.code, d.confidence)),
            }
        }
    }

    /// The winning language when it holds more than half of all documents' weight (every document counts,
    /// including those the detector could not place), with its share of that weight.
    pub fn winner(&self) -> Option<(String, f64)> {
        let (code, w) = self.votes.iter().max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.cmp(&a.0)))?;
        let share = w / self.documents.max(1) as f64;
        (share > 0.5).then(|| (code.clone(), share))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags() {
        for (tag, want) in [("fi", Some("fi")), ("en-GB", Some("en")), ("pt_BR", Some("pt")), ("FIN", Some("fi"))] {
            assert_eq!(primary_language(tag).as_deref(), want, "{tag}");
        }
        assert_eq!(primary_language(""), None);
        assert_eq!(primary_language("1x"), None);
        assert!(has_stemmer("sv-FI") && has_stemmer("nb") && !has_stemmer("zh") && !has_stemmer("et"));
    }

    #[test]
    fn detection_among_candidates() {
        let fi = "Kirjastosta löytyy paljon aineistoa kysymästäsi aiheesta, ja voit myös varata kirjoja verkossa.";
        let got = detect_language_among(fi, &["fi", "sv", "en"]).unwrap().unwrap();
        assert_eq!(got.code, "fi");
        assert!(got.confidence > 0.0 && got.confidence <= 1.0);
        // Only the candidates are considered: a Finnish text among Swedish and English is one of those two.
        let forced = detect_language_among(fi, &["sv", "en"]).unwrap().unwrap();
        assert!(forced.code == "sv" || forced.code == "en", "{forced:?}");
        assert_eq!(detect_language_among(fi, &["xx"]), None, "unknown candidate");
        assert_eq!(detect_language_among("", &["fi"]), Some(None), "nothing to go on");
    }
}
