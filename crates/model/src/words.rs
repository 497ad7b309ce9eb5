//! What the tagging pipeline makes of each distinct word, remembered per thread.
//!
//! A text's words repeat (within it and across the texts a server sees), and each word costs the same every
//! time: the tokenizer's filters (a Snowball stem), the vectorizer's column and the lexical backend's token id,
//! each a lookup of its own. A [`WordMemo`] maps a word, as normalisation and segmentation leave it, to all
//! three outcomes at once, so a known word costs one lookup. The outcomes depend only on the model's vectorizer
//! and lexical index, which never change once built: each model carries a [`MemoId`] (fresh for every model
//! built, loaded or cloned, and renewed when a model's backends change), and a thread keeps the memos of the
//! last few models it tagged with, keyed by that id.

use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

/// Words remembered per model and thread before the memo is emptied (a bound on memory, not a cache policy:
/// a corpus's distinct words are far fewer than its running words).
const MAX_WORDS: usize = 1 << 17;
/// Models whose memos a thread keeps (a server may tag with several models on the same threads).
const MAX_MODELS: usize = 4;

/// The identity of a model's word memos. Never equal for two models that could map a word differently: every
/// new value (and every clone) is fresh.
#[derive(Debug)]
pub(crate) struct MemoId(u64);

impl MemoId {
    pub(crate) fn fresh() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        MemoId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

impl Clone for MemoId {
    fn clone(&self) -> Self {
        Self::fresh()
    }
}

/// What one word becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Word {
    /// Whether the tokenizer's filters keep it as a token.
    pub kept: bool,
    /// The vectorizer's column of the token (`u32::MAX`: not a feature).
    pub column: u32,
    /// The lexical index's id of the token (`u32::MAX`: no label has it).
    pub lexical: u32,
}

impl Word {
    /// A word the filters drop.
    pub const DROPPED: Word = Word { kept: false, column: u32::MAX, lexical: u32::MAX };

    pub fn column(self) -> Option<u32> {
        (self.column != u32::MAX).then_some(self.column)
    }

    pub fn lexical(self) -> Option<u32> {
        (self.lexical != u32::MAX).then_some(self.lexical)
    }
}

/// One model's remembered words.
#[derive(Debug, Default)]
pub(crate) struct WordMemo(FxHashMap<Box<str>, Word>);

impl WordMemo {
    /// The outcome of `word`, computed by `make` the first time.
    #[inline]
    pub fn get(&mut self, word: &str, make: impl FnOnce(&str) -> Word) -> Word {
        if let Some(&w) = self.0.get(word) {
            return w;
        }
        let w = make(word);
        if self.0.len() >= MAX_WORDS {
            self.0.clear();
        }
        self.0.insert(Box::from(word), w);
        w
    }
}

thread_local! {
    static MEMOS: RefCell<Vec<(u64, WordMemo)>> = const { RefCell::new(Vec::new()) };
}

/// Run `f` with this thread's memo for the model `id`. The memo is taken out of the thread's list while `f`
/// runs, so a nested call (none today) gets an empty one rather than a conflict.
pub(crate) fn with_memo<T>(id: &MemoId, f: impl FnOnce(&mut WordMemo) -> T) -> T {
    let mut memo = MEMOS.with(|m| {
        let mut m = m.borrow_mut();
        match m.iter().position(|(k, _)| *k == id.0) {
            Some(i) => m.swap_remove(i).1,
            None => WordMemo::default(),
        }
    });
    let out = f(&mut memo);
    MEMOS.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= MAX_MODELS {
            m.remove(0);
        }
        m.push((id.0, memo));
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_memo_computes_a_word_once_and_models_do_not_share_memos() {
        let (a, b) = (MemoId::fresh(), MemoId::fresh());
        let word = Word { kept: true, column: 7, lexical: u32::MAX };
        let mut calls = 0;
        for _ in 0..3 {
            let got = with_memo(&a, |m| {
                m.get("sana", |_| {
                    calls += 1;
                    word
                })
            });
            assert_eq!(got, word);
        }
        assert_eq!(calls, 1);
        // Another model (or a clone of this one) starts from nothing.
        let other = with_memo(&b, |m| m.get("sana", |_| Word::DROPPED));
        assert_eq!(other, Word::DROPPED);
        let cloned = with_memo(&a.clone(), |m| m.get("sana", |_| Word::DROPPED));
        assert_eq!(cloned, Word::DROPPED);
        assert_eq!(with_memo(&a, |m| m.get("sana", |_| Word::DROPPED)), word);
    }

    #[test]
    fn a_thread_keeps_the_memos_of_its_last_models_only() {
        let ids: Vec<MemoId> = (0..MAX_MODELS + 1).map(|_| MemoId::fresh()).collect();
        let word = Word { kept: true, column: 1, lexical: 2 };
        for id in &ids {
            with_memo(id, |m| m.get("x", |_| word));
        }
        let len = MEMOS.with(|m| m.borrow().len());
        assert_eq!(len, MAX_MODELS);
        // The oldest was dropped: it computes again.
        assert_eq!(with_memo(&ids[0], |m| m.get("x", |_| Word::DROPPED)), Word::DROPPED);
        assert_eq!(with_memo(&ids[MAX_MODELS], |m| m.get("x", |_| Word::DROPPED)), word);
    }
}
