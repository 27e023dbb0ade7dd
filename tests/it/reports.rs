//! The reports and worklists through HTTP, on a fixture history with
//! corrections, a chain of corrections, withdrawals, clients entering and
//! leaving the ladder, a client moving between municipalities, an ISD, and
//! a client measured twice on one day. Every figure is checked twice: by
//! hand (the literal numbers below, worked out from the history) and
//! against [`Oracle`], a straightforward reimplementation of the README's
//! semantics over the messages as sent. Compiled again in `on_postgres`,
//! so both engines must give the same answers.

use super::common;

use serde_json::{json, Value};

use common::messages::{bsn, Bericht, Soort};
use common::reply::{problem, Reply};
use common::server::{client_for, Server};

const XML: &str = "application/xml";
const TREDEN: [u8; 8] = [0, 1, 2, 3, 4, 5, 6, 9];

/// One message as sent and acknowledged.
struct Sent {
    bericht: Bericht,
    volgnummer: u64,
    ontvangen: String,
    signalen: Vec<String>,
}

/// The history, and the reports' semantics computed naively from it.
#[derive(Default)]
struct Oracle {
    sent: Vec<Sent>,
}

impl Oracle {
    /// The state of client `n` at `datum` as known up to message `upto`.
    fn state(&self, n: u64, datum: &str, upto: u64) -> Option<&Sent> {
        let b = bsn(n);
        let known: Vec<&Sent> = self
            .sent
            .iter()
            .filter(|s| s.bericht.bsn == b && s.volgnummer <= upto)
            .collect();
        known
            .iter()
            .filter(|s| s.bericht.soort != Soort::Intrekking)
            .filter(|s| {
                !known
                    .iter()
                    .any(|l| l.bericht.verwijst_naar.as_deref() == Some(s.bericht.id.as_str()))
            })
            .filter(|s| s.bericht.meetdatum.as_str() <= datum)
            .max_by_key(|s| (s.bericht.meetdatum.clone(), self.chain_start(s)))
            .copied()
    }

    /// The number of the Meting a version's chain of corrections began
    /// with: a Correctie takes its original's place on its day.
    fn chain_start(&self, s: &Sent) -> u64 {
        match &s.bericht.verwijst_naar {
            Some(id) => {
                let original = self
                    .sent
                    .iter()
                    .find(|o| &o.bericht.id == id)
                    .expect("original");
                self.chain_start(original)
            }
            None => s.volgnummer,
        }
    }

    fn clients(&self) -> Vec<u64> {
        (1..100)
            .filter(|&n| self.sent.iter().any(|s| s.bericht.bsn == bsn(n)))
            .collect()
    }

    /// The stand's `treden`, over the clients `keep` lets through.
    fn treden(
        &self,
        gemeente: &str,
        datum: &str,
        upto: u64,
        keep: impl Fn(&Sent) -> bool,
    ) -> Value {
        let states: Vec<&Sent> = self
            .clients()
            .into_iter()
            .filter_map(|n| self.state(n, datum, upto))
            .filter(|s| s.bericht.gemeente == gemeente && keep(s))
            .collect();
        Value::Array(
            TREDEN
                .iter()
                .map(|&t| {
                    let on: Vec<&&Sent> = states
                        .iter()
                        .filter(|s| s.bericht.trede == t.to_string())
                        .collect();
                    // The builder gives growth potential + on rungs 1-5.
                    let plus = if (1..=5).contains(&t) { on.len() } else { 0 };
                    json!({"trede": t, "clienten": on.len(), "groeipotentieel": plus})
                })
                .collect(),
        )
    }

    fn stromen(&self, gemeente: &str, van: &str, tot: &str) -> Value {
        let mut cells: std::collections::BTreeMap<(Option<u8>, u8), u64> = Default::default();
        for n in self.clients() {
            let Some(to) = self
                .state(n, tot, u64::MAX)
                .filter(|s| s.bericht.gemeente == gemeente)
            else {
                continue;
            };
            let from = self
                .state(n, van, u64::MAX)
                .map(|s| s.bericht.trede.parse::<u8>().unwrap());
            *cells
                .entry((from, to.bericht.trede.parse().unwrap()))
                .or_default() += 1;
        }
        Value::Array(
            cells
                .into_iter()
                .map(|((van, naar), n)| json!({"van": van, "naar": naar, "clienten": n}))
                .collect(),
        )
    }

    fn srg(&self, gemeente: &str, datum: &str) -> Value {
        let codes = ["99", "0", "1", "2", "3", "4", "5a", "5b"];
        let mut counts = [0u64; 8];
        for n in self.clients() {
            let Some(s) = self
                .state(n, datum, u64::MAX)
                .filter(|s| s.bericht.gemeente == gemeente)
            else {
                continue;
            };
            let (a, b) = s.bericht.kenmerken.instrument;
            let with = a == Some(true) || b == Some(true);
            let code = match (s.bericht.trede.as_str(), with) {
                ("0", _) => "99",
                ("9", _) => continue,
                (_, false) => "0",
                ("5", true) => "5a",
                ("6", true) => "5b",
                (t, true) => t,
            };
            counts[codes.iter().position(|c| *c == code).unwrap()] += 1;
        }
        Value::Array(
            codes
                .iter()
                .zip(counts)
                .map(|(c, n)| json!({"srg": c, "clienten": n}))
                .collect(),
        )
    }
}

/// A server with the fixture history, and tokens.
struct Fixture {
    server: Server,
    _dir: tempfile::TempDir,
    oracle: Oracle,
    /// The moment just before client 3's withdrawal was accepted.
    voor_intrekking: String,
    isd: String,
}

impl Fixture {
    async fn get(&self, token: &str, path: &str) -> Reply {
        Reply::send(
            client_for(token)
                .build()
                .unwrap()
                .get(self.server.url(path)),
        )
        .await
    }

    async fn json(&self, path: &str) -> Value {
        let r = self.get(&self.server.token, path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("application/json"),
            "{path}"
        );
        r.json()
    }

    async fn beheer(&self, method: reqwest::Method, path: &str, body: Value) -> Reply {
        let beheer = self.server.beheer.clone().expect("the beheer token");
        Reply::send(
            client_for(&beheer)
                .build()
                .unwrap()
                .request(method, self.server.url(path))
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
        .await
    }

    /// Sets whether organisation `org` takes part in the benchmark.
    async fn deelname(&self, org: &str, ja: bool) -> Reply {
        let path = format!("/api/v1/beheer/organisaties/{org}/benchmark");
        self.beheer(reqwest::Method::PUT, &path, json!({"deelname": ja}))
            .await
    }

    /// A credential of organisation `org` with `rollen`.
    async fn token(&self, org: &str, rollen: &[&str]) -> String {
        let r = self
            .beheer(
                reqwest::Method::POST,
                "/api/v1/beheer/sleutels",
                json!({"organisatie": org, "rollen": rollen}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()["token"].as_str().expect("token").to_string()
    }

    async fn send(&mut self, token: &str, bericht: Bericht) {
        // Sent after every measurement date of the history.
        let bericht = bericht.verzonden("2026-01-20T10:00:00+01:00");
        let r = Reply::send(
            client_for(token)
                .build()
                .unwrap()
                .post(self.server.url("/api/v1/berichten"))
                .header("content-type", XML)
                .body(bericht.bytes()),
        )
        .await;
        assert_eq!(r.status, 201, "{}: {}", bericht.id, r.text());
        let tree = r.tree("Ontvangstbevestiging");
        let root = tree.root();
        let signalen = root
            .children_named("Waarschuwing")
            .map(|w| w.child_value("Code").unwrap().to_string())
            .filter(|c| c.starts_with("signaal."))
            .collect();
        self.oracle.sent.push(Sent {
            volgnummer: root.child_value("Volgnummer").unwrap().parse().unwrap(),
            ontvangen: root.child_value("Ontvangen").unwrap().to_string(),
            signalen,
            bericht,
        });
    }

    async fn new(extra: &[&str]) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start_with(&dir.path().join("data"), extra);
        let mut f = Fixture {
            server,
            _dir: dir,
            oracle: Oracle::default(),
            voor_intrekking: String::new(),
            isd: String::new(),
        };
        let r = f
            .beheer(
                reqwest::Method::POST,
                "/api/v1/beheer/organisaties",
                json!({"id": "isd", "naam": "ISD Twee Gemeenten", "gemeenten": ["0534", "0553"]}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        f.isd = f.token("isd", &["aanleveren", "rapporteren"]).await;
        let t = f.server.token.clone();
        let m = Bericht::meting;
        let c = Bericht::correctie;
        // 1: up from 2 to 3, Team Noord, subgroups 1 and 3, an instrument.
        f.send(
            &t,
            m("R-1a", "0363", &bsn(1), "2024-03-01", 2).team("Team Noord"),
        )
        .await;
        f.send(
            &t,
            m("R-1b", "0363", &bsn(1), "2025-03-01", 3)
                .team("Team Noord")
                .geslacht("V")
                .subgroepen(&[1, 3])
                .inkomen(&["gemeentelijke-uitkering"])
                .instrument(Some(true), None)
                .planning(Some("2025-09-01"), Some("2026-01-01")),
        )
        .await;
        // 2: a chain of corrections, 1 → 2 → 4 on one date; Team Zuid.
        f.send(
            &t,
            m("R-2a", "0363", &bsn(2), "2024-05-01", 1).team("Team Zuid"),
        )
        .await;
        f.send(
            &t,
            c("R-2b", "R-2a", "0363", &bsn(2), "2024-05-01", 2).team("Team Zuid"),
        )
        .await;
        f.send(
            &t,
            c("R-2c", "R-2b", "0363", &bsn(2), "2024-05-01", 4)
                .team("Team Zuid")
                .geslacht("M")
                .subgroepen(&[3])
                .planning(Some("2026-02-15"), Some("2026-05-01")),
        )
        .await;
        // 3: rung 5, then a rung-6 measurement that is withdrawn (last).
        f.send(
            &t,
            m("R-3a", "0363", &bsn(3), "2024-06-01", 5).instrument(None, Some(true)),
        )
        .await;
        f.send(&t, m("R-3b", "0363", &bsn(3), "2025-02-01", 6))
            .await;
        // 4: new in 2025, at intake; young.
        f.send(
            &t,
            m("R-4a", "0363", &bsn(4), "2025-04-01", 0).geboortedatum("2001-01-01"),
        )
        .await;
        // 5: leaves the ladder; 6: comes back on.
        f.send(&t, m("R-5a", "0363", &bsn(5), "2024-01-15", 3))
            .await;
        f.send(&t, m("R-5b", "0363", &bsn(5), "2025-06-01", 9))
            .await;
        f.send(&t, m("R-6a", "0363", &bsn(6), "2024-02-01", 9))
            .await;
        f.send(&t, m("R-6b", "0363", &bsn(6), "2025-05-01", 2))
            .await;
        // 7: moves from 0599 to 0363.
        f.send(&t, m("R-7a", "0599", &bsn(7), "2024-03-01", 2))
            .await;
        f.send(&t, m("R-7b", "0363", &bsn(7), "2025-03-01", 3))
            .await;
        // 8: measured twice on one day; the later counts. Old, and rung 5
        // without an instrument recorded (a signaal).
        f.send(
            &t,
            m("R-8a", "0363", &bsn(8), "2025-07-01", 4).geboortedatum("1960-05-05"),
        )
        .await;
        f.send(
            &t,
            m("R-8b", "0363", &bsn(8), "2025-07-01", 5).geboortedatum("1960-05-05"),
        )
        .await;
        // Correcting the earlier one of that day leaves the later counting.
        f.send(
            &t,
            c("R-8c", "R-8a", "0363", &bsn(8), "2025-07-01", 2).geboortedatum("1960-05-05"),
        )
        .await;
        // 9: entered in error, withdrawn: never counts.
        f.send(&t, m("R-9a", "0363", &bsn(9), "2024-09-01", 1))
            .await;
        f.send(&t, Bericht::intrekking("R-9b", "R-9a", "0363", &bsn(9)))
            .await;
        // 10: 0599 only; 11, 12: the ISD's two municipalities.
        f.send(&t, m("R-10a", "0599", &bsn(10), "2025-01-10", 6))
            .await;
        let isd = f.isd.clone();
        f.send(&isd, m("R-11a", "0534", &bsn(11), "2025-02-02", 3))
            .await;
        f.send(&isd, m("R-12a", "0553", &bsn(12), "2025-03-03", 4))
            .await;
        f.voor_intrekking = f.oracle.sent.last().unwrap().ontvangen.clone();
        f.send(&t, Bericht::intrekking("R-3c", "R-3b", "0363", &bsn(3)))
            .await;
        f
    }
}

fn treden(counts: [(u64, u64); 8]) -> Value {
    Value::Array(
        TREDEN
            .iter()
            .zip(counts)
            .map(|(t, (n, plus))| json!({"trede": t, "clienten": n, "groeipotentieel": plus}))
            .collect(),
    )
}

#[tokio::test]
async fn stand_flows_srg_and_year_match_hand_counts_and_the_oracle() {
    let f = Fixture::new(&[]).await;
    let o = &f.oracle;

    // The stand at the end of 2025 and 2024, by hand.
    let stand = f
        .json("/api/v1/rapportages/stand?gemeente=0363&peildatum=2025-12-31")
        .await;
    let expected_2025 = treden([
        (1, 0),
        (0, 0),
        (1, 1),
        (2, 2),
        (1, 1),
        (2, 2),
        (0, 0),
        (1, 0),
    ]);
    assert_eq!(stand["treden"], expected_2025);
    assert_eq!(stand["gemeente"], "0363");
    assert_eq!(stand["peildatum"], "2025-12-31");
    assert_eq!(
        stand["treden"],
        o.treden("0363", "2025-12-31", u64::MAX, |_| true)
    );
    let stand = f
        .json("/api/v1/rapportages/stand?gemeente=0363&peildatum=2024-12-31")
        .await;
    assert_eq!(
        stand["treden"],
        treden([
            (0, 0),
            (0, 0),
            (1, 1),
            (1, 1),
            (1, 1),
            (1, 1),
            (0, 0),
            (1, 0)
        ])
    );
    // Client 7 counted for 0599 in 2024, for 0363 in 2025.
    let r = f
        .json("/api/v1/rapportages/stand?gemeente=0599&peildatum=2024-12-31")
        .await;
    assert_eq!(
        r["treden"],
        treden([
            (0, 0),
            (0, 0),
            (1, 1),
            (0, 0),
            (0, 0),
            (0, 0),
            (0, 0),
            (0, 0)
        ])
    );
    let r = f
        .json("/api/v1/rapportages/stand?gemeente=0599&peildatum=2025-12-31")
        .await;
    assert_eq!(
        r["treden"],
        treden([
            (0, 0),
            (0, 0),
            (0, 0),
            (0, 0),
            (0, 0),
            (0, 0),
            (1, 0),
            (0, 0)
        ])
    );
    // Before any measurement: zeros on every rung.
    let r = f
        .json("/api/v1/rapportages/stand?gemeente=0363&peildatum=2020-01-01")
        .await;
    assert_eq!(r["treden"], treden([(0, 0); 8]));
    for (g, d) in [
        ("0363", "2024-06-30"),
        ("0363", "2025-07-01"),
        ("0534", "2025-12-31"),
        ("0553", "2025-03-02"),
    ] {
        let r = f
            .json(&format!(
                "/api/v1/rapportages/stand?gemeente={g}&peildatum={d}"
            ))
            .await;
        assert_eq!(r["treden"], o.treden(g, d, u64::MAX, |_| true), "{g} {d}");
    }

    // As known before client 3's rung-6 measurement was withdrawn.
    let p = f.voor_intrekking.replace('+', "%2B");
    let then = f
        .json(&format!(
            "/api/v1/rapportages/stand?gemeente=0363&peildatum=2025-12-31&peilmoment={p}"
        ))
        .await;
    assert_eq!(
        then["treden"],
        treden([
            (1, 0),
            (0, 0),
            (1, 1),
            (2, 2),
            (1, 1),
            (1, 1),
            (1, 0),
            (1, 0)
        ])
    );
    let upto = o.sent[o.sent.len() - 2].volgnummer;
    assert_eq!(
        then["treden"],
        o.treden("0363", "2025-12-31", upto, |_| true)
    );

    // Flows from the end of 2024 to the end of 2025, by hand.
    let flows = f
        .json("/api/v1/rapportages/stromen?gemeente=0363&van=2024-12-31&tot=2025-12-31")
        .await;
    let cell = |van: Option<u8>, naar: u8, n: u64| json!({"van": van, "naar": naar, "clienten": n});
    assert_eq!(
        flows["stromen"],
        json!([
            cell(None, 0, 1),
            cell(None, 5, 1),
            cell(Some(2), 3, 2),
            cell(Some(3), 9, 1),
            cell(Some(4), 4, 1),
            cell(Some(5), 5, 1),
            cell(Some(9), 2, 1),
        ])
    );
    assert_eq!(
        flows["stromen"],
        o.stromen("0363", "2024-12-31", "2025-12-31")
    );
    for (g, van, tot) in [
        ("0363", "2024-03-01", "2025-03-01"),
        ("0599", "2024-01-01", "2025-12-31"),
    ] {
        let r = f
            .json(&format!(
                "/api/v1/rapportages/stromen?gemeente={g}&van={van}&tot={tot}"
            ))
            .await;
        assert_eq!(r["stromen"], o.stromen(g, van, tot), "{g} {van} {tot}");
    }

    // SRG: 99 intake; without an instrument 0; with one the rung (5 → 5a).
    let srg = f
        .json("/api/v1/rapportages/srg?gemeente=0363&peildatum=2025-12-31")
        .await;
    let row = |c: &str, n: u64| json!({"srg": c, "clienten": n});
    assert_eq!(
        srg["srg"],
        json!([
            row("99", 1),
            row("0", 4),
            row("1", 0),
            row("2", 0),
            row("3", 1),
            row("4", 0),
            row("5a", 1),
            row("5b", 0)
        ])
    );
    assert_eq!(srg["srg"], o.srg("0363", "2025-12-31"));

    // The yearly report: the stand at 31 December with its SRG table.
    let jaar = f
        .json("/api/v1/rapportages/jaar?gemeente=0363&jaar=2025")
        .await;
    assert_eq!(jaar["peildatum"], "2025-12-31");
    assert_eq!(jaar["treden"], expected_2025);
    assert_eq!(jaar["srg"], srg["srg"]);
}

#[tokio::test]
async fn breakdowns_count_each_group_and_csv_gives_the_same_table() {
    let f = Fixture::new(&[]).await;
    let o = &f.oracle;
    let d = "2025-12-31";
    let groups = |r: &Value| -> Vec<(String, Value)> {
        r["groepen"]
            .as_array()
            .expect("groepen")
            .iter()
            .map(|g| {
                (
                    g["groep"].as_str().unwrap().to_string(),
                    g["treden"].clone(),
                )
            })
            .collect()
    };
    let r = f
        .json("/api/v1/rapportages/stand?gemeente=0363&peildatum=2025-12-31&groepeerOp=team")
        .await;
    assert_eq!(r["groepeerOp"], "team");
    let team =
        |name: &'static str| move |s: &Sent| s.bericht.kenmerken.team.as_deref() == Some(name);
    assert_eq!(
        groups(&r),
        vec![
            (
                "Team Noord".into(),
                o.treden("0363", d, u64::MAX, team("Team Noord"))
            ),
            (
                "Team Zuid".into(),
                o.treden("0363", d, u64::MAX, team("Team Zuid"))
            ),
            (
                "onbekend".into(),
                o.treden("0363", d, u64::MAX, |s| s.bericht.kenmerken.team.is_none())
            ),
        ]
    );
    // Client 1 is in subgroups 1 and 3 and counts in each.
    let r = f
        .json("/api/v1/rapportages/stand?gemeente=0363&peildatum=2025-12-31&groepeerOp=subgroep")
        .await;
    let sub = |n: u8| move |s: &Sent| s.bericht.kenmerken.subgroepen.contains(&n);
    assert_eq!(
        groups(&r),
        vec![
            ("1".into(), o.treden("0363", d, u64::MAX, sub(1))),
            ("3".into(), o.treden("0363", d, u64::MAX, sub(3))),
            (
                "onbekend".into(),
                o.treden("0363", d, u64::MAX, |s| s
                    .bericht
                    .kenmerken
                    .subgroepen
                    .is_empty())
            ),
        ]
    );
    let total = |v: &Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|t| t["clienten"].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(
        groups(&r).iter().map(|(_, t)| total(t)).sum::<u64>(),
        9,
        "8 clients, one in two groups"
    );
    // Ages at the date: 4 is 24, 8 is 65, the rest 44.
    let r = f
        .json("/api/v1/rapportages/stand?gemeente=0363&peildatum=2025-12-31&groepeerOp=leeftijd")
        .await;
    let names: Vec<(String, u64)> = groups(&r)
        .into_iter()
        .map(|(g, t)| (g, total(&t)))
        .collect();
    assert_eq!(
        names,
        [("27-44".into(), 6), ("55+".into(), 1), ("<27".into(), 1)]
    );
    let r = f
        .json("/api/v1/rapportages/stand?gemeente=0363&peildatum=2025-12-31&groepeerOp=geslacht")
        .await;
    let names: Vec<(String, u64)> = groups(&r)
        .into_iter()
        .map(|(g, t)| (g, total(&t)))
        .collect();
    assert_eq!(
        names,
        [("M".into(), 1), ("V".into(), 1), ("onbekend".into(), 6)]
    );
    let r = f
        .json("/api/v1/rapportages/stromen?gemeente=0363&van=2024-12-31&tot=2025-12-31&groepeerOp=team")
        .await;
    let flows: Vec<String> = r["groepen"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| format!("{}:{}", g["groep"], g["stromen"]))
        .collect();
    assert_eq!(
        flows[..2],
        [
            r#""Team Noord":[{"clienten":1,"naar":3,"van":2}]"#,
            r#""Team Zuid":[{"clienten":1,"naar":4,"van":4}]"#
        ]
    );

    // CSV: the same table, one row per cell.
    let csv = Reply::send(
        f.server
            .client()
            .get(
                f.server
                    .url("/api/v1/rapportages/stand?gemeente=0363&peildatum=2025-12-31"),
            )
            .header("accept", "text/csv"),
    )
    .await;
    assert_eq!(csv.status, 200);
    assert_eq!(
        csv.header("content-type").as_deref(),
        Some("text/csv; charset=utf-8")
    );
    assert!(csv
        .header("content-disposition")
        .unwrap()
        .contains("stand-0363-2025-12-31.csv"));
    assert_eq!(
        csv.text(),
        "trede,clienten,groeipotentieel\r\n0,1,0\r\n1,0,0\r\n2,1,1\r\n3,2,2\r\n4,1,1\r\n5,2,2\r\n6,0,0\r\n9,1,0\r\n"
    );
    let csv = Reply::send(
        f.server
            .client()
            .get(
                f.server
                    .url("/api/v1/rapportages/stromen?gemeente=0363&van=2024-12-31&tot=2025-12-31"),
            )
            .header("accept", "text/csv"),
    )
    .await;
    assert_eq!(
        csv.text(),
        "van,naar,clienten\r\nnieuw,0,1\r\nnieuw,5,1\r\n2,3,2\r\n3,9,1\r\n4,4,1\r\n5,5,1\r\n9,2,1\r\n"
    );
}

#[tokio::test]
async fn the_benchmark_shows_only_consenting_municipalities_with_small_cells_suppressed() {
    let mut f = Fixture::new(&[]).await;
    // Twelve more clients on rung 3 in 0363, six of them in subgroup 3.
    let t = f.server.token.clone();
    for n in 30..42 {
        let b = Bericht::meting(&format!("R-{n}"), "0363", &bsn(n), "2025-10-01", 3);
        let b = if n < 36 { b.subgroepen(&[3]) } else { b };
        f.send(&t, b).await;
    }
    let get = |q: &'static str| f.json(q);
    // Nobody takes part by default.
    let r = get("/api/v1/rapportages/benchmark?peildatum=2025-12-31").await;
    assert_eq!(r["gemeenten"], json!([]));
    assert_eq!(
        (r["drempel"].as_u64(), r["afronding"].as_u64()),
        (Some(10), Some(5))
    );
    // The ISD alone: its municipalities are also the test organisation's,
    // which has not agreed, so they stay out.
    let r = f.deelname("isd", true).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["benchmark"], true);
    let listed = |r: &Value| -> Vec<String> {
        r["gemeenten"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["gemeente"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(listed(&get("/api/v1/rapportages/benchmark?peildatum=2025-12-31").await).is_empty());
    assert_eq!(f.deelname("test", true).await.status, 200);
    let r = get("/api/v1/rapportages/benchmark?peildatum=2025-12-31").await;
    let mut every: Vec<&str> = common::server::TEST_GEMEENTEN.split(',').collect();
    every.sort();
    assert_eq!(listed(&r), every);
    let rows = r["gemeenten"].as_array().unwrap();
    let row = |g: &str| rows.iter().find(|r| r["gemeente"] == g).unwrap().clone();
    let cells = |r: &Value| -> Vec<Value> {
        r["treden"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["aandeel"].clone())
            .collect()
    };
    let small = json!("<10");
    let s = small.clone();
    // 0363: 1, 0, 1, 14, 1, 2, 0, 1 on 0-6, 9: 20 clients; only rung 3
    // reaches 10, shown as its rounded 15 of 20.
    assert_eq!(
        cells(&row("0363")),
        [
            s.clone(),
            s.clone(),
            s.clone(),
            json!(75.0),
            s.clone(),
            s.clone(),
            s.clone(),
            s
        ]
    );
    assert_eq!(row("0363")["clienten"], 20);
    assert_eq!(row("0534")["clienten"], 0);
    // Subgroup 3: clients 1, 2 and six new ones: 8, rounded 10.
    let r = get("/api/v1/rapportages/benchmark?peildatum=2025-12-31&subgroep=3").await;
    assert_eq!(r["subgroep"], 3);
    let rows = r["gemeenten"].as_array().unwrap();
    let amsterdam = rows.iter().find(|r| r["gemeente"] == "0363").unwrap();
    assert!(cells(amsterdam).iter().all(|c| c == &small), "{amsterdam}");
    assert_eq!(amsterdam["clienten"], 10);
    // CSV: one row per cell.
    let csv = Reply::send(
        f.server
            .client()
            .get(
                f.server
                    .url("/api/v1/rapportages/benchmark?peildatum=2025-12-31"),
            )
            .header("accept", "text/csv"),
    )
    .await;
    assert!(
        csv.text()
            .contains("\r\n0363,20,3,75.0\r\n0363,20,4,<10\r\n"),
        "{}",
        csv.text()
    );
    // Withdrawn: gone again.
    assert_eq!(f.deelname("test", false).await.status, 200);
    assert!(listed(&get("/api/v1/rapportages/benchmark?peildatum=2025-12-31").await).is_empty());
    // Another organisation's administrator may not set it.
    let isd_beheer = f.token("isd", &["beheer"]).await;
    let r = Reply::send(
        client_for(&isd_beheer)
            .build()
            .unwrap()
            .put(f.server.url("/api/v1/beheer/organisaties/test/benchmark"))
            .header("content-type", "application/json")
            .body(json!({"deelname": true}).to_string()),
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.text());
}

#[tokio::test]
async fn worklists_list_overdue_due_and_signalled_clients_for_afnemen_only() {
    let f = Fixture::new(&[]).await;
    let r = f
        .json("/api/v1/werklijsten?gemeente=0363&peildatum=2026-02-01&binnenDagen=30")
        .await;
    let bsns = |list: &str| -> Vec<String> {
        r[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["bsn"].as_str().unwrap().to_string())
            .collect()
    };
    // Client 1's UitersteMeetdatum (2026-01-01) has passed; client 2 is
    // planned for 2026-02-15.
    assert_eq!(bsns("teLaat"), [bsn(1)]);
    assert_eq!(bsns("binnenkort"), [bsn(2)]);
    // Between its planned date (passed) and its latest: due.
    let before = f
        .json("/api/v1/werklijsten?gemeente=0363&peildatum=2025-12-15&binnenDagen=30")
        .await;
    let due: Vec<&str> = before["binnenkort"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["bsn"].as_str().unwrap())
        .collect();
    assert_eq!(due, [bsn(1)]);
    assert!(before["teLaat"].as_array().unwrap().is_empty(), "{before}");
    assert_eq!(r["teLaat"][0]["team"], "Team Noord");
    assert_eq!(r["teLaat"][0]["uitersteMeetdatum"], "2026-01-01");
    // Signalled: the clients whose latest counting measurement's
    // acknowledgement carried a signaal.* warning (client 8 at least).
    let o = &f.oracle;
    let mut expected: Vec<String> = o
        .clients()
        .into_iter()
        .filter_map(|n| o.state(n, "9999-12-31", u64::MAX))
        .filter(|s| {
            s.bericht.gemeente == "0363" && s.bericht.trede != "9" && !s.signalen.is_empty()
        })
        .map(|s| s.bericht.bsn.clone())
        .collect();
    expected.sort();
    let mut got = bsns("signalen");
    got.sort();
    assert_eq!(got, expected);
    assert!(got.contains(&bsn(8)), "{r}");
    // Counts per client-manager.
    let per = r["perMedewerker"].as_array().unwrap();
    let noord = per.iter().find(|p| p["team"] == "Team Noord").unwrap();
    assert_eq!(
        (noord["teLaat"].as_u64(), noord["binnenkort"].as_u64()),
        (Some(1), Some(0))
    );
    // CSV, with the BSNs: personal data.
    let csv = Reply::send(
        f.server
            .client()
            .get(
                f.server
                    .url("/api/v1/werklijsten?gemeente=0363&peildatum=2026-02-01"),
            )
            .header("accept", "text/csv"),
    )
    .await;
    assert!(
        csv.text().starts_with("lijst,team,medewerker,bsn,"),
        "{}",
        csv.text()
    );
    assert!(csv.text().contains(&format!(
        "teLaat,Team Noord,Karin de Wit,{},2025-03-01,3,2025-09-01,2026-01-01,",
        bsn(1)
    )));

    // Roles: reports need rapporteren, worklists afnemen.
    let rapporteren = f.token("test", &["rapporteren"]).await;
    let afnemen = f.token("test", &["afnemen"]).await;
    let aanleveren = f.token("test", &["aanleveren"]).await;
    let stand = "/api/v1/rapportages/stand?gemeente=0363&peildatum=2025-12-31";
    let lists = "/api/v1/werklijsten?gemeente=0363";
    assert_eq!(f.get(&rapporteren, stand).await.status, 200);
    assert_eq!(f.get(&afnemen, stand).await.status, 403);
    assert_eq!(f.get(&aanleveren, stand).await.status, 403);
    assert_eq!(f.get(&rapporteren, lists).await.status, 403);
    assert_eq!(f.get(&afnemen, lists).await.status, 200);
    assert_eq!(f.get("onzin", stand).await.status, 401);
    // A municipality the caller does not act for: the usual refusal.
    let r = f.get(&f.isd, stand).await;
    assert_eq!(r.status, 403);
    problem(&r, 403, "auth.geen-toegang");
}

#[tokio::test]
async fn bad_parameters_are_refused_with_a_problem_naming_them_and_reads_are_audited() {
    let f = Fixture::new(&[]).await;
    let t = f.server.token.clone();
    for (path, names) in [
        ("/api/v1/rapportages/stand?peildatum=2025-12-31", "gemeente"),
        (
            "/api/v1/rapportages/stand?gemeente=363&peildatum=2025-12-31",
            "gemeente",
        ),
        ("/api/v1/rapportages/stand?gemeente=0363", "peildatum"),
        (
            "/api/v1/rapportages/stand?gemeente=0363&peildatum=2025-02-30",
            "peildatum",
        ),
        (
            "/api/v1/rapportages/stand?gemeente=0363&peildatum=31-12-2025",
            "peildatum",
        ),
        (
            "/api/v1/rapportages/stand?gemeente=0363&peildatum=2025-12-31&groepeerOp=wijk",
            "groepeerOp",
        ),
        (
            "/api/v1/rapportages/stand?gemeente=0363&peildatum=2025-12-31&peilmoment=gisteren",
            "peilmoment",
        ),
        (
            "/api/v1/rapportages/stromen?gemeente=0363&van=2025-12-31&tot=2024-12-31",
            "van",
        ),
        (
            "/api/v1/rapportages/jaar?gemeente=0363&jaar=twintig",
            "jaar",
        ),
        (
            "/api/v1/rapportages/benchmark?peildatum=2025-12-31&subgroep=8",
            "subgroep",
        ),
        (
            "/api/v1/werklijsten?gemeente=0363&binnenDagen=-1",
            "binnenDagen",
        ),
        // A typo, or a parameter the report does not take, is never ignored.
        (
            "/api/v1/rapportages/stand?gemeente=0363&peildatum=2025-12-31&groeperOp=team",
            "groeperOp",
        ),
        (
            "/api/v1/werklijsten?gemeente=0363&peilmoment=2025-01-01T00:00:00Z",
            "peilmoment",
        ),
        (
            "/api/v1/rapportages/srg?gemeente=0363&peildatum=2025-12-31&groepeerOp=team",
            "groepeerOp",
        ),
        (
            "/api/v1/rapportages/stromen?gemeente=0363&van=2024-12-31",
            "tot",
        ),
        ("/api/v1/rapportages/jaar?gemeente=0363&jaar=1899", "jaar"),
        (
            "/api/v1/rapportages/stand?gemeente=0363&peildatum=2025-12-31Z",
            "peildatum",
        ),
        ("/api/v1/rapportages/benchmark", "peildatum"),
    ] {
        let r = f.get(&t, path).await;
        let p = problem(&r, 400, "http.parameter");
        assert!(p["detail"].as_str().unwrap().contains(names), "{path}: {p}");
    }
    // Accept with qualities: CSV only when preferred.
    let stand = "/api/v1/rapportages/stand?gemeente=0363&peildatum=2025-12-31";
    for (accept, csv) in [
        ("text/csv;q=0, application/json", false),
        ("application/json;q=0.5, text/csv", true),
        ("*/*", false),
        ("text/*", true),
        ("text/csvx", false),
    ] {
        let r = Reply::send(
            f.server
                .client()
                .get(f.server.url(stand))
                .header("accept", accept),
        )
        .await;
        let ct = r.header("content-type").unwrap_or_default();
        assert_eq!(
            ct.starts_with("text/csv"),
            csv,
            "Accept: {accept} gave {ct}"
        );
    }
    // A municipality the caller does not act for.
    let r = f
        .get(
            &f.isd,
            "/api/v1/rapportages/srg?gemeente=0363&peildatum=2025-12-31",
        )
        .await;
    problem(&r, 403, "auth.geen-toegang");

    // Every report read is in the audit log, with its municipality.
    f.json("/api/v1/rapportages/srg?gemeente=0599&peildatum=2025-12-31")
        .await;
    // A worklist's entry names the clients it listed, hashed, never in clear.
    let lijst = f
        .json("/api/v1/werklijsten?gemeente=0363&peildatum=2026-02-01")
        .await;
    let listed =
        lijst["teLaat"].as_array().unwrap().len() + lijst["binnenkort"].as_array().unwrap().len();
    assert!(listed > 0, "{lijst}");
    let beheer = f.server.beheer.clone().unwrap();
    let audit = f
        .get(&beheer, "/api/v1/beheer/audit?organisatie=test")
        .await
        .json();
    let entries = audit["audit"].as_array().expect("entries");
    assert!(
        entries
            .iter()
            .any(|e| e["route"] == "/api/v1/rapportages/srg"
                && e["gemeente"] == "0599"
                && e["status"] == 200),
        "{audit}"
    );
    let worklist = entries
        .iter()
        .rfind(|e| e["route"] == "/api/v1/werklijsten")
        .expect("the worklist read");
    let hashes = worklist["bsn_hashes"].as_array().unwrap();
    assert!(hashes.len() >= listed, "{worklist}");
    assert!(
        !audit.to_string().contains(&bsn(1)),
        "no BSN in clear in the audit log"
    );
}

/// Element-wise sum of `treden` arrays.
fn summed(parts: &[&Value]) -> Value {
    let mut out = treden([(0, 0); 8]);
    for part in parts {
        for (o, p) in out
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .zip(part.as_array().unwrap())
        {
            for k in ["clienten", "groeipotentieel"] {
                o[k] = json!(o[k].as_u64().unwrap() + p[k].as_u64().unwrap());
            }
        }
    }
    out
}

#[tokio::test]
async fn alle_counts_every_municipality_the_caller_acts_for_and_no_other() {
    let f = Fixture::new(&[]).await;
    let o = &f.oracle;
    let d = "2025-12-31";
    // The ISD acts for 0534 and 0553: its "alle" is their sum, and none of
    // 0363's or 0599's clients.
    let r = f
        .get(
            &f.isd,
            &format!("/api/v1/rapportages/stand?gemeente=alle&peildatum={d}"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let isd = r.json();
    assert_eq!(isd["gemeente"], "alle");
    let (a, b) = (
        o.treden("0534", d, u64::MAX, |_| true),
        o.treden("0553", d, u64::MAX, |_| true),
    );
    assert_eq!(isd["treden"], summed(&[&a, &b]));
    // The test credential's "alle" is the sum over its own municipalities
    // (the ISD's among them), client 7 counted once: for 0363, where it is
    // at the date.
    let all = f
        .json(&format!(
            "/api/v1/rapportages/stand?gemeente=alle&peildatum={d}"
        ))
        .await;
    let mut parts = Vec::new();
    for g in common::server::TEST_GEMEENTEN.split(',') {
        parts.push(
            f.json(&format!(
                "/api/v1/rapportages/stand?gemeente={g}&peildatum={d}"
            ))
            .await["treden"]
                .clone(),
        );
    }
    assert_eq!(all["treden"], summed(&parts.iter().collect::<Vec<_>>()));
    // Flows and the year: the same sums.
    let stromen = f
        .get(
            &f.isd,
            "/api/v1/rapportages/stromen?gemeente=alle&van=2024-12-31&tot=2025-12-31",
        )
        .await
        .json();
    let mut expected: Vec<Value> = ["0534", "0553"]
        .iter()
        .flat_map(|g| {
            o.stromen(g, "2024-12-31", "2025-12-31")
                .as_array()
                .unwrap()
                .clone()
        })
        .collect();
    expected.sort_by_key(|c| (c["van"].as_u64(), c["naar"].as_u64()));
    assert_eq!(stromen["stromen"], Value::Array(expected), "{stromen}");
    let jaar = f
        .get(&f.isd, "/api/v1/rapportages/jaar?gemeente=alle&jaar=2025")
        .await
        .json();
    assert_eq!(jaar["treden"], isd["treden"]);
    // Worklists hold personal data: one municipality at a time.
    let r = f
        .get(&f.server.token, "/api/v1/werklijsten?gemeente=alle")
        .await;
    problem(&r, 400, "http.parameter");
}

/// The clients a stand counts, over all rungs.
fn total(treden: &Value) -> u64 {
    treden
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["clienten"].as_u64().unwrap())
        .sum()
}

#[tokio::test]
async fn a_client_in_two_municipalities_counts_in_each_at_its_dates_and_once_for_alle() {
    let f = Fixture::new(&[]).await;
    let o = &f.oracle;
    // Client 7 moved from 0599 to 0363 (first in code order, where the
    // national pass meets its timeline): 0599's at the end of 2024.
    let at = |d| o.state(7, d, u64::MAX).map(|s| s.bericht.gemeente.clone());
    assert_eq!(at("2024-12-31").as_deref(), Some("0599"));
    assert_eq!(at("2025-12-31").as_deref(), Some("0363"));
    for d in ["2024-12-31", "2025-12-31"] {
        let mut parts = Vec::new();
        let mut without_7 = 0;
        for g in common::server::TEST_GEMEENTEN.split(',') {
            let stand = f
                .json(&format!(
                    "/api/v1/rapportages/stand?gemeente={g}&peildatum={d}"
                ))
                .await;
            let expected = o.treden(g, d, u64::MAX, |_| true);
            assert_eq!(stand["treden"], expected, "{g} at {d}");
            without_7 += total(&o.treden(g, d, u64::MAX, |s| s.bericht.bsn != bsn(7)));
            parts.push(stand["treden"].clone());
        }
        let all = f
            .json(&format!(
                "/api/v1/rapportages/stand?gemeente=alle&peildatum={d}"
            ))
            .await;
        assert_eq!(
            all["treden"],
            summed(&parts.iter().collect::<Vec<_>>()),
            "alle at {d}"
        );
        assert_eq!(total(&all["treden"]), without_7 + 1, "client 7 once at {d}");
    }
}
