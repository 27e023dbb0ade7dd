//! Robustness: no input makes the validator panic. Random mutations of the
//! fixtures (byte flips, insertions, deletions, truncations, splices) go
//! through the whole pipeline; each must end in a verdict.
//!
//! Runs 2,000 cases by default; for a longer fuzz run:
//! `PROPTEST_CASES=500000 cargo test --release --test no_panic`.

mod common;

use proptest::prelude::*;

fn corpus() -> Vec<Vec<u8>> {
    common::fixtures("valid")
        .into_iter()
        .chain(common::fixtures("invalid"))
        .map(|p| std::fs::read(p).expect("fixture"))
        .collect()
}

#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
    Splice(usize, usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let snippets = prop::sample::select(vec![
        b"<".to_vec(),
        b">".to_vec(),
        b"&".to_vec(),
        b"&#0;".to_vec(),
        b"&#x110000;".to_vec(),
        b"&lt;".to_vec(),
        b"<![CDATA[".to_vec(),
        b"]]>".to_vec(),
        b"<!--".to_vec(),
        b"-->".to_vec(),
        b"<?pi ?>".to_vec(),
        b"<!DOCTYPE a>".to_vec(),
        b"xmlns=\"\"".to_vec(),
        b" a=\"1\"".to_vec(),
        b"<x:y>".to_vec(),
        b"</".to_vec(),
        b"\xC3".to_vec(),
        b"\xEF\xBF\xBF".to_vec(),
        "é€𝄞".as_bytes().to_vec(),
        b"\r\n".to_vec(),
        b" ".to_vec(),
    ]);
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Flip(i, b)),
        (any::<usize>(), snippets).prop_map(|(i, s)| Edit::Insert(i, s)),
        (any::<usize>(), 1usize..64).prop_map(|(i, n)| Edit::Delete(i, n)),
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), any::<usize>(), 1usize..200).prop_map(|(a, b, n)| Edit::Splice(a, b, n)),
    ]
}

fn apply(doc: &mut Vec<u8>, e: &Edit) {
    let len = doc.len().max(1);
    match e {
        Edit::Flip(i, b) => {
            if !doc.is_empty() {
                let i = i % doc.len();
                doc[i] ^= b | 1;
            }
        }
        Edit::Insert(i, s) => {
            let i = i % len.min(doc.len() + 1);
            doc.splice(i..i, s.iter().copied());
        }
        Edit::Delete(i, n) => {
            let i = i % len;
            let end = (i + n).min(doc.len());
            if i < end {
                doc.drain(i..end);
            }
        }
        Edit::Truncate(i) => doc.truncate(i % len),
        Edit::Splice(a, b, n) => {
            // Copy a run of the document to another place: nesting and
            // repetition that random bytes rarely produce.
            let a = a % len;
            let end = (a + n).min(doc.len());
            let run: Vec<u8> = doc.get(a..end).unwrap_or_default().to_vec();
            let b = b % len.min(doc.len() + 1);
            doc.splice(b..b, run);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn mutated_documents_never_panic(
        seed in 0usize..1000,
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        let corpus = corpus();
        let mut doc = corpus[seed % corpus.len()].clone();
        for e in &edits {
            apply(&mut doc, e);
        }
        // Either verdict is fine; reaching it is the point.
        match ladderpost::validate(&doc) {
            Ok(_) => {}
            Err(r) => prop_assert!(!r.errors.is_empty()),
        }
    }
}

#[test]
fn hostile_shapes_are_refused_not_expanded() {
    let deep = format!(
        "<Meting xmlns=\"urn:ladderpost:participatieladder:v1\" versie=\"1.0\">{}{}</Meting>",
        "<a>".repeat(10_000),
        "</a>".repeat(10_000)
    );
    let laughs = br#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>
<lolz>&lol2;</lolz>"#;
    let xxe = br#"<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<foo>&xxe;</foo>"#;
    let big = vec![b' '; 2 * 1024 * 1024];
    let cases: [(&[u8], ladderpost::Code); 4] = [
        (deep.as_bytes(), ladderpost::Code::XmlTooDeep),
        (laughs, ladderpost::Code::XmlDtd),
        (xxe, ladderpost::Code::XmlDtd),
        (&big, ladderpost::Code::XmlTooLarge),
    ];
    for (doc, code) in cases {
        let r = ladderpost::validate(doc).expect_err("must be refused");
        assert!(r.errors.iter().any(|e| e.code == code), "{:?}", r.errors);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// The domain's constructors are public: they must answer any string.
    #[test]
    fn domain_constructors_never_panic(s in "\\PC{0,40}", digits in "[0-9 +:TZ.-]{0,30}é?") {
        use ladderpost::domain::{BerichtId, Bsn, Datum, Gemeentecode, Postcode, Tijdstip};
        for input in [s.as_str(), digits.as_str()] {
            let _ = Datum::parse(input);
            let _ = Tijdstip::parse(input);
            let _ = Bsn::parse(input);
            let _ = Postcode::parse(input);
            let _ = Gemeentecode::parse(input);
            let _ = BerichtId::parse(input);
        }
    }
}
