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
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Words remembered per model and thread before the memo is emptied (a bound on memory, not a cache policy:
/// a corpus's distinct words are far fewer than its running words).
const MAX_WORDS: usize = 1 << 17;
/// Models whose memos a thread keeps (a server may tag with several models on the same threads).
const MAX_MODELS: usize = 4;

/// The identity of a model's word memos. Never equal for two models that could map a word differently: every
/// new value (and every clone) is fresh. It also carries, built once per identity, the lexical index's id of
/// each vectorizer column's term, so that filling the memo with a new word that is a feature costs one
/// dictionary look-up instead of two.
#[derive(Debug)]
pub(crate) struct MemoId(u64, OnceLock<Vec<u32>>);

impl MemoId {
    pub(crate) fn fresh() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        MemoId(NEXT.fetch_add(1, Ordering::Relaxed), OnceLock::new())
    }

    /// For each column `0..n_columns`, `lexical_id(column)` (`u32::MAX` for none), computed on first use. The
    /// caller gives the same function for an identity every time: a model renews its identity when its
    /// vectorizer or lexical index changes.
    pub(crate) fn lexical_of_columns(&self, n_columns: usize, lexical_id: impl Fn(u32) -> Option<u32>) -> &[u32] {
        self.1.get_or_init(|| (0..n_columns as u32).map(|c| lexical_id(c).unwrap_or(u32::MAX)).collect())
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

/// Bytes of a word kept inside its slot; longer words (about 1% of running Finnish words) go to a map.
const INLINE: usize = 20;

/// One slot of the memo's table: a word of at most [`INLINE`] bytes and what it becomes, 32 bytes, so that a
/// lookup reads one slot (no pointer to follow to the key).
#[derive(Debug, Clone, Copy)]
struct Slot {
    key: [u8; INLINE],
    /// The word's length; 0 for an empty slot (no word is empty: empty words take the map).
    len: u8,
    kept: bool,
    column: u32,
    lexical: u32,
}

impl Slot {
    const EMPTY: Slot = Slot { key: [0; INLINE], len: 0, kept: false, column: 0, lexical: 0 };

    fn word(&self) -> Word {
        Word { kept: self.kept, column: self.column, lexical: self.lexical }
    }

    /// Whether the slot holds the word whose padded key and length are given (a fixed-size comparison, no
    /// call: a padded key with its length is the word).
    fn holds(&self, key: &[u8; INLINE], len: u8) -> bool {
        self.len == len && self.key == *key
    }
}

/// A word of 1 to [`INLINE`] bytes as its slot stores it: zero-padded, with its length.
fn padded(word: &[u8]) -> ([u8; INLINE], u8) {
    let mut key = [0u8; INLINE];
    key[..word.len()].copy_from_slice(word);
    // Callers keep `word.len() <= INLINE < 256`.
    (key, word.len() as u8)
}

/// One model's remembered words: an open-addressing table (linear probing, at most 7/8 full) of slots with the
/// words inline, and a map for the long ones.
#[derive(Debug, Default)]
pub(crate) struct WordMemo {
    slots: Vec<Slot>,
    /// Words in `slots`.
    inline: usize,
    long: FxHashMap<Box<str>, Word>,
}

/// The table's first size, in slots.
const FIRST_SLOTS: usize = 1 << 12;

/// The slot where a search for a padded key starts: the key read as two `u64` and a `u32` (with the length),
/// mixed as FxHash mixes words, then Fibonacci hashing (the product's high bits depend on every bit).
fn home(key: &[u8; INLINE], len: u8, mask: usize) -> usize {
    const K: u64 = 0xf135_7aea_2e62_a9c5;
    let word = |at: usize| u64::from_le_bytes(key[at..at + 8].try_into().unwrap_or_default());
    let tail = u64::from(u32::from_le_bytes(key[16..20].try_into().unwrap_or_default())) | u64::from(len) << 32;
    let mut h = word(0).wrapping_mul(K);
    h = (h.rotate_left(26) ^ word(8)).wrapping_mul(K);
    h = (h.rotate_left(26) ^ tail).wrapping_mul(K);
    (h.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & mask
}

impl WordMemo {
    /// The outcome of `word`, computed by `make` the first time.
    #[inline]
    pub fn get(&mut self, word: &str, make: impl FnOnce(&str) -> Word) -> Word {
        let bytes = word.as_bytes();
        if bytes.is_empty() || bytes.len() > INLINE {
            return self.get_long(word, make);
        }
        if self.slots.is_empty() {
            self.slots = vec![Slot::EMPTY; FIRST_SLOTS];
        }
        let mask = self.slots.len() - 1;
        let (key, len) = padded(bytes);
        let mut i = home(&key, len, mask);
        loop {
            let slot = &self.slots[i];
            if slot.len == 0 {
                break;
            }
            if slot.holds(&key, len) {
                return slot.word();
            }
            i = (i + 1) & mask;
        }
        let w = make(word);
        if self.len() >= MAX_WORDS {
            self.clear();
            i = home(&key, len, mask);
        }
        self.slots[i] = Slot { key, len, kept: w.kept, column: w.column, lexical: w.lexical };
        self.inline += 1;
        // Fuller than half (where linear probing is usually kept): a look-up's time is its cache miss on the
        // slot, and a smaller table misses less. Measured, `kirjastonhoitaja`'s training documents, one thread,
        // this and a half-full table run at the same time on the two cores: 1.06 and 1.09 (medians of 12 and 14
        // pairs' ratios).
        if self.inline * 8 > self.slots.len() * 7 {
            self.grow();
        }
        w
    }

    fn get_long(&mut self, word: &str, make: impl FnOnce(&str) -> Word) -> Word {
        if let Some(&w) = self.long.get(word) {
            return w;
        }
        let w = make(word);
        if self.len() >= MAX_WORDS {
            self.clear();
        }
        self.long.insert(Box::from(word), w);
        w
    }

    /// Words remembered.
    pub fn len(&self) -> usize {
        self.inline + self.long.len()
    }

    fn clear(&mut self) {
        self.slots.fill(Slot::EMPTY);
        self.inline = 0;
        self.long.clear();
    }

    /// Double the table, placing every word again.
    fn grow(&mut self) {
        let size = self.slots.len() * 2;
        let old = std::mem::replace(&mut self.slots, vec![Slot::EMPTY; size]);
        let mask = self.slots.len() - 1;
        for slot in old.into_iter().filter(|s| s.len > 0) {
            let mut i = home(&slot.key, slot.len, mask);
            while self.slots[i].len != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = slot;
        }
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
    fn the_table_grows_keeps_long_words_apart_and_empties_at_its_bound() {
        let word_of = |i: usize| -> String {
            // Short words, words at the inline bound and past it (multi-byte characters too).
            match i % 4 {
                0 => format!("w{i}"),
                1 => format!("{i:0>width$}", width = INLINE),
                2 => format!("pitkä-sana-joka-ei-mahdu-{i}"),
                _ => format!("ä{i}"),
            }
        };
        let outcome = |i: usize| Word { kept: !i.is_multiple_of(3), column: i as u32, lexical: (i / 2) as u32 };
        let mut memo = WordMemo::default();
        let n = 5 * FIRST_SLOTS;
        for i in 0..n {
            assert_eq!(memo.get(&word_of(i), |_| outcome(i)), outcome(i));
        }
        assert_eq!(memo.len(), n);
        assert!(memo.slots.len() * 7 >= memo.inline * 8, "at most 7/8 full");
        // Every word is remembered after the table grew: `make` is not called again.
        for i in 0..n {
            assert_eq!(memo.get(&word_of(i), |_| panic!("{i} forgotten")), outcome(i));
        }
        // A word that is a prefix of another, and the empty word, are words of their own.
        assert_eq!(memo.get("w1", |_| Word::DROPPED), Word::DROPPED);
        assert_eq!(memo.get("", |_| Word::DROPPED), Word::DROPPED);
        // At the bound the memo starts again: the next new word is the only one.
        let mut memo = WordMemo::default();
        for i in 0..MAX_WORDS {
            memo.get(&word_of(i), |_| outcome(i));
        }
        assert_eq!(memo.len(), MAX_WORDS);
        assert_eq!(memo.get("uusi", |_| Word::DROPPED), Word::DROPPED);
        assert_eq!(memo.len(), 1);
        assert_eq!(memo.get(&word_of(0), |_| Word::DROPPED), Word::DROPPED);
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
