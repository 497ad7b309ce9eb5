//! Loaded models and hot reload: a snapshot (`Arc`) swapped atomically; requests hold the snapshot they
//! started with, so in-flight work finishes on the old model while new requests see the new one.

use crate::config::ModelSource;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use tagger_model::TaggerModel;

/// One loaded model version.
#[derive(Debug)]
pub struct LoadedModel {
    /// Model name.
    pub name: String,
    /// Version (the version directory, or derived from the file's modification time for single files).
    pub version: String,
    /// Where it was loaded from.
    pub path: PathBuf,
    /// The model.
    pub model: TaggerModel,
}

/// The set of models in service at one moment.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Models by name.
    pub models: BTreeMap<String, Arc<LoadedModel>>,
    /// The model used when a request names none.
    pub default: Option<String>,
}

impl Snapshot {
    /// Resolve a request's model name (empty = default).
    pub fn get(&self, name: &str) -> Option<&Arc<LoadedModel>> {
        if name.is_empty() { self.default.as_ref().and_then(|d| self.models.get(d)) } else { self.models.get(name) }
    }
}

/// What a reload did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReloadReport {
    /// `name@version` loaded (new or changed).
    pub loaded: Vec<String>,
    /// `path: error` for versions that failed to load (the previous version, if any, stays in service).
    pub failed: Vec<String>,
}

/// The registry: the current snapshot behind a lock that is only held to clone or replace an `Arc`.
#[derive(Debug)]
pub struct Registry {
    source: ModelSource,
    default_name: Option<String>,
    current: RwLock<Arc<Snapshot>>,
    /// Serialises reloads (a SIGHUP during a poll waits for it).
    reloading: tokio::sync::Mutex<()>,
}

/// A candidate version found on disk.
#[derive(Debug, Clone)]
struct Candidate {
    name: String,
    version: String,
    path: PathBuf,
}

fn version_key(v: &str) -> (u8, u64, String) {
    // Numeric versions compare as numbers and rank above non-numeric ones.
    match v.parse::<u64>() {
        Ok(n) => (1, n, String::new()),
        Err(_) => (0, 0, v.to_owned()),
    }
}

fn scan(source: &ModelSource) -> Result<Vec<Candidate>, String> {
    match source {
        ModelSource::File(path) => {
            let name = path.file_stem().map_or_else(|| "default".to_owned(), |s| s.to_string_lossy().into_owned());
            let modified =
                std::fs::metadata(path).and_then(|m| m.modified()).map_err(|e| format!("{}: {e}", path.display()))?;
            let version = modified.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()).to_string();
            Ok(vec![Candidate { name, version, path: path.clone() }])
        }
        ModelSource::Repository(dir) => {
            let mut out = Vec::new();
            let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let mut names: Vec<PathBuf> =
                entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect();
            names.sort();
            for model_dir in names {
                let name = model_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                if name.starts_with('.') {
                    continue;
                }
                let Ok(versions) = std::fs::read_dir(&model_dir) else { continue };
                let best = versions
                    .filter_map(|e| e.ok())
                    .filter(|e| e.path().join("model.tgm").is_file())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|v| !v.starts_with('.'))
                    .max_by_key(|v| version_key(v));
                if let Some(version) = best {
                    let path = model_dir.join(&version).join("model.tgm");
                    out.push(Candidate { name, version, path });
                }
            }
            Ok(out)
        }
    }
}

fn load(c: &Candidate) -> Result<LoadedModel, String> {
    let model = TaggerModel::load(&c.path).map_err(|e| e.to_string())?;
    model.prepare();
    Ok(LoadedModel { name: c.name.clone(), version: c.version.clone(), path: c.path.clone(), model })
}

impl Registry {
    /// An empty registry for a source; call [`Registry::reload`] to load.
    pub fn new(source: ModelSource, default_name: Option<String>) -> Self {
        Self {
            source,
            default_name,
            current: RwLock::new(Arc::new(Snapshot::default())),
            reloading: tokio::sync::Mutex::new(()),
        }
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.current.read() {
            Ok(g) => Arc::clone(&g),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Look for new or changed versions and load them on a blocking thread (never on the request path), then
    /// swap in a new snapshot. A version that fails to load leaves the previous one serving.
    pub async fn reload(self: &Arc<Self>) -> ReloadReport {
        let _guard = self.reloading.lock().await;
        let this = Arc::clone(self);
        let joined = tokio::task::spawn_blocking(move || this.reload_blocking()).await;
        joined.unwrap_or_else(|e| ReloadReport { loaded: vec![], failed: vec![format!("reload task failed: {e}")] })
    }

    fn reload_blocking(&self) -> ReloadReport {
        let mut report = ReloadReport::default();
        let old = self.snapshot();
        let candidates = match scan(&self.source) {
            Ok(c) => c,
            Err(e) => {
                report.failed.push(e);
                return report;
            }
        };
        let mut models = old.models.clone();
        for c in candidates {
            let unchanged = old.models.get(&c.name).is_some_and(|m| m.version == c.version && m.path == c.path);
            if unchanged {
                continue;
            }
            match load(&c) {
                Ok(m) => {
                    report.loaded.push(format!("{}@{}", c.name, c.version));
                    models.insert(c.name.clone(), Arc::new(m));
                }
                Err(e) => report.failed.push(e),
            }
        }
        if report.loaded.is_empty() {
            return report;
        }
        let default = match &self.default_name {
            Some(d) if models.contains_key(d) => Some(d.clone()),
            Some(_) | None => {
                old.default.clone().filter(|d| models.contains_key(d)).or_else(|| models.keys().next().cloned())
            }
        };
        let snap = Arc::new(Snapshot { models, default });
        match self.current.write() {
            Ok(mut g) => *g = snap,
            Err(poisoned) => *poisoned.into_inner() = snap,
        }
        report
    }

    /// The configured source.
    pub fn source(&self) -> &ModelSource {
        &self.source
    }
}

/// A human description of a model source, for logs.
pub fn describe(source: &ModelSource) -> String {
    match source {
        ModelSource::File(p) => format!("model file {}", p.display()),
        ModelSource::Repository(d) => format!("model repository {}", Path::new(d).display()),
    }
}
