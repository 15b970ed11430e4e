//! Splits a large Yjs update into several smaller ones, so a client receiving a big
//! document gets a message at least every chunk and its liveness timer (30 s without a
//! message in y-websocket) never fires in the middle of the transfer.
//!
//! yrs keeps block splitting private, so this walks the v1 encoding itself: per client, a
//! run of structs starting at a clock, then the delete set. Each struct is decoded with
//! yrs's own decoder only to find where it ends and how many clock ticks it spans; its
//! bytes are copied unchanged (a v1 struct does not depend on its neighbours). A text
//! typed or pasted by one client is often a single struct (yrs joins a client's
//! consecutive inserts), so a string struct larger than a chunk is cut into several, as
//! Yjs cuts an item: each piece after the first has the previous character as its
//! origin and keeps the right origin. A chunk is
//! a valid update holding some clients' consecutive structs; the delete set rides on the
//! last one. Yjs and yrs both hold structs whose dependencies have not arrived yet and
//! integrate them when they do; chunks go out in order of each client's progress, which
//! roughly follows editing time and keeps that waiting short.

use yrs::block::{
    BLOCK_GC_REF_NUMBER, BLOCK_ITEM_STRING_REF_NUMBER, BLOCK_SKIP_REF_NUMBER, HAS_ORIGIN,
    HAS_PARENT_SUB, HAS_RIGHT_ORIGIN, ItemContent,
};
use yrs::encoding::read::Read;
use yrs::encoding::write::Write;
use yrs::updates::decoder::{Decoder, DecoderV1};
use yrs::updates::encoder::{Encoder, EncoderV1};
use yrs::{ClientID, ID};

/// A run of one client's consecutive structs, encoded.
struct Run {
    client: u64,
    clock: u32,
    structs: u32,
    bytes: Vec<u8>,
    /// How far through the client's structs this run ends, for ordering.
    progress: f64,
}

impl Run {
    fn new(client: u64, clock: u32) -> Self {
        Self {
            client,
            clock,
            structs: 0,
            bytes: Vec::new(),
            progress: 0.0,
        }
    }

    /// Adds one encoded struct, which ends at `clock`; once the run reaches `target` it
    /// goes to `runs` and a new one starts at `clock`.
    fn add(&mut self, encoded: &[u8], clock: u32, target: usize, runs: &mut Vec<Run>) {
        self.bytes.extend_from_slice(encoded);
        self.structs += 1;
        if self.bytes.len() >= target {
            runs.push(std::mem::replace(self, Run::new(self.client, clock)));
        }
    }
}

/// `update` cut into updates of about `target` bytes (a single struct larger than that is
/// sent whole). Returns the update itself if it is small or cannot be parsed.
pub fn split(update: &[u8], target: usize) -> Vec<Vec<u8>> {
    if update.len() <= target {
        return vec![update.to_vec()];
    }
    match runs(update, target) {
        Ok((runs, delete_set)) if runs.len() > 1 => assemble(update, runs, delete_set, target),
        _ => vec![update.to_vec()],
    }
}

/// The update's struct runs (none longer than `target` unless one struct is) and where
/// its delete set starts.
fn runs(update: &[u8], target: usize) -> Result<(Vec<Run>, usize), yrs::encoding::read::Error> {
    let mut decoder = DecoderV1::from(update);
    let mut runs = Vec::new();
    let clients: u32 = decoder.read_var()?;
    for _ in 0..clients {
        let structs: u32 = decoder.read_var()?;
        let client = decoder.read_client()?.get();
        let mut clock: u32 = decoder.read_var()?;
        let first = runs.len();
        let mut run = Run::new(client, clock);
        for _ in 0..structs {
            let start = position(update, &mut decoder);
            let length = struct_length(&mut decoder)?;
            let encoded = &update[start..position(update, &mut decoder)];
            let pieces = if encoded.len() > target {
                cut_string(encoded, client, clock, target)?
            } else {
                None
            };
            match pieces {
                Some(pieces) => {
                    for (piece, ticks) in pieces {
                        clock += ticks;
                        run.add(&piece, clock, target, &mut runs);
                    }
                }
                None => {
                    clock += length;
                    run.add(encoded, clock, target, &mut runs);
                }
            }
        }
        if run.structs > 0 {
            runs.push(run);
        }
        let count = runs.len() - first;
        for (index, run) in runs[first..].iter_mut().enumerate() {
            run.progress = (index + 1) as f64 / count as f64;
        }
    }
    let delete_set = position(update, &mut decoder);
    Ok((runs, delete_set))
}

/// How far `decoder` has read into `bytes`, the buffer it decodes.
fn position(bytes: &[u8], decoder: &mut DecoderV1) -> usize {
    bytes.len() - decoder.read_to_end().map_or(0, <[u8]>::len)
}

/// An encoded struct and the clock ticks it spans.
type Piece = (Vec<u8>, u32);

/// A string struct (`encoded`, at `client`'s `clock`) cut into structs of about `target`
/// bytes; `None` for any other struct.
fn cut_string(
    encoded: &[u8],
    client: u64,
    clock: u32,
    target: usize,
) -> Result<Option<Vec<Piece>>, yrs::encoding::read::Error> {
    let mut decoder = DecoderV1::from(encoded);
    let info = decoder.read_info()?;
    if info & 0b1_1111 != BLOCK_ITEM_STRING_REF_NUMBER || info & HAS_PARENT_SUB != 0 {
        return Ok(None);
    }
    let right_origin = read_item_header(&mut decoder, info)?;
    let header = position(encoded, &mut decoder);
    let mut rest = decoder.read_string()?;
    let mut pieces = Vec::new();
    let mut offset = 0u32;
    while !rest.is_empty() {
        // Cut at a character boundary (a UTF-16 surrogate pair stays whole).
        let mut cut = rest.len().min(target);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (part, tail) = rest.split_at(cut);
        let ticks = part.encode_utf16().count() as u32;
        let piece = if offset == 0 {
            let mut piece = encoded[..header].to_vec();
            piece.write_string(part);
            piece
        } else {
            let mut encoder = EncoderV1::new();
            encoder
                .write_info(BLOCK_ITEM_STRING_REF_NUMBER | HAS_ORIGIN | (info & HAS_RIGHT_ORIGIN));
            encoder.write_left_id(&ID::new(ClientID::new(client), clock + offset - 1));
            if let Some(right) = &right_origin {
                encoder.write_right_id(right);
            }
            encoder.write_string(part);
            encoder.to_vec()
        };
        pieces.push((piece, ticks));
        offset += ticks;
        rest = tail;
    }
    Ok(Some(pieces))
}

/// Reads one struct; returns how many clock ticks it spans.
fn struct_length(decoder: &mut DecoderV1) -> Result<u32, yrs::encoding::read::Error> {
    let info = decoder.read_info()?;
    match info {
        BLOCK_SKIP_REF_NUMBER => decoder.read_var(),
        BLOCK_GC_REF_NUMBER => decoder.read_len(),
        info => {
            read_item_header(decoder, info)?;
            Ok(ItemContent::decode(decoder, info)?.len_utf16())
        }
    }
}

/// Reads an item's origins and, when it has neither, its parent; returns its right
/// origin. The decoder is left at the item's content.
fn read_item_header(
    decoder: &mut DecoderV1,
    info: u8,
) -> Result<Option<ID>, yrs::encoding::read::Error> {
    if info & HAS_ORIGIN != 0 {
        decoder.read_left_id()?;
    }
    let right_origin = if info & HAS_RIGHT_ORIGIN != 0 {
        Some(decoder.read_right_id()?)
    } else {
        None
    };
    if info & (HAS_ORIGIN | HAS_RIGHT_ORIGIN) == 0 {
        if decoder.read_parent_info()? {
            decoder.read_string()?;
        } else {
            decoder.read_left_id()?;
        }
        if info & HAS_PARENT_SUB != 0 {
            decoder.read_string()?;
        }
    }
    Ok(right_origin)
}

/// Groups runs into updates of about `target` bytes, in order of progress; the delete
/// set goes with the last.
fn assemble(update: &[u8], mut runs: Vec<Run>, delete_set: usize, target: usize) -> Vec<Vec<u8>> {
    runs.sort_by(|a, b| a.progress.total_cmp(&b.progress));
    let mut groups: Vec<Vec<Run>> = Vec::new();
    let mut size = 0;
    for run in runs {
        let length = run.bytes.len();
        match groups.last_mut() {
            Some(group) if size + length <= target => group.push(run),
            _ => {
                size = 0;
                groups.push(vec![run]);
            }
        }
        size += length;
    }
    let last = groups.len() - 1;
    groups
        .into_iter()
        .enumerate()
        .map(|(index, group)| {
            let mut chunk = Vec::with_capacity(target + 64);
            chunk.write_var(group.len() as u32);
            for run in &group {
                chunk.write_var(run.structs);
                chunk.write_var(run.client);
                chunk.write_var(run.clock);
                chunk.write_all(&run.bytes);
            }
            if index == last {
                chunk.write_all(&update[delete_set..]);
            } else {
                chunk.write_var(0u32);
            }
            chunk
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use yrs::updates::decoder::Decode;
    use yrs::{Doc, GetString, Options, ReadTxn, StateVector, Text, Transact, Update};

    use super::split;

    /// A document written by three clients taking turns, with deletions.
    fn busy_document() -> Doc {
        let docs: Vec<Doc> = (1..=3)
            .map(|id| {
                Doc::with_options(Options {
                    client_id: yrs::ClientID::new(id),
                    offset_kind: yrs::OffsetKind::Utf16,
                    ..Options::default()
                })
            })
            .collect();
        for round in 0..300u32 {
            let doc = &docs[(round % 3) as usize];
            let text = doc.get_or_insert_text("content");
            {
                let mut txn = doc.transact_mut();
                let length = text.len(&txn);
                text.insert(
                    &mut txn,
                    (round * 7) % (length + 1),
                    &format!("[{round} ✓ é]"),
                );
                if round % 5 == 0 && length > 10 {
                    text.remove_range(&mut txn, length / 2, 4);
                }
            }
            let update = doc
                .transact()
                .encode_state_as_update_v1(&StateVector::default());
            for other in &docs {
                let decoded = Update::decode_v1(&update).unwrap();
                other.transact_mut().apply_update(decoded).unwrap();
            }
        }
        docs.into_iter().next().unwrap()
    }

    fn text(doc: &Doc) -> String {
        doc.get_or_insert_text("content")
            .get_string(&doc.transact())
    }

    fn apply(chunks: impl Iterator<Item = Vec<u8>>) -> Doc {
        let doc = Doc::new();
        for chunk in chunks {
            let decoded = Update::decode_v1(&chunk).expect("every chunk is an update");
            doc.transact_mut().apply_update(decoded).unwrap();
        }
        doc
    }

    #[test]
    fn chunks_rebuild_the_document_in_order_and_out_of_order() {
        let source = busy_document();
        let update = source
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        let chunks = split(&update, 512);
        assert!(chunks.len() > 10, "{} chunks", chunks.len());
        assert!(chunks.iter().all(|c| c.len() < 512 + 300));

        let in_order = apply(chunks.clone().into_iter());
        assert_eq!(text(&in_order), text(&source));
        assert_eq!(
            in_order.transact().state_vector(),
            source.transact().state_vector()
        );
        let mut last_first = chunks.clone();
        last_first.rotate_right(1);
        assert_eq!(
            text(&apply(last_first.into_iter())),
            text(&source),
            "delete set first"
        );
        let mut swapped = chunks.clone();
        for pair in swapped.chunks_mut(2) {
            pair.reverse();
        }
        assert_eq!(
            text(&apply(swapped.into_iter())),
            text(&source),
            "pairs swapped"
        );
    }

    /// One client's text, typed in long runs: yrs joins it into a few large structs.
    fn one_writer_document() -> Doc {
        let doc = Doc::with_options(Options {
            offset_kind: yrs::OffsetKind::Utf16,
            ..Options::default()
        });
        let text = doc.get_or_insert_text("content");
        for round in 0..12 {
            let mut txn = doc.transact_mut();
            let end = text.len(&txn);
            text.insert(&mut txn, end, &format!("{round}:é✓😀x").repeat(700));
            if round == 6 {
                // An insertion in the middle, so some structs have a right origin.
                text.insert(&mut txn, 10, &"ü".repeat(3000));
            }
        }
        doc
    }

    #[test]
    fn a_long_string_struct_is_cut_into_pieces_that_rebuild_it() {
        let source = one_writer_document();
        let update = source
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        let chunks = split(&update, 4096);
        assert!(chunks.len() > 20, "{} chunks", chunks.len());
        assert!(
            chunks.iter().all(|c| c.len() < 2 * 4096 + 64),
            "{:?}",
            chunks.iter().map(Vec::len).max()
        );
        let in_order = apply(chunks.clone().into_iter());
        assert_eq!(text(&in_order), text(&source));
        assert_eq!(
            in_order.transact().state_vector(),
            source.transact().state_vector()
        );
        assert_eq!(
            text(&apply(chunks.into_iter().rev())),
            text(&source),
            "pieces in reverse"
        );
    }

    #[test]
    fn small_or_unparsable_updates_go_whole() {
        assert_eq!(split(&[1, 2, 3], 2), vec![vec![1, 2, 3]]);
        let small = busy_document()
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        assert_eq!(split(&small, usize::MAX), vec![small]);
    }
}
