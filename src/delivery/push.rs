//! Push forwarding: one worker per subscription POSTs every accepted message
//! of its municipality to the receiver, in acceptance order.
//!
//! A message is delivered when the receiver answers 2xx. Anything else (an
//! error status, a timeout, a refused or closed connection) is retried with
//! exponential backoff and jitter; later messages wait, so order holds.
//! After the retry window the message becomes a dead letter and delivery
//! moves on; a replay re-sends from any sequence number. Progress is saved
//! after each message: a clean stop resumes exactly where it was, a crash
//! may deliver the last message again (at least once; receivers deduplicate
//! on `webhook-id`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::address::{self, Refused};
use super::signature::Secret;
use crate::store::delivery::{Abonnement, Afleverstand, DeliveryStore, DodeBrief, Fout};
use crate::store::{Store, StoreError, Stored};
use crate::time::Moment;

/// Timing of deliveries and retries.
#[derive(Debug, Clone)]
pub struct PushSettings {
    /// How long one delivery may take.
    pub timeout: Duration,
    /// The first retry's delay; it doubles per attempt up to `retry_max`.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// How long a message is retried before it becomes a dead letter.
    pub dead_after: Duration,
    /// Whether receivers may be on loopback, private and similar addresses
    /// (`address::classify`); refused at registration and delivery if not.
    pub allow_private_receivers: bool,
    /// CA certificates trusted for HTTPS receivers besides the system's
    /// (`--push-ca`: PKIoverheid private roots, an internal CA).
    pub roots: Vec<reqwest::Certificate>,
}

impl Default for PushSettings {
    fn default() -> Self {
        PushSettings {
            timeout: Duration::from_secs(10),
            retry_base: Duration::from_millis(500),
            retry_max: Duration::from_secs(300),
            dead_after: Duration::from_secs(24 * 3600),
            allow_private_receivers: false,
            roots: Vec::new(),
        }
    }
}

enum Command {
    /// Re-send everything from this sequence number on.
    Replay(u64),
}

struct Worker {
    commands: mpsc::UnboundedSender<Command>,
    task: JoinHandle<()>,
}

/// Runs and manages the workers.
pub struct Dispatcher {
    store: Arc<dyn Store>,
    delivery: Arc<dyn DeliveryStore>,
    settings: PushSettings,
    client: reqwest::Client,
    workers: Mutex<HashMap<String, Worker>>,
    stop: watch::Sender<bool>,
}

impl Dispatcher {
    /// Starts a worker for every stored subscription.
    pub fn start(
        store: Arc<dyn Store>,
        delivery: Arc<dyn DeliveryStore>,
        settings: PushSettings,
    ) -> Result<Arc<Dispatcher>, StoreError> {
        let mut builder = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            // A receiver answers; a redirect would be a way around the
            // address policy, and a 3xx is a failed delivery like any other.
            .redirect(reqwest::redirect::Policy::none());
        if let Some(resolver) = address::resolver(settings.allow_private_receivers) {
            builder = builder.dns_resolver(resolver);
        }
        for root in &settings.roots {
            builder = builder.add_root_certificate(root.clone());
        }
        let client = builder
            .build()
            .map_err(|e| StoreError::Unavailable(format!("HTTP client: {e}")))?;
        let (stop, _) = watch::channel(false);
        let dispatcher = Arc::new(Dispatcher {
            store,
            delivery,
            settings,
            client,
            workers: Mutex::new(HashMap::new()),
            stop,
        });
        for a in dispatcher.delivery.subscriptions()? {
            dispatcher.spawn(a);
        }
        Ok(dispatcher)
    }

    /// Whether receivers on private addresses are allowed.
    pub fn allow_private_receivers(&self) -> bool {
        self.settings.allow_private_receivers
    }

    fn workers(&self) -> std::sync::MutexGuard<'_, HashMap<String, Worker>> {
        self.workers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts delivering to a (stored) subscription.
    pub fn spawn(&self, abonnement: Abonnement) {
        let (commands, inbox) = mpsc::unbounded_channel();
        let id = abonnement.id.clone();
        let run = Run {
            store: self.store.clone(),
            delivery: self.delivery.clone(),
            settings: self.settings.clone(),
            client: self.client.clone(),
            secret: Secret::parse(&abonnement.secret),
            abonnement,
            commands: inbox,
            stop: self.stop.subscribe(),
        };
        let task = tokio::spawn(run.run());
        if let Some(old) = self.workers().insert(id, Worker { commands, task }) {
            old.task.abort();
        }
    }

    /// Stops delivering to a subscription (it is being removed).
    pub fn remove(&self, id: &str) {
        if let Some(w) = self.workers().remove(id) {
            w.task.abort();
        }
    }

    /// Re-sends a subscription's messages from `from` on.
    pub fn replay(&self, id: &str, from: u64) -> bool {
        self.workers()
            .get(id)
            .is_some_and(|w| w.commands.send(Command::Replay(from)).is_ok())
    }

    /// Lets every worker finish the delivery in flight, then stops them.
    pub async fn shutdown(&self) {
        let _ = self.stop.send(true);
        let tasks: Vec<JoinHandle<()>> = self.workers().drain().map(|(_, w)| w.task).collect();
        for t in tasks {
            let _ = t.await;
        }
    }
}

struct Run {
    store: Arc<dyn Store>,
    delivery: Arc<dyn DeliveryStore>,
    settings: PushSettings,
    client: reqwest::Client,
    secret: Option<Secret>,
    abonnement: Abonnement,
    commands: mpsc::UnboundedReceiver<Command>,
    stop: watch::Receiver<bool>,
}

/// What interrupted a wait.
enum Woken {
    Stop,
    Replay(u64),
    Ready,
}

impl Run {
    fn save(&self, stand: &Afleverstand) {
        if let Err(e) = self
            .delivery
            .save_delivery_state(&self.abonnement.id, stand)
        {
            tracing::error!(subscription = %self.abonnement.id, error = %e, "cannot save delivery state");
        }
    }

    fn replay(&self, stand: &mut Afleverstand, from: u64) {
        // A replay re-sends; it never moves delivery forward past
        // messages that were not delivered.
        *stand = Afleverstand {
            cursor: from.saturating_sub(1).min(stand.cursor),
            laatste_succes: stand.laatste_succes,
            laatste_fout: stand.laatste_fout.clone(),
            pogingen: 0,
            eerste_poging: None,
        };
        if let Err(e) = self.delivery.clear_dead_letters(&self.abonnement.id, from) {
            tracing::error!(subscription = %self.abonnement.id, error = %e, "cannot clear dead letters");
        }
        self.save(stand);
        tracing::info!(subscription = %self.abonnement.id, from, "replay");
    }

    /// Waits for `delay` (or for new messages when `None`), a command or
    /// the stop signal.
    async fn wait(&mut self, delay: Option<Duration>, changes: &mut watch::Receiver<u64>) -> Woken {
        if *self.stop.borrow() {
            return Woken::Stop;
        }
        let sleep = async {
            match delay {
                Some(d) => tokio::time::sleep(d).await,
                None => {
                    let _ = changes.changed().await;
                }
            }
        };
        tokio::select! {
            () = sleep => Woken::Ready,
            _ = self.stop.changed() => Woken::Stop,
            cmd = self.commands.recv() => match cmd {
                Some(Command::Replay(from)) => Woken::Replay(from),
                None => Woken::Stop,
            },
        }
    }

    async fn run(mut self) {
        let id = self.abonnement.id.clone();
        let mut stand = match self.delivery.delivery_state(&id) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(subscription = %id, error = %e, "cannot read delivery state");
                return;
            }
        };
        let mut changes = self.store.changes();
        'feed: loop {
            // Take pending commands first.
            while let Ok(Command::Replay(from)) = self.commands.try_recv() {
                self.replay(&mut stand, from);
            }
            changes.borrow_and_update();
            let page = {
                let store = self.store.clone();
                let gemeente = self.abonnement.gemeente.clone();
                let after = stand.cursor;
                tokio::task::spawn_blocking(move || store.feed(&gemeente, after, 64)).await
            };
            let page = match page {
                Ok(Ok(p)) => p,
                other => {
                    tracing::error!(subscription = %id, "cannot read the feed: {:?}", other.err());
                    match self
                        .wait(Some(self.settings.retry_base), &mut changes)
                        .await
                    {
                        Woken::Stop => return,
                        Woken::Replay(from) => self.replay(&mut stand, from),
                        Woken::Ready => {}
                    }
                    continue;
                }
            };
            if page.is_empty() {
                match self.wait(None, &mut changes).await {
                    Woken::Stop => return,
                    Woken::Replay(from) => self.replay(&mut stand, from),
                    Woken::Ready => {}
                }
                continue;
            }
            for stored in &page {
                let r = &stored.record;
                if !self.abonnement.soorten.contains(&r.soort) {
                    stand.cursor = r.volgnummer;
                    continue;
                }
                loop {
                    if *self.stop.borrow() {
                        self.save(&stand);
                        return;
                    }
                    match self.deliver(stored).await {
                        Ok(()) => {
                            stand.cursor = r.volgnummer;
                            stand.laatste_succes = Some(Moment::now());
                            stand.pogingen = 0;
                            stand.eerste_poging = None;
                            self.save(&stand);
                            break;
                        }
                        Err(why) => {
                            let now = Moment::now();
                            stand.pogingen += 1;
                            let first = *stand.eerste_poging.get_or_insert(now);
                            stand.laatste_fout = Some(Fout {
                                tijdstip: now,
                                volgnummer: r.volgnummer,
                                omschrijving: why.clone(),
                            });
                            tracing::warn!(subscription = %id, volgnummer = r.volgnummer, attempt = stand.pogingen, error = %why, "delivery failed");
                            let waited =
                                Duration::from_micros(u64::try_from(now.0 - first.0).unwrap_or(0));
                            if waited >= self.settings.dead_after {
                                let brief = DodeBrief {
                                    volgnummer: r.volgnummer,
                                    bericht_id: r.bericht_id.clone(),
                                    sinds: now,
                                    pogingen: stand.pogingen,
                                    fout: why,
                                };
                                if let Err(e) = self.delivery.add_dead_letter(&id, &brief) {
                                    tracing::error!(subscription = %id, error = %e, "cannot record a dead letter");
                                    self.save(&stand);
                                    continue;
                                }
                                tracing::warn!(subscription = %id, volgnummer = r.volgnummer, "dead letter");
                                stand.cursor = r.volgnummer;
                                stand.pogingen = 0;
                                stand.eerste_poging = None;
                                self.save(&stand);
                                break;
                            }
                            self.save(&stand);
                            match self
                                .wait(Some(self.backoff(stand.pogingen)), &mut changes)
                                .await
                            {
                                Woken::Stop => return,
                                Woken::Replay(from) => {
                                    self.replay(&mut stand, from);
                                    continue 'feed;
                                }
                                Woken::Ready => {}
                            }
                        }
                    }
                }
            }
            self.save(&stand);
        }
    }

    /// base·2^(attempt−1), at most `retry_max`, with jitter: a random delay
    /// between half and all of it, so receivers coming back are not hit by
    /// every subscription at once.
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .settings
            .retry_base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let full = exp.min(self.settings.retry_max);
        let mut b = [0u8; 8];
        let r = if getrandom::fill(&mut b).is_ok() {
            u64::from_le_bytes(b)
        } else {
            0
        };
        let half = full / 2;
        half + Duration::from_nanos(r % (u64::try_from(half.as_nanos()).unwrap_or(u64::MAX).max(1)))
    }

    /// One signed POST of the message exactly as received.
    async fn deliver(&self, stored: &Stored) -> Result<(), String> {
        let secret = self
            .secret
            .as_ref()
            .ok_or("the subscription's secret is unreadable")?;
        // reqwest resolves names through `address::PublicOnly`, but never
        // asks about an IP literal.
        if !self.settings.allow_private_receivers {
            if let Some(range) = reqwest::Url::parse(&self.abonnement.url)
                .ok()
                .as_ref()
                .and_then(address::literal)
                .and_then(address::classify)
            {
                return Err(Refused::literal(range).0);
            }
        }
        let r = &stored.record;
        let timestamp = Moment::now().0 / 1_000_000;
        let signature = secret.sign(&r.bericht_id, timestamp, &stored.raw);
        let response = self
            .client
            .post(&self.abonnement.url)
            .header("content-type", "application/xml")
            .header("webhook-id", &r.bericht_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .header("ladderpost-volgnummer", r.volgnummer.to_string())
            .header("ladderpost-soort", r.soort.as_str())
            .body(stored.raw.clone())
            .send()
            .await
            .map_err(describe)?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("the receiver answered HTTP {}", status.as_u16()))
        }
    }
}

fn describe(e: reqwest::Error) -> String {
    if let Some(refused) = Refused::find(&e) {
        refused.0.clone()
    } else if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else {
        // No URL in the message: it may carry a token.
        format!("request failed: {}", e.without_url())
    }
}
