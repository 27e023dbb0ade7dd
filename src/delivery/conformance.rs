//! `ladderpost conformance`: checks a vendor's push receiver against the
//! delivery contract by sending it a scripted set of deliveries.
//!
//! A conforming receiver accepts (2xx) correctly signed, valid messages;
//! accepts a repeat of a delivery it already has (it deduplicates on
//! `webhook-id`, and must not store it twice — which only the vendor can
//! see); refuses (4xx) a wrong signature, a stale timestamp and missing
//! signature headers.

use std::time::Duration;

use super::signature::Secret;
use crate::time::Moment;

/// One scripted delivery and its verdict.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: &'static str,
    pub expected: &'static str,
    pub status: Option<u16>,
    pub passed: bool,
    pub detail: String,
}

const MELDING: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Meting xmlns="urn:ladderpost:participatieladder:v1" versie="1.0">
  <Envelop>
    <BerichtId>{ID}</BerichtId>
    <Verzonden>2026-01-15T10:00:00+01:00</Verzonden>
    <Afzender><Organisatie>ladderpost conformance</Organisatie><Applicatie>ladderpost</Applicatie></Afzender>
    <Gemeente>0363</Gemeente>
  </Envelop>{REF}
  <Client>
    <Bsn>111222333</Bsn>
    <Achternaam>Proef</Achternaam>
    <Geboortedatum>1980-05-05</Geboortedatum>
  </Client>
  <Werkproces>
    <Meetdatum>2026-01-14</Meetdatum>
    <Medewerker>Conformance</Medewerker>
  </Werkproces>
  <Plaatsing>
    <Trede>{TREDE}</Trede>
    <Groeipotentieel>+</Groeipotentieel>
  </Plaatsing>
</Meting>
"#;

const INTREKKING: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Intrekking xmlns="urn:ladderpost:participatieladder:v1" versie="1.0">
  <Envelop>
    <BerichtId>{ID}</BerichtId>
    <Verzonden>2026-01-15T10:05:00+01:00</Verzonden>
    <Afzender><Organisatie>ladderpost conformance</Organisatie><Applicatie>ladderpost</Applicatie></Afzender>
    <Gemeente>0363</Gemeente>
  </Envelop>
  <TrektIn>{REF}</TrektIn>
  <Bsn>111222333</Bsn>
  <Reden>Conformance: withdrawn</Reden>
</Intrekking>
"#;

fn meting(id: &str) -> String {
    MELDING
        .replace("{ID}", id)
        .replace("{REF}", "")
        .replace("{TREDE}", "3")
}

fn correctie(id: &str, of: &str) -> String {
    MELDING
        .replace("<Meting ", "<Correctie ")
        .replace("</Meting>", "</Correctie>")
        .replace("{ID}", id)
        .replace("{REF}", &format!("\n  <Corrigeert>{of}</Corrigeert>"))
        .replace("{TREDE}", "4")
}

fn intrekking(id: &str, of: &str) -> String {
    INTREKKING.replace("{ID}", id).replace("{REF}", of)
}

struct Delivery {
    id: String,
    volgnummer: u64,
    body: String,
    timestamp: i64,
    signature: Option<String>,
}

/// Runs the script against `target` and returns each case's verdict.
pub async fn run(target: &str, secret: &Secret) -> Result<Vec<Case>, String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let run_id = Moment::now().0;
    let now = run_id / 1_000_000;
    let id = |n: &str| format!("conf-{run_id}-{n}");
    let signed = |id: String, volgnummer: u64, body: String| {
        let signature = Some(secret.sign(&id, now, body.as_bytes()));
        Delivery {
            id,
            volgnummer,
            body,
            timestamp: now,
            signature,
        }
    };
    let m1 = id("meting");
    let c1 = id("correctie");
    let i1 = id("intrekking");
    let wrong = Secret::generate().map_err(|e| e.to_string())?;
    let script: Vec<(&'static str, bool, Delivery)> = vec![
        ("a valid Meting", true, signed(m1.clone(), 1, meting(&m1))),
        (
            "the same delivery again (deduplicate, answer 2xx)",
            true,
            signed(m1.clone(), 1, meting(&m1)),
        ),
        (
            "a Correctie of that Meting",
            true,
            signed(c1.clone(), 2, correctie(&c1, &m1)),
        ),
        (
            "an Intrekking of that Correctie",
            true,
            signed(i1.clone(), 3, intrekking(&i1, &c1)),
        ),
        ("a wrong signature", false, {
            let d = id("bad-signature");
            let body = meting(&d);
            Delivery {
                signature: Some(wrong.sign(&d, now, body.as_bytes())),
                id: d,
                volgnummer: 4,
                body,
                timestamp: now,
            }
        }),
        (
            "a correctly signed but stale delivery (10 minutes old)",
            false,
            {
                let d = id("stale");
                let body = meting(&d);
                let old = now - 600;
                Delivery {
                    signature: Some(secret.sign(&d, old, body.as_bytes())),
                    id: d,
                    volgnummer: 5,
                    body,
                    timestamp: old,
                }
            },
        ),
        ("a delivery without signature headers", false, {
            let d = id("unsigned");
            Delivery {
                body: meting(&d),
                id: d,
                volgnummer: 6,
                timestamp: now,
                signature: None,
            }
        }),
        ("a signature over a different body", false, {
            let d = id("tampered");
            let sig = secret.sign(&d, now, meting(&d).as_bytes());
            Delivery {
                body: meting(&d).replace("<Trede>3</Trede>", "<Trede>5</Trede>"),
                id: d,
                volgnummer: 7,
                timestamp: now,
                signature: Some(sig),
            }
        }),
    ];
    let mut cases = Vec::new();
    for (name, accept, d) in script {
        let mut req = client
            .post(target)
            .header("content-type", "application/xml")
            .header("ladderpost-volgnummer", d.volgnummer.to_string())
            .body(d.body.clone());
        if let Some(sig) = &d.signature {
            req = req
                .header("webhook-id", &d.id)
                .header("webhook-timestamp", d.timestamp.to_string())
                .header("webhook-signature", sig);
        }
        let (status, detail) = match req.send().await {
            Ok(resp) => (
                Some(resp.status().as_u16()),
                resp.text().await.unwrap_or_default(),
            ),
            Err(e) => (None, e.to_string()),
        };
        let passed = match status {
            Some(s) if accept => (200..300).contains(&s),
            Some(s) => (400..500).contains(&s),
            None => false,
        };
        cases.push(Case {
            name,
            expected: if accept { "2xx" } else { "4xx" },
            status,
            passed,
            detail: detail.trim().chars().take(200).collect(),
        });
    }
    Ok(cases)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripted_messages_are_valid() {
        for doc in [
            meting("a-1"),
            correctie("a-2", "a-1"),
            intrekking("a-3", "a-2"),
        ] {
            assert!(crate::validate(doc.as_bytes()).is_ok(), "{doc}");
        }
    }
}
