//! The synthetic history itself: municipalities with teams and
//! client-managers, clients with their personal data and subgroups, and
//! each client's walk over the ladder through the years, rendered as the
//! messages a municipality would send. A pure function of the [`Plan`]:
//! no clock, no randomness but the seeded one.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::store::Soort;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub clienten: u32,
    /// Meting messages in all; Correcties and Intrekkingen come on top.
    pub metingen: u64,
    pub gemeenten: usize,
    pub seed: u64,
}

/// At most this many clients: the BSN scheme gives 9 × 10^6 distinct ones.
pub const MAX_CLIENTEN: u32 = 9_000_000;

/// The measurement dates lie in these years (fixed, not the clock's: the
/// same seed gives the same messages whenever it runs).
pub const FIRST_DAY: &str = "2021-01-04";
pub const LAST_DAY: &str = "2026-06-30";

/// Every message names this application, so synthetic data stays
/// recognisable in a store.
pub const APPLICATIE: &str = "ladderpost generate";

// ---------------------------------------------------------------------------
// The seeded generator
// ---------------------------------------------------------------------------

/// splitmix64: small, fast, and good enough for synthetic data.
#[derive(Debug, Clone, Copy)]
pub struct Rng(u64);

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Rng {
    /// An independent stream for `(seed, a, b)`.
    pub fn of(seed: u64, a: u64, b: u64) -> Rng {
        Rng(mix(mix(seed ^ 0x9e37_79b9_7f4a_7c15).wrapping_add(a)).wrapping_add(mix(b)))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1).max(1) as u64) as i64
    }

    /// True with probability `per_mille` / 1000.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// An index drawn by weight.
    pub fn weighted(&mut self, weights: &[u64]) -> usize {
        let total: u64 = weights.iter().sum();
        let mut r = self.below(total.max(1));
        for (i, w) in weights.iter().enumerate() {
            if r < *w {
                return i;
            }
            r -= w;
        }
        weights.len() - 1
    }
}

// ---------------------------------------------------------------------------
// Municipalities, teams, client-managers
// ---------------------------------------------------------------------------

/// CBS code, name, place, relative size (inhabitants, thousands / 10),
/// first two postcode digits. The first eight are the tests' municipalities.
const GEMEENTEN: &[(&str, &str, &str, u64, &str)] = &[
    ("0363", "Amsterdam", "Amsterdam", 93, "10"),
    ("0599", "Rotterdam", "Rotterdam", 66, "30"),
    ("0344", "Utrecht", "Utrecht", 37, "35"),
    ("0518", "'s-Gravenhage", "Den Haag", 56, "25"),
    ("0014", "Groningen", "Groningen", 24, "97"),
    ("0534", "Hillegom", "Hillegom", 2, "21"),
    ("0553", "Lisse", "Lisse", 2, "21"),
    ("1525", "Teylingen", "Sassenheim", 4, "21"),
    ("0772", "Eindhoven", "Eindhoven", 24, "56"),
    ("0855", "Tilburg", "Tilburg", 23, "50"),
    ("0034", "Almere", "Almere", 22, "13"),
    ("0758", "Breda", "Breda", 19, "48"),
    ("0268", "Nijmegen", "Nijmegen", 18, "65"),
    ("0796", "'s-Hertogenbosch", "'s-Hertogenbosch", 16, "52"),
    ("0202", "Arnhem", "Arnhem", 17, "68"),
    ("0200", "Apeldoorn", "Apeldoorn", 17, "73"),
    ("0392", "Haarlem", "Haarlem", 16, "20"),
    ("0153", "Enschede", "Enschede", 16, "75"),
    ("0307", "Amersfoort", "Amersfoort", 16, "38"),
    ("0479", "Zaanstad", "Zaandam", 16, "15"),
    ("0394", "Haarlemmermeer", "Hoofddorp", 16, "21"),
    ("0193", "Zwolle", "Zwolle", 13, "80"),
    ("0546", "Leiden", "Leiden", 13, "23"),
    ("0637", "Zoetermeer", "Zoetermeer", 13, "27"),
    ("0080", "Leeuwarden", "Leeuwarden", 13, "89"),
    ("0935", "Maastricht", "Maastricht", 12, "62"),
    ("0505", "Dordrecht", "Dordrecht", 12, "33"),
    ("0228", "Ede", "Ede", 12, "67"),
    ("0114", "Emmen", "Emmen", 11, "78"),
    ("0150", "Deventer", "Deventer", 10, "74"),
    ("0983", "Venlo", "Venlo", 10, "59"),
    ("0362", "Amstelveen", "Amstelveen", 9, "11"),
    ("0794", "Helmond", "Helmond", 9, "57"),
    ("0917", "Heerlen", "Heerlen", 9, "64"),
    ("0402", "Hilversum", "Hilversum", 9, "12"),
    ("0164", "Hengelo", "Hengelo", 8, "75"),
    ("0606", "Schiedam", "Schiedam", 8, "31"),
    ("0106", "Assen", "Assen", 7, "94"),
    ("0622", "Vlaardingen", "Vlaardingen", 7, "31"),
    ("0355", "Zeist", "Zeist", 6, "37"),
    ("0687", "Middelburg", "Middelburg", 5, "43"),
    ("0718", "Vlissingen", "Vlissingen", 4, "43"),
    // Added for the 50 of the reports benchmark, after the others so that
    // smaller plans stay as they were.
    ("0361", "Alkmaar", "Alkmaar", 11, "18"),
    (
        "0484",
        "Alphen aan den Rijn",
        "Alphen aan den Rijn",
        11,
        "24",
    ),
    ("0503", "Delft", "Delft", 10, "26"),
    ("0513", "Gouda", "Gouda", 7, "28"),
    ("0141", "Almelo", "Almelo", 7, "76"),
    ("0400", "Den Helder", "Den Helder", 6, "17"),
    ("0826", "Oosterhout", "Oosterhout", 6, "49"),
    ("0301", "Zutphen", "Zutphen", 5, "72"),
];

/// How many municipalities [`Plan::gemeenten`] may name.
pub const MAX_GEMEENTEN: usize = GEMEENTEN.len();

const TEAMS: &[&str] = &[
    "Team Noord",
    "Team Zuid",
    "Team Oost",
    "Team West",
    "Team Centrum",
    "Team Jongeren",
    "Team Statushouders",
    "Team Werkgeversdienstverlening",
    "Wijkteam 1",
    "Wijkteam 2",
];

const AFDELINGEN: &[&str] = &["Werk en Inkomen", "Werk en Participatie", "Sociaal Domein"];

/// One municipality as generated.
#[derive(Debug, Clone)]
pub struct Gemeente {
    pub code: &'static str,
    pub naam: &'static str,
    pub plaats: &'static str,
    weight: u64,
    postcode: &'static str,
    pub afdeling: &'static str,
    /// Teams, each with its client-managers.
    pub teams: Vec<(&'static str, Vec<String>)>,
    /// Whether it records the potentietrede and the next measurement
    /// dates (optional in the schema; not every municipality does).
    potentietrede: bool,
    volgende: bool,
}

impl Gemeente {
    /// The id of the organisation that sends for it.
    pub fn organisatie(&self) -> String {
        format!("gemeente-{}", self.code)
    }

    pub fn organisatie_naam(&self) -> String {
        format!("Gemeente {}", self.naam)
    }
}

fn gemeenten(plan: &Plan) -> Vec<Gemeente> {
    GEMEENTEN[..plan.gemeenten]
        .iter()
        .enumerate()
        .map(|(i, &(code, naam, plaats, weight, postcode))| {
            let mut rng = Rng::of(plan.seed, 1, i as u64);
            let teams = (2 + weight / 12).min(8) as usize;
            let mut names: Vec<&str> = TEAMS.to_vec();
            // Fisher-Yates, then the first `teams`.
            for j in (1..names.len()).rev() {
                names.swap(j, rng.below(j as u64 + 1) as usize);
            }
            let mut taken = std::collections::HashSet::new();
            let teams = names[..teams]
                .iter()
                .map(|&team| {
                    let managers = (3 + rng.below(5)) as usize;
                    let managers = (0..managers)
                        .map(|_| loop {
                            let names = if rng.chance(500) { VROUW } else { MAN };
                            let name = format!(
                                "{} {}",
                                rng.pick(names),
                                achternaam_voluit(&rng.pick(ACHTERNAMEN))
                            );
                            if taken.insert(name.clone()) {
                                break name;
                            }
                        })
                        .collect();
                    (team, managers)
                })
                .collect();
            Gemeente {
                code,
                naam,
                plaats,
                weight,
                postcode,
                afdeling: rng.pick(AFDELINGEN),
                teams,
                potentietrede: rng.chance(700),
                volgende: rng.chance(800),
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------

const VROUW: &[&str] = &[
    "Anna", "Maria", "Johanna", "Fatima", "Sanne", "Lisa", "Emma", "Sophie", "Julia", "Anouk",
    "Noor", "Eva", "Fleur", "Lotte", "Samira", "Yasmina", "Aylin", "Elif", "Linda", "Petra",
    "Monique", "Sandra", "Ingrid", "Wilma", "Natasha", "Priya", "Esther", "Hanneke",
];
const MAN: &[&str] = &[
    "Jan", "Pieter", "Kees", "Mohamed", "Ahmed", "Daan", "Sem", "Lucas", "Thomas", "Bram", "Kevin",
    "Mark", "Dennis", "Mustafa", "Youssef", "Emre", "Hakan", "Willem", "Hendrik", "Gerrit",
    "Ronald", "Marco", "Rachid", "Tarik", "Sven", "Ruben", "Jeroen", "Ömer",
];
/// (tussenvoegsel, achternaam).
const ACHTERNAMEN: &[(&str, &str)] = &[
    ("de", "Jong"),
    ("", "Jansen"),
    ("de", "Vries"),
    ("van den", "Berg"),
    ("van", "Dijk"),
    ("", "Bakker"),
    ("", "Janssen"),
    ("", "Visser"),
    ("", "Smit"),
    ("", "Meijer"),
    ("de", "Boer"),
    ("", "Mulder"),
    ("de", "Groot"),
    ("", "Bos"),
    ("", "Vos"),
    ("", "Peters"),
    ("", "Hendriks"),
    ("van", "Leeuwen"),
    ("", "Dekker"),
    ("", "Brouwer"),
    ("de", "Wit"),
    ("", "Dijkstra"),
    ("", "Smits"),
    ("de", "Graaf"),
    ("van der", "Meer"),
    ("van der", "Linden"),
    ("", "Kok"),
    ("", "Jacobs"),
    ("de", "Haan"),
    ("", "Vermeulen"),
    ("van den", "Heuvel"),
    ("van der", "Veen"),
    ("van den", "Broek"),
    ("de", "Bruijn"),
    ("van der", "Heijden"),
    ("", "Schouten"),
    ("van", "Beek"),
    ("", "Willems"),
    ("van", "Vliet"),
    ("van de", "Ven"),
    ("", "Hoekstra"),
    ("", "Maas"),
    ("", "Verhoeven"),
    ("", "Koster"),
    ("van", "Dam"),
    ("", "Prins"),
    ("", "Blom"),
    ("", "Huisman"),
    ("'t", "Hart"),
    ("", "Yilmaz"),
    ("", "Kaya"),
    ("", "Demir"),
    ("", "Öztürk"),
    ("", "Çelik"),
    ("el", "Amrani"),
    ("", "Bouzid"),
    ("", "Benali"),
    ("", "Ramdin"),
    ("", "Nguyen"),
    ("", "Kowalski"),
];
const STRATEN: &[&str] = &[
    "Dorpsstraat",
    "Kerkstraat",
    "Schoolstraat",
    "Molenweg",
    "Stationsweg",
    "Julianastraat",
    "Beatrixlaan",
    "Wilhelminastraat",
    "Kastanjelaan",
    "Eikenlaan",
    "Lindelaan",
    "Parallelweg",
    "Nieuwstraat",
    "Havenstraat",
    "Prins Bernhardlaan",
    "Burgemeester de Withstraat",
    "Van Goghstraat",
    "Rembrandtlaan",
    "Merelstraat",
    "Tulpstraat",
];

fn achternaam_voluit(&(tussenvoegsel, achternaam): &(&str, &str)) -> String {
    if tussenvoegsel.is_empty() {
        achternaam.to_string()
    } else {
        format!("{tussenvoegsel} {achternaam}")
    }
}

/// The income a client starts with (docs/domain.md item 15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Inkomen {
    Gemeentelijk,
    Uwv,
    Geen,
}

impl Inkomen {
    fn code(self) -> &'static str {
        match self {
            Inkomen::Gemeentelijk => "gemeentelijke-uitkering",
            Inkomen::Uwv => "uwv-uitkering",
            Inkomen::Geen => "geen-uitkering",
        }
    }
}

/// A client's fixed data: derived again from the seed whenever a message
/// needs it, so the generator keeps only the changing state per client.
#[derive(Debug, Clone)]
struct Profile {
    gemeente: usize,
    team: usize,
    bsn: String,
    voornamen: Vec<&'static str>,
    naam: (&'static str, &'static str),
    geboortedatum: String,
    geslacht: &'static str,
    straat: &'static str,
    huisnummer: u64,
    toevoeging: Option<&'static str>,
    postcode: String,
    inkomen: Inkomen,
    subgroepen: Vec<u8>,
    startkwalificatie: bool,
    inburgeringsplichtig: bool,
    laaggeletterd: bool,
    vrijgesteld: bool,
}

/// A distinct BSN passing the 11-check for each `n` below
/// [`MAX_CLIENTEN`]: `Bsn::numbered`'s scheme (digits `1 n k`), with the
/// first digit counting millions.
pub fn bsn(n: u64) -> String {
    let (million, rest) = (1 + n / 1_000_000, n % 1_000_000);
    (0..10)
        .find_map(|k| {
            let first8 = format!("{:08}", million * 10_000_000 + rest * 10 + k);
            let sum: u64 = first8
                .bytes()
                .zip([9u64, 8, 7, 6, 5, 4, 3, 2])
                .map(|(d, w)| u64::from(d - b'0') * w)
                .sum();
            (sum % 11 < 10).then(|| format!("{first8}{}", sum % 11))
        })
        .unwrap_or_else(|| unreachable!("one of ten k gives a check digit below 10"))
}

impl Profile {
    fn of(seed: u64, client: u32, gemeenten: &[Gemeente], weights: &[u64]) -> Profile {
        let mut rng = Rng::of(seed, 2, u64::from(client));
        let gemeente = rng.weighted(weights);
        let g = &gemeenten[gemeente];
        let team = rng.below(g.teams.len() as u64) as usize;
        let vrouw = rng.chance(480);
        let names = if vrouw { VROUW } else { MAN };
        let mut voornamen = vec![rng.pick(names)];
        if rng.chance(400) {
            let second = rng.pick(names);
            if second != voornamen[0] {
                voornamen.push(second);
            }
        }
        let geboren = rng.range(1958, 2004);
        let inkomen = match rng.below(100) {
            0..=64 => Inkomen::Gemeentelijk,
            65..=74 => Inkomen::Uwv,
            _ => Inkomen::Geen,
        };
        let inburgeringsplichtig = rng.chance(100);
        let laaggeletterd = rng.chance(if inburgeringsplichtig { 500 } else { 100 });
        let jong = geboren >= 1996;
        let mut subgroepen = Vec::new();
        let mut sub = |n: u8, yes: bool| {
            if yes {
                subgroepen.push(n);
            }
        };
        sub(1, inkomen == Inkomen::Gemeentelijk);
        sub(2, inkomen == Inkomen::Geen && rng.chance(700));
        sub(3, rng.chance(450));
        sub(4, inburgeringsplichtig);
        sub(5, rng.chance(if laaggeletterd { 600 } else { 50 }));
        sub(6, jong && rng.chance(700));
        sub(7, inkomen == Inkomen::Uwv);
        Profile {
            gemeente,
            team,
            bsn: bsn(u64::from(client)),
            voornamen,
            naam: rng.pick(ACHTERNAMEN),
            geboortedatum: format!(
                "{geboren:04}-{:02}-{:02}",
                rng.range(1, 12),
                rng.range(1, 28)
            ),
            geslacht: if rng.chance(10) {
                "O"
            } else if vrouw {
                "V"
            } else {
                "M"
            },
            straat: rng.pick(STRATEN),
            huisnummer: rng.range(1, 250) as u64,
            toevoeging: rng
                .chance(150)
                .then(|| rng.pick(&["A", "B", "bis", "2", "3hg"])),
            postcode: format!(
                "{}{:02} {}{}",
                g.postcode,
                rng.below(100),
                char::from(b'A' + rng.below(26) as u8),
                char::from(b'A' + rng.below(26) as u8)
            ),
            inkomen,
            subgroepen,
            startkwalificatie: rng.chance(450),
            inburgeringsplichtig,
            laaggeletterd,
            vrijgesteld: rng.chance(60),
        }
    }

    fn voorletters(&self) -> String {
        self.voornamen
            .iter()
            .filter_map(|n| n.chars().next())
            .map(|c| format!("{c}."))
            .collect()
    }
}

// ---------------------------------------------------------------------------
// The walk over the ladder
// ---------------------------------------------------------------------------

/// No rung yet (before the first measurement, or after the only one was
/// withdrawn).
const GEEN: u8 = 255;

const UITSTROOM: &[&str] = &[
    "werk-zes-maanden",
    "traject-zonder-vervolg",
    "uitkering-beeindigd",
    "uitval",
    "bbl-opleiding",
    "overig",
];

/// One measurement as taken: what a Meting or a Correctie of it says.
#[derive(Debug, Clone, Copy)]
struct Meas {
    step: u32,
    day: i64,
    trede: u8,
    /// On rungs 1-5: growth potential `+` (true) or `0`.
    plus: Option<bool>,
    potentie: Option<u8>,
    /// On Trede 9: an index into [`UITSTROOM`].
    uitstroom: Option<u8>,
    manager: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Meting,
    Correctie,
    Intrekking,
    Klaar,
}

/// What the generator keeps per client between its messages.
#[derive(Debug, Clone, Copy)]
struct State {
    rng: Rng,
    metingen: u32,
    done: u32,
    trede: u8,
    plus: bool,
    /// The rung before the last measurement: where a withdrawal returns to.
    before: (u8, bool),
    manager: u16,
    last: Option<Meas>,
    corrected: bool,
    next: Next,
    /// When the next message is sent: seconds since 1970, local time.
    at: i64,
    /// The day of the next Meting, once the previous one is sent.
    next_day: i64,
}

/// A generated message.
#[derive(Debug, Clone)]
pub struct Message {
    /// The client's number (0-based): its BSN is [`bsn`] of it.
    pub client: u32,
    pub soort: Soort,
    pub bericht_id: String,
    /// Index into [`Generator::gemeenten`].
    pub gemeente: usize,
    pub bytes: Vec<u8>,
}

/// The messages of a [`Plan`], in the order they are sent: by sending
/// time over all clients (ties by client), so the store's acceptance order
/// runs through the years like a real one.
pub struct Generator {
    plan: Plan,
    gemeenten: Vec<Gemeente>,
    weights: Vec<u64>,
    states: Vec<State>,
    queue: BinaryHeap<Reverse<(i64, u32)>>,
    first_day: i64,
    last_day: i64,
}

fn day(date: &str) -> i64 {
    crate::time::day_number(date).unwrap_or_else(|| unreachable!("a constant date"))
}

/// At most this many measurements per client on average.
const MAX_PER_CLIENT: u64 = 10_000;

impl Plan {
    /// Whether the generator can keep this plan.
    pub fn check(&self) -> Result<(), String> {
        if self.clienten == 0 || self.clienten > MAX_CLIENTEN {
            return Err(format!("--clienten must be 1 to {MAX_CLIENTEN}"));
        }
        if self.metingen < u64::from(self.clienten) {
            return Err(
                "--metingen must be at least --clienten: every client has a measurement".into(),
            );
        }
        if self.metingen / u64::from(self.clienten) > MAX_PER_CLIENT {
            return Err(format!(
                "--metingen may be at most {MAX_PER_CLIENT} times --clienten"
            ));
        }
        if self.gemeenten == 0 || self.gemeenten > MAX_GEMEENTEN {
            return Err(format!("--gemeenten must be 1 to {MAX_GEMEENTEN}"));
        }
        Ok(())
    }
}

impl Generator {
    pub fn new(plan: Plan) -> Result<Generator, String> {
        plan.check()?;
        let gemeenten = gemeenten(&plan);
        let weights: Vec<u64> = gemeenten.iter().map(|g| g.weight).collect();
        let (first_day, last_day) = (day(FIRST_DAY), day(LAST_DAY));
        let counts = counts(&plan);
        let mut states = Vec::with_capacity(plan.clienten as usize);
        let mut queue = BinaryHeap::with_capacity(plan.clienten as usize);
        for (client, &metingen) in counts.iter().enumerate() {
            let client = client as u32;
            let mut rng = Rng::of(plan.seed, 3, u64::from(client));
            // Room for yearly-or-so measurements after the first.
            // (Spread, so that not every long history starts on day one.)
            let needed = i64::from(metingen - 1) * 200;
            let slack = (last_day - first_day - needed).max((last_day - first_day) / 5);
            let start = workday(first_day + rng.range(0, slack), last_day);
            let profile = Profile::of(plan.seed, client, &gemeenten, &weights);
            let managers = gemeenten[profile.gemeente].teams[profile.team].1.len();
            let manager = rng.below(managers as u64) as u16;
            let at = sent_at(&mut rng, start, 0);
            states.push(State {
                rng,
                metingen,
                done: 0,
                trede: GEEN,
                plus: false,
                before: (GEEN, false),
                manager,
                last: None,
                corrected: false,
                next: Next::Meting,
                at,
                next_day: start,
            });
            queue.push(Reverse((at, client)));
        }
        Ok(Generator {
            plan,
            gemeenten,
            weights,
            states,
            queue,
            first_day,
            last_day,
        })
    }

    pub fn gemeenten(&self) -> &[Gemeente] {
        &self.gemeenten
    }

    fn profile(&self, client: u32) -> Profile {
        Profile::of(self.plan.seed, client, &self.gemeenten, &self.weights)
    }

    fn id(&self, client: u32, step: u32, suffix: &str) -> String {
        format!("gen-{:x}-{client}-{step}{suffix}", self.plan.seed)
    }

    /// The id of the current version of the client's last measurement.
    fn current_id(&self, client: u32, s: &State, m: &Meas) -> String {
        self.id(client, m.step, if s.corrected { "-c" } else { "" })
    }

    fn emit(&mut self, client: u32) -> Message {
        let profile = self.profile(client);
        let mut s = self.states[client as usize];
        let message = match s.next {
            Next::Meting => self.meting(client, &profile, &mut s),
            Next::Correctie => self.correctie(client, &profile, &mut s),
            Next::Intrekking => self.intrekking(client, &profile, &mut s),
            Next::Klaar => unreachable!("a client without messages left is not queued"),
        };
        self.schedule(client, &mut s);
        self.states[client as usize] = s;
        message
    }

    /// The next rung: mostly the same or one away, sometimes two;
    /// growth potential makes climbing likelier.
    fn walk(s: &mut State) -> u8 {
        let rng = &mut s.rng;
        if s.trede == GEEN || s.trede == 0 {
            // A first placement (or after intake).
            if s.trede == GEEN && rng.chance(120) {
                return 0;
            }
            return 1 + rng.weighted(&[10, 22, 30, 22, 11, 5]) as u8;
        }
        let step: i8 = match (s.trede, s.plus) {
            (6, _) => [0, -1, -2][rng.weighted(&[80, 15, 5])],
            (_, true) => [1, 2, 0, -1, -2][rng.weighted(&[35, 7, 45, 10, 3])],
            (_, false) => [1, 2, 0, -1, -2][rng.weighted(&[10, 2, 70, 14, 4])],
        };
        (s.trede as i8 + step).clamp(1, 6) as u8
    }

    /// Growth potential and potentietrede for a rung.
    fn placement(
        rng: &mut Rng,
        g: &Gemeente,
        p: &Profile,
        trede: u8,
    ) -> (Option<bool>, Option<u8>) {
        if !(1..=5).contains(&trede) {
            return (None, None);
        }
        let per_mille = if p.vrijgesteld {
            30
        } else {
            [250, 350, 500, 550, 450][usize::from(trede - 1)]
        };
        let plus = rng.chance(per_mille);
        let potentie = g.potentietrede.then(|| {
            if plus {
                (trede + 1 + u8::from(rng.chance(200))).min(6)
            } else {
                trede
            }
        });
        (Some(plus), potentie)
    }

    fn meting(&self, client: u32, p: &Profile, s: &mut State) -> Message {
        let g = &self.gemeenten[p.gemeente];
        let step = s.done;
        let day = s.next_day;
        s.done += 1;
        // Client-managers change now and then, within the team.
        let managers = g.teams[p.team].1.len() as u64;
        if step > 0 && s.rng.chance(80) {
            s.manager = s.rng.below(managers) as u16;
        }
        let last = s.done == s.metingen;
        let leaves = last
            && step > 0
            && match s.trede {
                6 => s.rng.chance(550),
                GEEN | 0 => false,
                _ => s.rng.chance(80),
            };
        s.before = (s.trede, s.plus);
        let meas = if leaves {
            let reden = if s.trede == 6 {
                0
            } else {
                1 + s.rng.below(UITSTROOM.len() as u64 - 1) as u8
            };
            s.trede = 9;
            Meas {
                step,
                day,
                trede: 9,
                plus: None,
                potentie: None,
                uitstroom: Some(reden),
                manager: s.manager,
            }
        } else {
            let trede = Self::walk(s);
            let (plus, potentie) = Self::placement(&mut s.rng, g, p, trede);
            s.trede = trede;
            s.plus = plus == Some(true);
            Meas {
                step,
                day,
                trede,
                plus,
                potentie,
                uitstroom: None,
                manager: s.manager,
            }
        };
        s.last = Some(meas);
        s.corrected = false;
        let id = self.id(client, step, "");
        let bytes = self.render(client, Soort::Meting, &id, None, p, &meas, s.at);
        Message {
            client,
            soort: Soort::Meting,
            bericht_id: id,
            gemeente: p.gemeente,
            bytes,
        }
    }

    fn correctie(&self, client: u32, p: &Profile, s: &mut State) -> Message {
        let g = &self.gemeenten[p.gemeente];
        let mut meas = s
            .last
            .unwrap_or_else(|| unreachable!("a Correctie follows a Meting"));
        let original = self.id(client, meas.step, "");
        // A rung entered one off, or the growth potential reconsidered.
        let (trede, reden) = if s.rng.chance(650) {
            let up = meas.trede == 1 || (meas.trede < 6 && s.rng.chance(500));
            (
                if up { meas.trede + 1 } else { meas.trede - 1 },
                "Trede verkeerd ingevoerd; na overleg met de werkcoach aangepast.",
            )
        } else {
            (
                meas.trede,
                "Groeipotentieel na overleg met de cliënt opnieuw beoordeeld.",
            )
        };
        let (mut plus, mut potentie) = Self::placement(&mut s.rng, g, p, trede);
        if trede == meas.trede {
            // Reconsidered: the other answer.
            plus = plus.map(|_| meas.plus != Some(true));
            potentie = potentie.map(|_| if plus == Some(true) { trede + 1 } else { trede });
        }
        meas.trede = trede;
        meas.plus = plus;
        meas.potentie = potentie;
        s.trede = trede;
        s.plus = plus == Some(true);
        s.last = Some(meas);
        s.corrected = true;
        let id = self.id(client, meas.step, "-c");
        let bytes = self.render(
            client,
            Soort::Correctie,
            &id,
            Some((&original, reden)),
            p,
            &meas,
            s.at,
        );
        Message {
            client,
            soort: Soort::Correctie,
            bericht_id: id,
            gemeente: p.gemeente,
            bytes,
        }
    }

    fn intrekking(&self, client: u32, p: &Profile, s: &mut State) -> Message {
        let g = &self.gemeenten[p.gemeente];
        let meas = s
            .last
            .unwrap_or_else(|| unreachable!("an Intrekking follows a Meting"));
        let target = self.current_id(client, s, &meas);
        (s.trede, s.plus) = s.before;
        s.last = None;
        let id = self.id(client, meas.step, "-i");
        let reden = s.rng.pick(&[
            "Meting bij de verkeerde cliënt ingevoerd.",
            "Meting dubbel ingevoerd.",
            "Meting ingevoerd voordat het gesprek plaatsvond.",
        ]);
        let mut x = String::with_capacity(700);
        x.push_str(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <Intrekking xmlns=\"urn:ladderpost:participatieladder:v1\" versie=\"1.0\">\n",
        );
        self.envelop(
            &mut x,
            &id,
            g,
            &g.teams[p.team].1[meas.manager as usize],
            s.at,
        );
        el(&mut x, 1, "TrektIn", &target);
        el(&mut x, 1, "Bsn", &p.bsn);
        el(&mut x, 1, "Reden", reden);
        x.push_str("</Intrekking>\n");
        Message {
            client,
            soort: Soort::Intrekking,
            bericht_id: id,
            gemeente: p.gemeente,
            bytes: x.into_bytes(),
        }
    }

    /// Decides what the client sends next, and when; queues it.
    fn schedule(&mut self, client: u32, s: &mut State) {
        let sent = s.at;
        let just = s.next;
        if just == Next::Meting {
            // The day of the next measurement: at least yearly, spread over
            // the days left for the measurements left.
            let left = i64::from(s.metingen - s.done);
            if left > 0 {
                let last = s.last.map_or(s.next_day, |m| m.day);
                let room = (self.last_day - last) / left;
                let hi = room.min(365);
                let lo = hi.min(120).min(hi / 2).max(hi.min(1));
                s.next_day = workday(last + s.rng.range(lo, hi), self.last_day);
            }
        }
        let next_meting = (s.done < s.metingen).then(|| {
            // Sent on the day or a few days after, never before the last.
            sent_at(&mut s.rng, s.next_day, sent)
        });
        // Room before the next Meting for a correction or withdrawal.
        let room = |at: i64| next_meting.is_none_or(|n| n - at > 2 * 86_400);
        let open = s.last.is_some_and(|m| m.trede != 9);
        let follow = match just {
            Next::Meting
                if open
                    && s.last.is_some_and(|m| (1..=5).contains(&m.trede))
                    && room(sent)
                    && s.rng.chance(30) =>
            {
                Some(Next::Correctie)
            }
            Next::Meting | Next::Correctie if open && room(sent) && s.rng.chance(10) => {
                Some(Next::Intrekking)
            }
            _ => None,
        };
        match (follow, next_meting) {
            (Some(kind), _) => {
                let limit = next_meting.map_or(sent + 14 * 86_400, |n| n - 86_400);
                let day = sent.div_euclid(86_400) + s.rng.range(1, 7);
                let at = sent_at(&mut s.rng, day, sent).min(limit);
                s.next = kind;
                s.at = at.max(sent + 60);
            }
            (None, Some(at)) => {
                s.next = Next::Meting;
                s.at = at;
            }
            (None, None) => s.next = Next::Klaar,
        }
        if s.next != Next::Klaar {
            self.queue.push(Reverse((s.at, client)));
        }
    }

    fn envelop(&self, x: &mut String, id: &str, g: &Gemeente, invoerder: &str, at: i64) {
        x.push_str("  <Envelop>\n");
        el(x, 2, "BerichtId", id);
        el(x, 2, "Verzonden", &timestamp(at));
        x.push_str("    <Afzender>\n");
        el(x, 3, "Organisatie", &g.organisatie_naam());
        el(x, 3, "Applicatie", APPLICATIE);
        x.push_str("    </Afzender>\n");
        el(x, 2, "Gemeente", g.code);
        el(x, 2, "Invoerder", invoerder);
        x.push_str("  </Envelop>\n");
    }

    /// A Meting, or (with `corrigeert`: the id and a reason) a Correctie.
    #[allow(clippy::too_many_arguments)]
    fn render(
        &self,
        client: u32,
        soort: Soort,
        id: &str,
        corrigeert: Option<(&str, &str)>,
        p: &Profile,
        m: &Meas,
        at: i64,
    ) -> Vec<u8> {
        let g = &self.gemeenten[p.gemeente];
        let (team, managers) = &g.teams[p.team];
        let manager = &managers[m.manager as usize];
        // What varies per measurement but must be the same in its
        // correction: its own stream.
        let mut rng = Rng::of(
            self.plan.seed,
            4 | u64::from(client) << 32,
            u64::from(m.step),
        );
        let root = soort.as_str();
        let mut x = String::with_capacity(2048);
        x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<");
        x.push_str(root);
        x.push_str(" xmlns=\"urn:ladderpost:participatieladder:v1\" versie=\"1.0\">\n");
        self.envelop(&mut x, id, g, manager, at);
        if let Some((original, reden)) = corrigeert {
            el(&mut x, 1, "Corrigeert", original);
            el(&mut x, 1, "Reden", reden);
        }

        x.push_str("  <Client>\n");
        el(&mut x, 2, "Bsn", &p.bsn);
        el(&mut x, 2, "Achternaam", p.naam.1);
        el(&mut x, 2, "Voornamen", &p.voornamen.join(" "));
        el(&mut x, 2, "Voorletters", &p.voorletters());
        if !p.naam.0.is_empty() {
            el(&mut x, 2, "Tussenvoegsel", p.naam.0);
        }
        el(&mut x, 2, "Geboortedatum", &p.geboortedatum);
        el(&mut x, 2, "Geslacht", p.geslacht);
        x.push_str("    <Adres>\n");
        el(&mut x, 3, "Straat", p.straat);
        el(&mut x, 3, "Huisnummer", &p.huisnummer.to_string());
        if let Some(t) = p.toevoeging {
            el(&mut x, 3, "Huisnummertoevoeging", t);
        }
        el(&mut x, 3, "Postcode", &p.postcode);
        el(&mut x, 3, "Woonplaats", g.plaats);
        x.push_str("    </Adres>\n  </Client>\n");

        let aanleiding = if m.trede == 9 {
            "uitstroom"
        } else if m.step == 0 {
            if rng.chance(200) {
                "aanvraag-uitkering"
            } else {
                "intake"
            }
        } else {
            ["jaarlijks", "start-traject", "einde-traject", "overig"]
                [rng.weighted(&[50, 20, 15, 15])]
        };
        let date = crate::time::date_of_day(m.day);
        x.push_str("  <Werkproces>\n");
        el(&mut x, 2, "Meetdatum", &date);
        el(&mut x, 2, "Aanleiding", aanleiding);
        if g.volgende && m.trede != 9 {
            let gepland = m.day + rng.pick(&[91, 182, 182, 365]);
            el(
                &mut x,
                2,
                "GeplandeMeetdatum",
                &crate::time::date_of_day(gepland),
            );
            let uiterste = gepland + rng.range(0, 90);
            el(
                &mut x,
                2,
                "UitersteMeetdatum",
                &crate::time::date_of_day(uiterste),
            );
        }
        el(&mut x, 2, "Medewerker", manager);
        el(&mut x, 2, "Afdeling", g.afdeling);
        el(&mut x, 2, "Team", team);
        x.push_str("  </Werkproces>\n");

        x.push_str("  <Plaatsing>\n");
        el(&mut x, 2, "Trede", &m.trede.to_string());
        if let Some(plus) = m.plus {
            el(&mut x, 2, "Groeipotentieel", if plus { "+" } else { "0" });
        }
        if let Some(pt) = m.potentie {
            el(&mut x, 2, "Potentietrede", &pt.to_string());
        }
        if let Some(r) = m.uitstroom {
            el(&mut x, 2, "Uitstroomreden", UITSTROOM[usize::from(r)]);
        }
        x.push_str("  </Plaatsing>\n");

        self.kenmerken(&mut x, &mut rng, p, m, aanleiding);
        if !p.subgroepen.is_empty() {
            x.push_str("  <Subgroepen>\n");
            for s in &p.subgroepen {
                el(&mut x, 2, "Subgroep", &s.to_string());
            }
            x.push_str("  </Subgroepen>\n");
        }
        if rng.chance(250) {
            el(&mut x, 1, "Toelichting", toelichting(&mut rng, m));
        }
        x.push_str("</");
        x.push_str(root);
        x.push_str(">\n");
        x.into_bytes()
    }

    fn kenmerken(&self, x: &mut String, rng: &mut Rng, p: &Profile, m: &Meas, aanleiding: &str) {
        x.push_str("  <Klantkenmerken>\n");
        let werk_zes = m.uitstroom == Some(0);
        match m.trede {
            9 => el(
                x,
                2,
                "Inkomenssituatie",
                if werk_zes { "werk" } else { "geen-uitkering" },
            ),
            5 => {
                el(x, 2, "Inkomenssituatie", p.inkomen.code());
                el(x, 2, "Inkomenssituatie", "werk");
            }
            6 => {
                // Some keep a supplementary benefit.
                if rng.chance(400) {
                    el(x, 2, "Inkomenssituatie", p.inkomen.code());
                }
                el(x, 2, "Inkomenssituatie", "werk");
            }
            _ => el(x, 2, "Inkomenssituatie", p.inkomen.code()),
        }
        let yes_no = |b: bool| if b { "true" } else { "false" };
        el(x, 2, "Startkwalificatie", yes_no(p.startkwalificatie));
        el(x, 2, "Inburgeringsplichtig", yes_no(p.inburgeringsplichtig));
        el(
            x,
            2,
            "Inburgeringsbehoeftig",
            yes_no(p.inburgeringsplichtig || (p.laaggeletterd && rng.chance(300))),
        );
        el(x, 2, "Laaggeletterd", yes_no(p.laaggeletterd));
        el(x, 2, "VrijstellingArbeidsplicht", yes_no(p.vrijgesteld));
        el(x, 2, "VrijstellingInburgeringsplicht", "false");
        let (in_gebruik, ingezet) = match m.trede {
            9 | 6 | 0 => (false, false),
            5 => (rng.chance(900), rng.chance(300)),
            3 | 4 => (
                rng.chance(400),
                aanleiding == "start-traject" || rng.chance(200),
            ),
            _ => (rng.chance(100), rng.chance(30)),
        };
        el(x, 2, "InstrumentInGebruik", yes_no(in_gebruik));
        el(x, 2, "InstrumentIngezet", yes_no(ingezet));
        x.push_str("  </Klantkenmerken>\n");
    }
}

fn toelichting(rng: &mut Rng, m: &Meas) -> &'static str {
    match m.trede {
        0 => "Intakegesprek gevoerd; plaatsing volgt na het eerste gesprek met de klantmanager.",
        1 | 2 => rng.pick(&[
            "Cliënt komt weinig buitenshuis; contact met het wijkteam gelegd.",
            "Schulden en gezondheid staan participatie nu in de weg.",
            "Neemt deel aan de inloop in het buurthuis.",
        ]),
        3 | 4 => rng.pick(&[
            "Volgt dagbesteding drie ochtenden per week.",
            "Vrijwilligerswerk bij de voedselbank; wil graag verder.",
            "Werkervaringsplaats bij de gemeente gestart.",
        ]),
        5 | 6 => rng.pick(&[
            "Werkt parttime met loonkostensubsidie.",
            "Heeft een contract voor een half jaar; jobcoach betrokken.",
            "Werkt fulltime; uitkering beëindigd.",
        ]),
        _ => "Uitgestroomd; dossier gesloten.",
    }
}

/// A moment in office hours on `day` or a working day or two later,
/// never before `after` (+1 minute): seconds since 1970, local time.
fn sent_at(rng: &mut Rng, day: i64, after: i64) -> i64 {
    let delay = [0, 0, 0, 1, 1, 2, 3][rng.below(7) as usize];
    let day = workday(day + delay, i64::MAX);
    let at = day * 86_400 + rng.range(8 * 3600, 17 * 3600 + 59 * 60);
    at.max(after + 60)
}

/// `day`, or the Monday after it if it falls in a weekend (unless that
/// is after `last`).
fn workday(day: i64, last: i64) -> i64 {
    // 1970-01-01 was a Thursday: 0 is Monday.
    let moved = match (day + 3).rem_euclid(7) {
        5 => day + 2,
        6 => day + 1,
        _ => day,
    };
    if moved > last {
        day
    } else {
        moved
    }
}

/// `2024-03-12T09:15:00+01:00`: local time, summer time from April to
/// October (near enough for synthetic data).
fn timestamp(at: i64) -> String {
    let (day, secs) = (at.div_euclid(86_400), at.rem_euclid(86_400));
    let date = crate::time::date_of_day(day);
    let month: u32 = date[5..7].parse().unwrap_or(1);
    let offset = if (4..=10).contains(&month) {
        "+02:00"
    } else {
        "+01:00"
    };
    format!(
        "{date}T{:02}:{:02}:{:02}{offset}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Measurements per client: at least one each, the rest spread unevenly
/// (some clients are measured far more often than others), summing to
/// exactly `plan.metingen`.
fn counts(plan: &Plan) -> Vec<u32> {
    let n = plan.clienten as usize;
    let weights: Vec<u64> = (0..n)
        .map(|c| {
            let mut rng = Rng::of(plan.seed, 5, c as u64);
            1 + rng.below(4) + if rng.chance(200) { 4 } else { 0 }
        })
        .collect();
    let total: u64 = weights.iter().sum();
    let extra = plan.metingen - plan.clienten as u64;
    let mut counts: Vec<u32> = weights
        .iter()
        .map(|&w| 1 + (u128::from(extra) * u128::from(w) / u128::from(total)) as u32)
        .collect();
    let given: u64 = counts.iter().map(|&c| u64::from(c)).sum();
    for c in counts.iter_mut().take((plan.metingen - given) as usize) {
        *c += 1;
    }
    counts
}

/// One element on a line of its own, its text escaped.
fn el(x: &mut String, depth: usize, name: &str, text: &str) {
    for _ in 0..depth {
        x.push_str("  ");
    }
    x.push('<');
    x.push_str(name);
    x.push('>');
    for c in text.chars() {
        match c {
            '&' => x.push_str("&amp;"),
            '<' => x.push_str("&lt;"),
            '>' => x.push_str("&gt;"),
            c => x.push(c),
        }
    }
    x.push_str("</");
    x.push_str(name);
    x.push_str(">\n");
}

impl Iterator for Generator {
    type Item = Message;

    fn next(&mut self) -> Option<Message> {
        let Reverse((_, client)) = self.queue.pop()?;
        Some(self.emit(client))
    }
}

impl Generator {
    /// The first measurement day: the period starts there.
    pub fn period(&self) -> (String, String) {
        (
            crate::time::date_of_day(self.first_day),
            crate::time::date_of_day(self.last_day),
        )
    }
}
