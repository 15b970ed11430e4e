//! The file's text: the `Y.Text` named `content` in its document, and the one way the
//! server edits it (a minimal replace, so live editors see a merge, not a clobber).

use yrs::updates::decoder::Decode;
use yrs::{Doc, GetString, ReadTxn, StateVector, Text, Transact, Update};

/// The name of the shared text every client and the REST API read and write.
pub const TEXT: &str = "content";

/// A document's text.
pub fn text_of(doc: &Doc) -> String {
    let text = doc.get_or_insert_text(TEXT);
    let txn = doc.transact();
    text.get_string(&txn)
}

/// The whole document as one Yjs v1 update.
pub fn state_of(doc: &Doc) -> Vec<u8> {
    doc.transact()
        .encode_state_as_update_v1(&StateVector::default())
}

/// Applies a stored Yjs v1 update to `doc`; false (and nothing applied) if it is not one.
pub fn apply(doc: &Doc, update: &[u8]) -> bool {
    let Ok(update) = Update::decode_v1(update) else {
        return false;
    };
    doc.transact_mut().apply_update(update).is_ok()
}

/// Rebuilds a document from stored updates (a snapshot first, then the updates after it).
/// An update that does not apply is skipped and counted, never fatal: one bad row must not
/// make the whole file unreadable.
pub fn rebuild<'a>(updates: impl IntoIterator<Item = &'a [u8]>) -> (Doc, usize) {
    let doc = Doc::new();
    let skipped = updates
        .into_iter()
        .filter(|update| !apply(&doc, update))
        .count();
    (doc, skipped)
}

/// The first update of a new document holding `content`; `None` for empty content.
pub fn initial_update(content: &str) -> Option<Vec<u8>> {
    replace(&Doc::new(), content)
}

/// Edits the text of `doc` into `wanted` in one transaction, touching only the span that
/// differs (common prefix and suffix are kept, so concurrent edits and cursors elsewhere
/// survive). Returns the update to persist and relay, or `None` if nothing changed.
pub fn replace(doc: &Doc, wanted: &str) -> Option<Vec<u8>> {
    let text = doc.get_or_insert_text(TEXT);
    let mut txn = doc.transact_mut();
    let current = text.get_string(&txn);
    if current == wanted {
        return None;
    }
    let (start, old_end, new_end) = differing_span(&current, wanted);
    // The document counts in bytes (yrs' default offset kind), as `differing_span` does.
    let removed = u32::try_from(old_end - start).ok()?;
    let at = u32::try_from(start).ok()?;
    if removed > 0 {
        text.remove_range(&mut txn, at, removed);
    }
    if new_end > start {
        text.insert(&mut txn, at, &wanted[start..new_end]);
    }
    Some(txn.encode_update_v1())
}

/// The byte span `old[start..old_end]` that must become `new[start..new_end]`, on char
/// boundaries.
fn differing_span(old: &str, new: &str) -> (usize, usize, usize) {
    let prefix: usize = old
        .chars()
        .zip(new.chars())
        .take_while(|(a, b)| a == b)
        .map(|(a, _)| a.len_utf8())
        .sum();
    let suffix: usize = old[prefix..]
        .chars()
        .rev()
        .zip(new[prefix..].chars().rev())
        .take_while(|(a, b)| a == b)
        .map(|(a, _)| a.len_utf8())
        .sum();
    (prefix, old.len() - suffix, new.len() - suffix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc_with(content: &str) -> Doc {
        let doc = Doc::new();
        replace(&doc, content);
        doc
    }

    #[test]
    fn a_replace_changes_only_the_span_that_differs() {
        for (old, new) in [
            ("hello world", "hello brave world"),
            ("hello world", "hello"),
            ("", "fresh"),
            ("gone", ""),
            ("naïve café", "naïve cafés ☕"),
            ("aaa", "aaaa"),
            ("日本語", "日本人語"),
        ] {
            let doc = doc_with(old);
            assert!(replace(&doc, new).is_some(), "{old:?} -> {new:?}");
            assert_eq!(text_of(&doc), new);
        }
        assert_eq!(replace(&doc_with("same"), "same"), None);
    }

    #[test]
    fn a_replace_merges_with_a_concurrent_edit_instead_of_clobbering_it() {
        let base = doc_with("The quick fox");
        let theirs = Doc::new();
        apply(&theirs, &state_of(&base));
        // Someone inserts at the end while the server replaces a word at the start.
        let their_text = theirs.get_or_insert_text(TEXT);
        let their_edit = {
            let mut txn = theirs.transact_mut();
            their_text.insert(&mut txn, 13, " jumps");
            txn.encode_update_v1()
        };
        let ours = replace(&base, "A quick fox").unwrap();
        apply(&base, &their_edit);
        apply(&theirs, &ours);
        assert_eq!(text_of(&base), "A quick fox jumps");
        assert_eq!(text_of(&theirs), text_of(&base));
    }

    #[test]
    fn a_document_rebuilds_from_its_updates_and_skips_garbage() {
        let doc = Doc::new();
        let first = replace(&doc, "one").unwrap();
        let second = replace(&doc, "one two").unwrap();
        let updates: [&[u8]; 3] = [&first, b"not an update", &second];
        let (rebuilt, skipped) = rebuild(updates);
        assert_eq!(text_of(&rebuilt), "one two");
        assert_eq!(skipped, 1);
    }
}
