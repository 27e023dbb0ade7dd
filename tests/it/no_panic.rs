//! Robustness: no input makes the validator panic. Random mutations of the
//! fixtures (byte flips, insertions, deletions, truncations, splices) go
//! through the whole pipeline; each must end in a verdict. And whatever the
//! body, the reply the real server sends on the message routes is
//! well-formed and valid against the published schema (#11 finding 5).
//!
//! Runs 2,000 cases by default; for a longer fuzz run:
//! `PROPTEST_CASES=500000 cargo test --release --test no_panic`.

use crate::common;

use common::server::Server;
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};

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

/// Markup-looking text that error messages quote: `]]>` above all (it ends
/// a CDATA section), references, tags, broken UTF-8.
fn markup() -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(vec![
        b"]]>".to_vec(),
        b"]]&gt;".to_vec(),
        b"]]]]&gt;".to_vec(),
        b"<![CDATA[]]]]><![CDATA[>]]>".to_vec(),
        b"<![CDATA[".to_vec(),
        b"<![CDATA[x]]>]]&gt;".to_vec(),
        b"&lt;/Omschrijving&gt;&lt;/Fout&gt;".to_vec(),
        b"&#93;&#93;&#62;".to_vec(),
        b"<!--]]>-->".to_vec(),
        b"<".to_vec(),
        b"&".to_vec(),
        b"&amp;lt;".to_vec(),
        b"</Fout>".to_vec(),
        b"\xFF".to_vec(),
        b"\xC3(".to_vec(),
        b"\xED\xA0\x80".to_vec(),
        b"\x00".to_vec(),
        b"\"'".to_vec(),
    ])
}

/// A request body: arbitrary bytes, or a fixture with markup put at the
/// end of its k-th value (before its k-th `</`), in place of it, or inside
/// an attribute value, and perhaps further random edits.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let fixture = (
        0usize..1000,
        prop::collection::vec((any::<usize>(), 0u8..3, markup(), markup()), 1..4),
        prop::collection::vec(edit(), 0..2),
    )
        .prop_map(|(seed, inserts, edits)| {
            let corpus = corpus();
            let mut doc = corpus[seed % corpus.len()].clone();
            for (k, how, a, b) in &inserts {
                put_in_value(&mut doc, *k, *how, &[a.as_slice(), b.as_slice()].concat());
            }
            for e in &edits {
                apply(&mut doc, e);
            }
            doc
        });
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..600),
        4 => fixture,
    ]
}

/// `how` 0: before the k-th `</` (end of a value); 1: replacing the text
/// between the `>` before it and it (the whole value); 2: after the k-th
/// `="` (start of an attribute value).
fn put_in_value(doc: &mut Vec<u8>, k: usize, how: u8, text: &[u8]) {
    let needle: &[u8] = if how == 2 { b"=\"" } else { b"</" };
    let hits: Vec<usize> = doc
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect();
    let Some(&at) = hits.get(k % hits.len().max(1)) else {
        return;
    };
    match how {
        2 => {
            doc.splice(at + 2..at + 2, text.iter().copied());
        }
        1 => {
            let start = doc[..at]
                .iter()
                .rposition(|&c| c == b'>')
                .map_or(at, |i| i + 1);
            doc.splice(start..at, text.iter().copied());
        }
        _ => {
            doc.splice(at..at, text.iter().copied());
        }
    }
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

/// Every reply on the two message routes, for any body: XML, valid against
/// the published schema (so well-formed), with the root its status calls
/// for. Through the real server, so what is checked is what is sent.
#[test]
fn replies_to_any_body_are_schema_valid() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Rate limiting off: the cases come faster than a sender's budget.
    let server = Server::start_with(&dir.path().join("data"), &["--rate-limit", "0"]);
    let client = server.client();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256);
    let mut runner = TestRunner::new(RunnerConfig {
        cases,
        failure_persistence: None,
        ..RunnerConfig::default()
    });
    let roots = std::cell::RefCell::new(std::collections::BTreeMap::<String, usize>::new());
    let check = |doc: Vec<u8>| -> Result<(), TestCaseError> {
        for path in ["/api/v1/berichten/_valideer", "/api/v1/berichten"] {
            let (status, content_type, reply) = rt.block_on(async {
                let response = client
                    .post(server.url(path))
                    .header("content-type", "application/xml")
                    .body(doc.clone())
                    .send()
                    .await
                    .expect("POST");
                let status = response.status().as_u16();
                let ct = response
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                (status, ct, response.bytes().await.expect("body").to_vec())
            });
            let text = String::from_utf8_lossy(&reply);
            prop_assert!(
                content_type.starts_with("application/xml"),
                "{path} {status}: content type {content_type:?}: {text}"
            );
            let tree = match ladderpost::validate_schema(&reply) {
                Ok(tree) => tree,
                Err(r) => {
                    return Err(TestCaseError::fail(format!(
                        "{path} {status}: reply not schema-valid: {:?}\n{text}",
                        r.errors
                    )))
                }
            };
            let root = tree.root().name().to_string();
            let want: &[&str] = match (status, path.ends_with("_valideer")) {
                (200, true) => &["Validatieresultaat"],
                (200 | 201, false) => &["Ontvangstbevestiging"],
                (400..=599, _) => &["Foutbericht"],
                _ => &[],
            };
            prop_assert!(
                want.contains(&root.as_str()),
                "{path} {status}: root {root}: {text}"
            );
            if root == "Foutbericht" {
                prop_assert!(
                    tree.root().children().any(|c| c.name() == "Fout"),
                    "{path} {status}: Foutbericht without Fout: {text}"
                );
                let quoting = tree.root().children_named("Fout").any(|f| {
                    f.child_value("Omschrijving")
                        .is_some_and(|o| o.contains("]]"))
                });
                if quoting {
                    *roots
                        .borrow_mut()
                        .entry("error text quoting ]]".to_string())
                        .or_default() += 1;
                }
            }
            *roots
                .borrow_mut()
                .entry(format!("{path} {root}"))
                .or_default() += 1;
        }
        Ok(())
    };
    // First every fixture as it is, and a value quoting `]]>`: these reach
    // every kind of reply, whatever the random cases below do.
    let mut fixed = corpus();
    let meting =
        std::fs::read_to_string(common::root().join("fixtures/valid/meting-0363-trede3-groei.xml"))
            .expect("fixture");
    let quoted = meting.replace(
        "<BerichtId>0363-2024-0000417</BerichtId>",
        "<BerichtId>0363]]&gt;417</BerichtId>",
    );
    assert_ne!(quoted, meting);
    fixed.push(quoted.into_bytes());
    for doc in fixed {
        if let Err(e) = check(doc) {
            panic!("{e}");
        }
    }
    if let Err(e) = runner.run(&body(), check) {
        panic!("{e}");
    }
    // Every kind of reply was reached (by the fixed bodies at least), or
    // the test proves little.
    let roots = roots.into_inner();
    for want in [
        "/api/v1/berichten/_valideer Validatieresultaat",
        "/api/v1/berichten/_valideer Foutbericht",
        "/api/v1/berichten Ontvangstbevestiging",
        "/api/v1/berichten Foutbericht",
        "error text quoting ]]",
    ] {
        assert!(roots.contains_key(want), "no {want} among {roots:?}");
    }
}
