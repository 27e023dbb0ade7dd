//! Admission: which messages of a writer round are stored, under which
//! numbers, and what the others are answered. The same for every engine:
//! an engine reads its stored state through [`Lookup`], writes the records
//! [`admit`] numbered, and answers with [`Round::outcomes`].
//!
//! Messages are decided in acceptance order, each also against the earlier
//! members of its round (which the engine has not written yet): ids are
//! unique per sender (same bytes: a repeat with the original receipt;
//! other bytes: `bericht.conflict`), and references resolve among what the
//! sender may change ([`check_reference`]).

use std::collections::HashMap;

use super::record::{check_reference, Draft, Sender};
use super::{Incoming, Outcome, Record, StoreError, Stored};
use crate::diagnostics::Code;
use crate::time::Moment;

/// What admission reads of the stored state (durable or written by an
/// earlier round: a round builds on every round before it).
pub trait Lookup {
    /// The stored message `sender` sent with this id, if any (ids are
    /// unique per sender: [`Sender::same_id_space`]).
    fn sent_by(&self, sender: &Sender, id: &str) -> Result<Option<Stored>, StoreError>;
    /// Every stored record about one client, in acceptance order.
    fn client_records(&self, bsn: &str) -> Result<Vec<Record>, StoreError>;
}

/// One member's fate.
pub enum Verdict {
    /// Answered without writing: a repeat, a conflict, a broken rule.
    Done(Result<Outcome, StoreError>),
    /// To be written under the record's volgnummer.
    Insert(Box<Record>),
}

/// A decided round.
pub struct Round {
    /// One verdict per member, in the round's order.
    pub verdicts: Vec<Verdict>,
    /// The last volgnummer and received-at moment given out (unchanged
    /// when nothing is inserted).
    pub last: u64,
    pub last_moment: Moment,
}

impl Round {
    /// The records to write, each with the member it came from.
    pub fn inserts<'a>(
        &'a self,
        group: &'a [Incoming],
    ) -> impl Iterator<Item = (&'a Record, &'a Incoming)> {
        self.verdicts
            .iter()
            .zip(group)
            .filter_map(|(v, incoming)| match v {
                Verdict::Insert(record) => Some((record.as_ref(), incoming)),
                Verdict::Done(_) => None,
            })
    }

    pub fn writes(&self) -> bool {
        self.verdicts
            .iter()
            .any(|v| matches!(v, Verdict::Insert(_)))
    }

    /// Each member's answer, once the round's writes have succeeded.
    pub fn outcomes(self) -> Vec<Result<Outcome, StoreError>> {
        self.verdicts
            .into_iter()
            .map(|v| match v {
                Verdict::Done(result) => result,
                Verdict::Insert(record) => Ok(Outcome::Accepted(record.receipt())),
            })
            .collect()
    }
}

/// Decides `group` in order on top of what `stored` reads, numbering after
/// `last` with received-at moments strictly increasing after
/// `last_moment`. `Err` only when reading the stored state failed.
pub fn admit(
    group: &[Incoming],
    stored: &impl Lookup,
    last: u64,
    last_moment: Moment,
) -> Result<Round, StoreError> {
    let (mut seq, mut moment) = (last, last_moment);
    // Members of this round inserted already, by sender and id: their
    // index in `group` and `verdicts`.
    let mut planned: HashMap<(&str, &str), usize> = HashMap::new();
    let mut verdicts: Vec<Verdict> = Vec::with_capacity(group.len());
    let inserted = |verdicts: &[Verdict], i: usize| match verdicts.get(i) {
        Some(Verdict::Insert(record)) => Some(record.as_ref().clone()),
        _ => None,
    };
    for incoming in group {
        let draft = match Draft::of(
            &incoming.document,
            &incoming.warnings,
            incoming.wortel.clone(),
        ) {
            Ok(d) => d,
            Err(e) => {
                verdicts.push(Verdict::Done(Err(e)));
                continue;
            }
        };
        let sender = &incoming.sender;
        let earlier = match planned.get(&(sender.organisatie.as_str(), draft.bericht_id.as_str())) {
            Some(&i) => inserted(&verdicts, i).map(|r| (r, group[i].raw.clone())),
            None => stored
                .sent_by(sender, &draft.bericht_id)?
                .map(|s| (s.record, s.raw)),
        };
        if let Some((record, raw)) = earlier {
            verdicts.push(Verdict::Done(if raw == incoming.raw {
                Ok(Outcome::Repeat(record.receipt()))
            } else {
                Err(StoreError::rejected(
                    Code::BerichtConflict,
                    format!(
                        "message id {} was accepted before with different content; a new message needs a new id",
                        draft.bericht_id
                    ),
                ))
            }));
            continue;
        }
        let mut target = None;
        if let Some(target_id) = &draft.verwijst_naar {
            let own = match planned.get(&(sender.organisatie.as_str(), target_id.as_str())) {
                Some(&i) => inserted(&verdicts, i),
                None => stored.sent_by(sender, target_id)?.map(|s| s.record),
            };
            let mut client = stored.client_records(&draft.bsn)?;
            // Earlier members of this round, in acceptance order.
            client.extend(verdicts.iter().filter_map(|v| match v {
                Verdict::Insert(r) if r.bsn == draft.bsn => Some(r.as_ref().clone()),
                _ => None,
            }));
            match check_reference(&draft, sender, &client, own.as_ref()) {
                Ok(t) => target = t.cloned(),
                Err(e) => {
                    verdicts.push(Verdict::Done(Err(e)));
                    continue;
                }
            }
        }
        seq += 1;
        // Received-at times increase strictly with the sequence numbers.
        moment = Moment::now().max(moment.next());
        let record = draft.into_record(seq, moment, sender, target.as_ref());
        if let Some(id) = incoming.document.bericht_id() {
            planned.insert((sender.organisatie.as_str(), id.as_str()), verdicts.len());
        }
        verdicts.push(Verdict::Insert(Box::new(record)));
    }
    Ok(Round {
        verdicts,
        last: seq,
        last_moment: moment,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stored state in memory: what an engine's reads would give.
    #[derive(Default)]
    struct Memory(Vec<Stored>);

    impl Lookup for Memory {
        fn sent_by(&self, sender: &Sender, id: &str) -> Result<Option<Stored>, StoreError> {
            Ok(self
                .0
                .iter()
                .find(|s| s.record.bericht_id == id && sender.same_id_space(&s.record))
                .cloned())
        }

        fn client_records(&self, bsn: &str) -> Result<Vec<Record>, StoreError> {
            Ok(self
                .0
                .iter()
                .filter(|s| s.record.bsn == bsn)
                .map(|s| s.record.clone())
                .collect())
        }
    }

    fn incoming(file: &str, organisatie: &str) -> Incoming {
        let raw = std::fs::read(format!(
            "{}/fixtures/valid/{file}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let wortel = crate::validate_schema(&raw).unwrap().root_span();
        let valid = crate::validate(&raw).unwrap();
        Incoming {
            raw,
            document: valid.document,
            warnings: valid.warnings,
            wortel,
            sender: Sender {
                organisatie: organisatie.into(),
                ..Sender::default()
            },
        }
    }

    const METING: &str = "meting-0363-trede3-groei.xml";
    const CORRECTIE: &str = "correctie-0363-trede3-naar-4.xml";

    fn codes(round: Round) -> Vec<Result<u64, String>> {
        round
            .outcomes()
            .into_iter()
            .map(|o| match o {
                Ok(Outcome::Accepted(r)) => Ok(r.volgnummer),
                Ok(Outcome::Repeat(r)) => Err(format!("repeat of {}", r.volgnummer)),
                Err(StoreError::Rejected(m)) => Err(m.code.as_str().to_string()),
                Err(e) => Err(e.to_string()),
            })
            .collect()
    }

    #[test]
    fn a_round_decides_its_members_against_each_other_in_order() {
        let mut conflicting = incoming(METING, "a");
        conflicting.raw.extend_from_slice(b"\n");
        let group = [
            incoming(METING, "a"),
            incoming(METING, "a"),
            conflicting,
            // Another sender's id is its own.
            incoming(METING, "b"),
            // Corrects the first member, not yet written anywhere.
            incoming(CORRECTIE, "a"),
        ];
        let round = admit(&group, &Memory::default(), 7, Moment(0)).unwrap();
        assert_eq!(round.last, 10);
        let inserted: Vec<(u64, Option<u64>)> = round
            .inserts(&group)
            .map(|(r, _)| (r.volgnummer, r.vervangt))
            .collect();
        // The correction names the first member by number.
        assert_eq!(inserted, [(8, None), (9, None), (10, Some(8))]);
        assert_eq!(
            codes(round),
            [
                Ok(8),
                Err("repeat of 8".into()),
                Err("bericht.conflict".into()),
                Ok(9),
                Ok(10)
            ]
        );
    }

    #[test]
    fn stored_state_decides_like_earlier_members() {
        let first = admit(&[incoming(METING, "a")], &Memory::default(), 0, Moment(0)).unwrap();
        let group = [incoming(METING, "a")];
        let record = first.inserts(&group).next().unwrap().0.clone();
        let memory = Memory(vec![Stored {
            record,
            raw: group[0].raw.clone(),
        }]);
        let round = admit(
            &[incoming(METING, "a"), incoming(CORRECTIE, "b")],
            &memory,
            first.last,
            first.last_moment,
        )
        .unwrap();
        assert_eq!(
            (round.last, round.last_moment),
            (first.last, first.last_moment)
        );
        // b may not change a's measurement: it looks unknown to b.
        assert_eq!(
            codes(round),
            [Err("repeat of 1".into()), Err("referentie.onbekend".into())]
        );
    }
}
