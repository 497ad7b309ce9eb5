//! The model file: one self-checking binary file.
//!
//! ```text
//! offset  size  content
//! 0       8     magic "TAGGERMD"
//! 8       4     format version (u32, little-endian)
//! 12      8     payload length in bytes (u64, little-endian)
//! 20      4     CRC-32 of the payload (u32, little-endian)
//! 24      …     payload: postcard encoding of `Payload`
//! ```
//! The payload keeps the human-meaningful parts (labels, tokenizer and feature configuration, metadata) as one
//! JSON string, and the bulk (vocabulary, IDF, weights) in compact binary. Files are written to a temporary file
//! in the same directory, synced, then renamed over the target, so a reader never sees a half-written model.

use crate::ModelError;
use crate::concepts::ModelConcepts;
use crate::ensemble::Ensemble;
use crate::ovr::OvrModel;
use crate::tagger::{TaggerModel, TrainingMeta};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use tagger_features::{Vectorizer, VectorizerConfig, VectorizerState};
use tagger_tokenize::TokenizerConfig;
use tagger_vocab::Vocabulary;

const MAGIC: &[u8; 8] = b"TAGGERMD";
/// The model format this build writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 5;
/// The oldest format this tagger still reads (3: without a vocabulary; 4: without an ensemble).
const OLDEST_READABLE: u32 = 3;
const HEADER_LEN: usize = 24;

#[derive(Serialize, Deserialize)]
struct Header {
    labels: Vec<String>,
    tokenizer: TokenizerConfig,
    features: VectorizerConfig,
    n_docs: usize,
    meta: TrainingMeta,
}

#[derive(Serialize, Deserialize)]
struct Payload {
    header_json: String,
    terms: Vec<String>,
    idf: Vec<f32>,
    classifier: OvrModel,
    /// Since version 4: the vocabulary the labels come from, and the default answer language.
    concepts: Option<(Vocabulary, String)>,
    /// Since version 5: the lexical backend and its fusion with the linear model.
    ensemble: Option<Ensemble>,
}

/// Version 4: no ensemble.
#[derive(Deserialize)]
struct PayloadV4 {
    header_json: String,
    terms: Vec<String>,
    idf: Vec<f32>,
    classifier: OvrModel,
    concepts: Option<(Vocabulary, String)>,
}

/// Version 3: no vocabulary.
#[derive(Deserialize)]
struct PayloadV3 {
    header_json: String,
    terms: Vec<String>,
    idf: Vec<f32>,
    classifier: OvrModel,
}

impl TaggerModel {
    /// Encode the model as the bytes of a model file.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ModelError> {
        let st = self.vectorizer.state();
        let header = Header {
            labels: self.labels.clone(),
            tokenizer: st.tokenizer.clone(),
            features: st.config.clone(),
            n_docs: st.n_docs,
            meta: self.meta.clone(),
        };
        let header_json = serde_json::to_string(&header)
            .map_err(|e| ModelError::InvalidData(format!("cannot encode model header: {e}")))?;
        let payload = Payload {
            header_json,
            terms: st.terms.clone(),
            idf: st.idf.clone(),
            classifier: self.classifier.clone(),
            concepts: self.concepts.as_ref().map(|c| (c.vocab.clone(), c.language.clone())),
            ensemble: self.ensemble.clone(),
        };
        let body =
            postcard::to_stdvec(&payload).map_err(|e| ModelError::InvalidData(format!("cannot encode model: {e}")))?;
        Ok(frame(MAGIC, FORMAT_VERSION, &body))
    }

    /// Decode and verify a model file's bytes; `path` only names the file in errors.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<TaggerModel, ModelError> {
        let bad = |m: String| ModelError::BadArtifact { path: path.to_owned(), message: m };
        let (version, body) = unframe(bytes, MAGIC, "model", path)?;
        if version > FORMAT_VERSION {
            return Err(bad(format!(
                "model format version {version} is newer than this tagger supports ({FORMAT_VERSION}); upgrade tagger"
            )));
        }
        if version == 0 {
            return Err(bad("model format version 0 is invalid".into()));
        }
        if version < OLDEST_READABLE {
            return Err(bad(format!(
                "model format version {version} is older than this tagger reads ({OLDEST_READABLE}); retrain the model \
                 with `tagger train`"
            )));
        }
        let undecodable = |e: String| bad(format!("undecodable payload: {e}"));
        // The whole payload or nothing: a payload of a newer layout read as an older one (a damaged version
        // field: the checksum covers only the payload) would otherwise load with its later parts dropped.
        fn whole<'a, T: serde::Deserialize<'a>>(body: &'a [u8], version: u32) -> Result<T, String> {
            let (value, rest) = postcard::take_from_bytes(body).map_err(|e| e.to_string())?;
            if rest.is_empty() {
                Ok(value)
            } else {
                Err(format!("{} bytes left over after a version {version} payload", rest.len()))
            }
        }
        let payload: Payload = if version == 3 {
            let p: PayloadV3 = whole(body, version).map_err(undecodable)?;
            Payload {
                header_json: p.header_json,
                terms: p.terms,
                idf: p.idf,
                classifier: p.classifier,
                concepts: None,
                ensemble: None,
            }
        } else if version == 4 {
            let p: PayloadV4 = whole(body, version).map_err(undecodable)?;
            Payload {
                header_json: p.header_json,
                terms: p.terms,
                idf: p.idf,
                classifier: p.classifier,
                concepts: p.concepts,
                ensemble: None,
            }
        } else {
            whole(body, version).map_err(undecodable)?
        };
        let header: Header =
            serde_json::from_str(&payload.header_json).map_err(|e| bad(format!("undecodable model header: {e}")))?;
        let vectorizer = Vectorizer::from_state(VectorizerState {
            tokenizer: header.tokenizer,
            config: header.features,
            terms: payload.terms,
            idf: payload.idf,
            n_docs: header.n_docs,
        })
        .map_err(|e| bad(e.to_string()))?;
        payload.classifier.validate().map_err(|m| bad(format!("inconsistent classifier: {m}")))?;
        if payload.classifier.n_features() != vectorizer.n_features()
            || payload.classifier.n_labels() != header.labels.len()
        {
            return Err(bad("classifier shape disagrees with vocabulary or labels".into()));
        }
        let concepts = payload
            .concepts
            .map(|(vocab, language)| ModelConcepts::new(vocab, language, &header.labels))
            .transpose()
            .map_err(|e| bad(format!("inconsistent vocabulary: {e}")))?;
        if let Some(e) = &payload.ensemble {
            e.validate().map_err(&bad)?;
            let Some(c) = &concepts else {
                return Err(bad("an ensemble without a vocabulary".into()));
            };
            if e.lexical.n_concepts() != c.vocab.len() {
                return Err(bad("the lexical backend and the vocabulary disagree on the concepts".into()));
            }
        }
        Ok(TaggerModel {
            labels: header.labels,
            vectorizer,
            classifier: payload.classifier,
            concepts,
            ensemble: payload.ensemble,
            meta: header.meta,
            memo: crate::words::MemoId::fresh(),
        })
    }

    /// Write the model file atomically (temporary file in the same directory, fsync, rename).
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        let bytes = self.to_bytes()?;
        write_atomic(path, &bytes)
    }

    /// Read and verify a model file.
    pub fn load(path: &Path) -> Result<TaggerModel, ModelError> {
        let bytes = std::fs::read(path).map_err(|e| ModelError::Io { path: path.to_owned(), error: e })?;
        TaggerModel::from_bytes(&bytes, path)
    }
}

/// A self-checking file: `magic`, format version, payload length, CRC-32 of the payload, payload.
pub(crate) fn frame(magic: &[u8; 8], version: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(magic);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    out.extend_from_slice(body);
    out
}

/// The format version and verified payload of a file written by [`frame`]; `what` names the kind of file and
/// `path` the file in errors.
pub(crate) fn unframe<'a>(
    bytes: &'a [u8],
    magic: &[u8; 8],
    what: &str,
    path: &Path,
) -> Result<(u32, &'a [u8]), ModelError> {
    let bad = |m: String| ModelError::BadArtifact { path: path.to_owned(), message: m };
    if bytes.len() < HEADER_LEN || &bytes[..8] != magic {
        return Err(bad(format!("not a tagger {what} file (bad magic number)")));
    }
    let word = |a: usize, b: usize| -> &[u8] { &bytes[a..b] };
    let version = u32::from_le_bytes(word(8, 12).try_into().map_err(|_| bad("short header".into()))?);
    let len = u64::from_le_bytes(word(12, 20).try_into().map_err(|_| bad("short header".into()))?);
    let crc = u32::from_le_bytes(word(20, 24).try_into().map_err(|_| bad("short header".into()))?);
    let body = &bytes[HEADER_LEN..];
    if (body.len() as u64) < len {
        return Err(bad(format!("truncated: header promises {len} payload bytes, file has {}", body.len())));
    }
    if body.len() as u64 > len {
        return Err(bad(format!("{} unexpected bytes after the payload", body.len() as u64 - len)));
    }
    if crc32fast::hash(body) != crc {
        return Err(bad("corrupted: payload checksum mismatch".into()));
    }
    Ok((version, body))
}

/// Write `bytes` to `path` so that readers see either the old file or the complete new one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ModelError> {
    let io = |p: &Path, e| ModelError::Io { path: p.to_owned(), error: e };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map_or_else(|| "model".into(), |n| n.to_string_lossy().into_owned());
    let tmp: PathBuf = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp).map_err(|e| io(&tmp, e))?;
        f.write_all(bytes).map_err(|e| io(&tmp, e))?;
        f.sync_all().map_err(|e| io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| io(path, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
