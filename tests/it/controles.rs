//! The municipalities' checks as meant, through the real HTTP API: absent
//! items are not "no", a programme is an instrument in use or deployed, and
//! where the method is lenient (growth potential `0` where it does not
//! apply, a potentietrede alone) ladderpost accepts, says what it did, and
//! counts the derived growth potential in the reports. Each warning's own
//! fixture goes through the API in `api::fixture_warnings_are_reported_as_waarschuwing`.

use super::common;

use common::messages::{bsn, Bericht};
use common::reply::{fout, melding, Melding, Reply};
use common::server::Server;

const BERICHTEN: &str = "/api/v1/berichten";
const VALIDEER: &str = "/api/v1/berichten/_valideer";

struct Api {
    server: Server,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Api {
    fn start() -> Api {
        let dir = tempfile::tempdir().expect("temp dir");
        let server = Server::start(&dir.path().join("data"));
        Api {
            client: server.client(),
            server,
            _dir: dir,
        }
    }

    async fn post(&self, path: &str, body: Vec<u8>) -> Reply {
        Reply::send(
            self.client
                .post(self.server.url(path))
                .header("content-type", "application/xml")
                .body(body),
        )
        .await
    }

    /// The warnings of a trial validation (200, nothing stored).
    async fn warnings(&self, bericht: &Bericht) -> Vec<Melding> {
        let reply = self.post(VALIDEER, bericht.bytes()).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        let tree = reply.tree("Validatieresultaat");
        tree.root()
            .children_named("Waarschuwing")
            .map(melding)
            .collect()
    }

    async fn codes(&self, bericht: &Bericht) -> Vec<String> {
        self.warnings(bericht)
            .await
            .into_iter()
            .map(|w| w.code)
            .collect()
    }

    /// Posts a fixture for real; the acknowledgement's warnings.
    async fn accept_fixture(&self, dir: &str, file: &str) -> Vec<Melding> {
        let bytes = std::fs::read(common::root().join("fixtures").join(dir).join(file)).unwrap();
        let reply = self.post(BERICHTEN, bytes).await;
        assert_eq!(reply.status, 201, "{file}: {}", reply.text());
        let tree = reply.tree("Ontvangstbevestiging");
        tree.root()
            .children_named("Waarschuwing")
            .map(melding)
            .collect()
    }
}

fn meting(n: u64, trede: u8) -> Bericht {
    Bericht::meting(
        &format!("TST-CTL-{n}"),
        "0363",
        &bsn(n),
        "2024-03-08",
        trede,
    )
    .subgroepen(&[3])
}

#[tokio::test]
async fn a_missing_instrument_item_is_not_read_as_no() {
    let api = Api::start();
    let vijf = "signaal.trede-5-zonder-instrument";
    for (in_gebruik, ingezet, want) in [
        (None, None, vec![]),
        (Some(false), None, vec![]),
        (None, Some(false), vec![]),
        (Some(false), Some(false), vec![vijf]),
        (Some(true), Some(false), vec![]),
    ] {
        let bericht = meting(1, 5).instrument(in_gebruik, ingezet);
        assert_eq!(
            api.codes(&bericht).await,
            want,
            "InstrumentInGebruik {in_gebruik:?}, InstrumentIngezet {ingezet:?}"
        );
    }
}

#[tokio::test]
async fn a_programme_is_an_instrument_in_use_or_deployed() {
    let api = Api::start();
    for (in_gebruik, ingezet) in [(Some(true), None), (None, Some(true))] {
        // Rung 6 while a programme runs.
        let zes = meting(2, 6).instrument(in_gebruik, ingezet);
        assert_eq!(
            api.codes(&zes).await,
            ["signaal.trede-6-met-ondersteuning"],
            "{in_gebruik:?} {ingezet:?}"
        );
        // Rung 2 with a programme; the builder's growth potential is "+".
        let twee = meting(3, 2).instrument(in_gebruik, ingezet);
        assert_eq!(
            api.codes(&twee).await,
            ["signaal.traject-op-trede-1-of-2"],
            "{in_gebruik:?} {ingezet:?}"
        );
    }
    // Neither recorded true: no programme, no warning.
    let zes = meting(4, 6).instrument(Some(false), None);
    assert_eq!(api.codes(&zes).await, Vec::<String>::new());
}

#[tokio::test]
async fn the_data_set_definitions_are_checked_where_recorded() {
    let api = Api::start();
    // The builder's client was born in 1981: 42 at the measurement.
    let cases: [(Bericht, &[&str]); 6] = [
        (
            meting(5, 3).inkomen(&["geen-uitkering", "gemeentelijke-uitkering"]),
            &["signaal.geen-uitkering-met-uitkering"],
        ),
        (
            meting(6, 3).subgroepen(&[6]),
            &["signaal.subgroep-6-leeftijd"],
        ),
        (
            meting(7, 3).subgroepen(&[1, 7]).inkomen(&["werk"]),
            &["signaal.subgroep-zonder-inkomen"],
        ),
        // No income recorded: nothing to compare the subgroups with.
        (meting(8, 3).subgroepen(&[1, 7]), &[]),
        (
            meting(9, 3).geboortedatum("2010-01-01"),
            &["signaal.jonger-dan-18"],
        ),
        (
            Bericht::meting("TST-CTL-10", "0363", &bsn(10), "2024-03-08", 3),
            &["signaal.subgroep-ontbreekt"],
        ),
    ];
    for (bericht, want) in &cases {
        assert_eq!(&api.codes(bericht).await, want, "{}", bericht.xml());
    }
    // The missing subgroup is reported at the message itself.
    let w = api.warnings(&cases[5].0).await;
    assert_eq!(w[0].pad.as_deref(), Some("/Meting"));
}

#[tokio::test]
async fn a_potentietrede_alone_is_accepted_and_its_growth_potential_counted() {
    let api = Api::start();
    let w = api
        .accept_fixture("valid", "meting-0014-trede5-groeipotentieel-afgeleid.xml")
        .await;
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].code, "signaal.groeipotentieel-afgeleid");
    assert_eq!(w[0].pad.as_deref(), Some("/Meting/Plaatsing/Potentietrede"));
    assert!(w[0].omschrijving.contains("\"+\""), "{w:?}");

    // The stand counts the derived "+" like a recorded one.
    let path = "/api/v1/rapportages/stand?gemeente=0014&peildatum=2024-12-31";
    let reply = Reply::send(api.client.get(api.server.url(path))).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let stand = reply.json();
    let vijf = stand["treden"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["trede"] == 5)
        .cloned()
        .unwrap();
    assert_eq!(vijf["clienten"], 1, "{stand}");
    assert_eq!(vijf["groeipotentieel"], 1, "{stand}");
}

#[tokio::test]
async fn growth_potential_nul_where_it_does_not_apply_is_accepted_plus_is_not() {
    let api = Api::start();
    let w = api
        .accept_fixture(
            "valid",
            "meting-0363-trede6-groeipotentieel-niet-van-toepassing.xml",
        )
        .await;
    let codes: Vec<&str> = w.iter().map(|w| w.code.as_str()).collect();
    assert_eq!(codes, ["signaal.groeipotentieel-niet-van-toepassing"]);
    assert_eq!(
        w[0].pad.as_deref(),
        Some("/Meting/Plaatsing/Groeipotentieel")
    );
    let plus = std::fs::read(
        common::root()
            .join("fixtures/invalid/regel-groeipotentieel-niet-van-toepassing-trede6.xml"),
    )
    .unwrap();
    fout(
        &api.post(BERICHTEN, plus).await,
        422,
        "regel.groeipotentieel-niet-van-toepassing",
    );
}

/// Schema 1.1's instruments through the API: the list is checked against
/// items 22 and 23 only where both are recorded, a period that ends before
/// it begins is refused at its `Einddatum`, and a 1.0 message may not use
/// them.
#[tokio::test]
async fn instruments_of_1_1_are_checked_as_recorded() {
    let api = Api::start();
    let fixture = std::fs::read_to_string(
        common::root().join("fixtures/valid/meting-0014-trede5-instrumenten.xml"),
    )
    .unwrap();
    let with = |id: &str, pairs: &[(&str, &str)]| -> Vec<u8> {
        let mut xml = fixture.replace("GRN-2024-000877", id);
        for (old, new) in pairs {
            assert_eq!(xml.matches(old).count(), 1, "{old}");
            xml = xml.replace(old, new);
        }
        xml.into_bytes()
    };
    let codes = |reply: &Reply| -> Vec<String> {
        assert_eq!(reply.status, 200, "{}", reply.text());
        let tree = reply.tree("Validatieresultaat");
        let codes = tree
            .root()
            .children_named("Waarschuwing")
            .map(|w| melding(w).code)
            .collect();
        codes
    };
    let tegen = "signaal.instrumenten-tegen-kenmerken";
    let gebruik = "<InstrumentInGebruik>true</InstrumentInGebruik>";
    let ingezet = "<InstrumentIngezet>false</InstrumentIngezet>";
    // Items 22 and 23 both no, an instrument running: the warning, at it.
    let both_no = with(
        "I-1",
        &[(gebruik, "<InstrumentInGebruik>false</InstrumentInGebruik>")],
    );
    let reply = api.post(VALIDEER, both_no).await;
    let got = codes(&reply);
    assert!(got.contains(&tegen.to_string()), "{got:?}");
    let tree = reply.tree("Validatieresultaat");
    let w = tree
        .root()
        .children_named("Waarschuwing")
        .map(melding)
        .find(|w| w.code == tegen)
        .unwrap();
    assert_eq!(w.pad.as_deref(), Some("/Meting/Instrumenten/Instrument"));
    // Item 22 absent: silent (absent is not "no").
    let absent = with(
        "I-2",
        &[
            (gebruik, ""),
            (ingezet, "<InstrumentIngezet>false</InstrumentIngezet>"),
        ],
    );
    assert!(!codes(&api.post(VALIDEER, absent).await).contains(&tegen.to_string()));
    // Every instrument ended before the measurement: nothing runs, silent.
    let ended = with(
        "I-3",
        &[
            (gebruik, "<InstrumentInGebruik>false</InstrumentInGebruik>"),
            (
                "<Einddatum>2025-02-28</Einddatum>",
                "<Einddatum>2024-08-30</Einddatum>",
            ),
        ],
    );
    assert!(!codes(&api.post(VALIDEER, ended).await).contains(&tegen.to_string()));

    // A period that ends before it begins: 422 at the Einddatum, nothing stored.
    let backwards = with(
        "I-4",
        &[(
            "<Einddatum>2025-02-28</Einddatum>",
            "<Einddatum>2024-02-28</Einddatum>",
        )],
    );
    let reply = api.post(BERICHTEN, backwards).await;
    let (_, fouten) = fout(&reply, 422, "regel.instrument-periode");
    assert_eq!(
        fouten[0].pad.as_deref(),
        Some("/Meting/Instrumenten/Instrument/Einddatum")
    );
    // Instrumenten in a message that says 1.0: the 1.0 XSD judges it.
    let old = with("I-5", &[(r#"versie="1.1""#, r#"versie="1.0""#)]);
    let reply = api.post(BERICHTEN, old).await;
    let (_, fouten) = fout(&reply, 400, "xsd.unexpected-element");
    assert!(
        fouten[0].omschrijving.contains("schema 1.1"),
        "{:?}",
        fouten[0]
    );
    let unknown = with("I-6", &[(r#"versie="1.1""#, r#"versie="1.2""#)]);
    fout(&api.post(BERICHTEN, unknown).await, 400, "xsd.versie");

    // The fixture itself is accepted without a warning, in 1.1.
    assert_eq!(
        api.accept_fixture("valid", "meting-0014-trede5-instrumenten.xml")
            .await,
        Vec::<Melding>::new()
    );
}
