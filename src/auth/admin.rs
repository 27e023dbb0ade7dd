//! `ladderpost admin --data DIR …`: organisations and credentials, on the
//! data directory of a stopped server (sled locks the directory of a
//! running one).

use clap::Subcommand;

use super::service::{Auth, BeheerError, NieuweOrganisatie};
use crate::time::Moment;

#[derive(Debug, Subcommand)]
pub enum Admin {
    /// Organisations and the municipalities they act for.
    #[command(subcommand)]
    Organisatie(OrganisatieCommand),
    /// API credentials (tokens).
    #[command(subcommand)]
    Sleutel(SleutelCommand),
    /// Everything held about one person (AVG art. 15): their messages,
    /// their history and every processing the audit log records, as one
    /// JSON file. Audited.
    Inzage {
        /// The person's BSN.
        #[arg(long)]
        bsn: String,
        /// The file to write (created; it must not exist).
        #[arg(long)]
        uit: std::path::PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrganisatieCommand {
    /// Adds an organisation.
    Toevoegen {
        /// Its id (a-z, 0-9, -), e.g. gemeente-utrecht.
        #[arg(long)]
        id: String,
        #[arg(long)]
        naam: String,
        /// CBS codes of the municipalities it acts for, comma-separated.
        #[arg(long, value_delimiter = ',')]
        gemeenten: Vec<String>,
        /// The OIN in its PKIoverheid certificate (mutual TLS).
        #[arg(long)]
        oin: Option<String>,
        /// Roles a request authenticated by that certificate gets.
        #[arg(long, value_delimiter = ',')]
        rollen_bij_certificaat: Vec<String>,
    },
    /// Lists organisations.
    Lijst,
    /// Sets whether an organisation's municipalities take part in the
    /// benchmark report (no unless set).
    Benchmark {
        #[arg(long)]
        id: String,
        /// true or false.
        #[arg(long, action = clap::ArgAction::Set)]
        deelname: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SleutelCommand {
    /// Creates a credential and prints its token, once.
    Maken {
        #[arg(long)]
        organisatie: String,
        /// aanleveren, afnemen, rapporteren, beheer; comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        rollen: Vec<String>,
        /// Expiry (RFC 3339), e.g. 2027-01-01T00:00:00Z.
        #[arg(long)]
        verloopt: Option<String>,
    },
    /// Lists credentials (never their tokens).
    Lijst,
    /// Revokes a credential.
    Intrekken { id: String },
}

/// Runs an admin command on a stopped server's store; the text to print,
/// or why not.
pub fn run(config: &crate::store::Config, command: Admin) -> Result<String, String> {
    let opened = crate::store::open(config)
        .map_err(|e| {
            let text = e.to_string();
            if text.contains("lock") || text.contains("Resource temporarily unavailable") {
                format!(
                    "cannot open the store {}: it is in use — is `ladderpost serve` running on it? \
                     Stop the server first, or use the beheer API (/api/v1/beheer) while it runs ({text})",
                    config.engine
                )
            } else {
                format!("cannot open the store {}: {text}", config.engine)
            }
        })?;
    let store = opened.auth.clone();
    let auth = Auth::new(store.clone()).map_err(|e| e.to_string())?;
    let shown = |e: BeheerError| e.to_string();
    let mut out = String::new();
    match command {
        Admin::Organisatie(OrganisatieCommand::Toevoegen {
            id,
            naam,
            gemeenten,
            oin,
            rollen_bij_certificaat,
        }) => {
            let o = auth
                .add_organisation(NieuweOrganisatie {
                    id,
                    naam,
                    gemeenten,
                    oin,
                    rollen_bij_certificaat,
                })
                .map_err(shown)?;
            out.push_str(&format!(
                "organisatie {} toegevoegd (gemeenten: {})\n",
                o.id,
                o.gemeenten.join(",")
            ));
        }
        Admin::Organisatie(OrganisatieCommand::Lijst) => {
            for o in store.organisations().map_err(|e| e.to_string())? {
                let rollen: Vec<&str> = o
                    .rollen_bij_certificaat
                    .iter()
                    .map(|r| r.as_str())
                    .collect();
                out.push_str(&format!(
                    "{}\t{}\tgemeenten={}\toin={}\trollen_bij_certificaat={}\tbenchmark={}\n",
                    o.id,
                    o.naam,
                    o.gemeenten.join(","),
                    o.oin.as_deref().unwrap_or("-"),
                    rollen.join(","),
                    o.benchmark
                ));
            }
        }
        Admin::Organisatie(OrganisatieCommand::Benchmark { id, deelname }) => {
            match auth
                .set_benchmark(&id, deelname)
                .map_err(|e| e.to_string())?
            {
                Some(o) => out.push_str(&format!(
                    "organisatie {}: benchmark={}\n",
                    o.id, o.benchmark
                )),
                None => return Err(format!("no organisation {id}")),
            }
        }
        Admin::Sleutel(SleutelCommand::Maken {
            organisatie,
            rollen,
            verloopt,
        }) => {
            let verloopt = match verloopt {
                None => None,
                Some(v) => Some(Moment::parse(&v).ok_or_else(|| {
                    "--verloopt must be an RFC 3339 moment, e.g. 2027-01-01T00:00:00Z".to_string()
                })?),
            };
            let (s, token) = auth
                .add_credential(&organisatie, &rollen, verloopt)
                .map_err(shown)?;
            out.push_str(&format!("sleutel: {}\ntoken: {token}\n", s.id));
        }
        Admin::Sleutel(SleutelCommand::Lijst) => {
            for s in store.credentials().map_err(|e| e.to_string())? {
                let rollen: Vec<&str> = s.rollen.iter().map(|r| r.as_str()).collect();
                let status = match (s.ingetrokken, s.verloopt) {
                    (Some(m), _) => format!("ingetrokken {m}"),
                    (None, Some(v)) if v <= Moment::now() => format!("verlopen {v}"),
                    (None, Some(v)) => format!("geldig tot {v}"),
                    (None, None) => "geldig".to_string(),
                };
                out.push_str(&format!(
                    "{}\t{}\t{}\t{status}\n",
                    s.id,
                    s.organisatie,
                    rollen.join(",")
                ));
            }
        }
        Admin::Inzage { bsn, uit } => {
            let bsn = crate::domain::Bsn::parse(&bsn)
                .map_err(|_| "--bsn must be a BSN: 9 digits passing the 11-check".to_string())?;
            let export = super::inzage::inzage(&opened, &bsn).map_err(|e| e.to_string())?;
            let json = serde_json::to_vec_pretty(&export).map_err(|e| e.to_string())?;
            write_new(&uit, &json).map_err(|e| format!("cannot write {}: {e}", uit.display()))?;
            out.push_str(&format!(
                "inzage {bsn}: {} berichten, {} verwerkingen, in {}\n",
                export.berichten.len(),
                export.verwerkingen.len(),
                uit.display()
            ));
        }
        Admin::Sleutel(SleutelCommand::Intrekken { id }) => {
            if auth.revoke_credential(&id).map_err(|e| e.to_string())? {
                out.push_str(&format!("sleutel {id} ingetrokken\n"));
            } else {
                return Err(format!("no credential {id}"));
            }
        }
    }
    Ok(out)
}

/// Writes a new file readable by its owner only: it holds personal data.
fn write_new(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
