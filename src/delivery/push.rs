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
//!
//! Several instances may share one store (PostgreSQL): each runs a worker
//! for every subscription, but a worker delivers only while it holds the
//! subscription's lease ([`DeliveryStore::lease`]), so one instance at a
//! time delivers it, in order; the others wait to take over when the
//! lease runs out (an instance died) or is given up (a clean stop). A
//! worker that takes the lease over reads the saved progress first.
//! Registrations, removals and replays made on another instance reach
//! every instance through the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::address::{self, Refused};
use super::signature::Secret;
use crate::schema::{lezer, Lezer};
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
    /// A replay was asked for: take it from the store.
    Replay,
}

/// How often every instance looks for subscriptions registered or removed
/// elsewhere, and an idle worker for replays asked for elsewhere.
const LOOK_AGAIN: Duration = Duration::from_secs(2);

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
    /// This instance, as a lease holder.
    holder: String,
    supervisor: Mutex<Option<JoinHandle<()>>>,
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
        let mut id = [0u8; 8];
        getrandom::fill(&mut id).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let dispatcher = Arc::new(Dispatcher {
            store,
            delivery,
            settings,
            client,
            workers: Mutex::new(HashMap::new()),
            stop,
            holder: id.iter().map(|b| format!("{b:02x}")).collect(),
            supervisor: Mutex::new(None),
        });
        for a in dispatcher.delivery.subscriptions()? {
            dispatcher.spawn(a);
        }
        // Only a shared store changes behind this instance's back.
        if dispatcher.delivery.shared() {
            let supervisor = tokio::spawn(supervise(Arc::downgrade(&dispatcher)));
            *dispatcher
                .supervisor
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some(supervisor);
        }
        Ok(dispatcher)
    }

    /// Workers for subscriptions registered elsewhere; none for those
    /// removed elsewhere.
    async fn look_again(&self) {
        let delivery = self.delivery.clone();
        let Ok(Ok(stored)) = tokio::task::spawn_blocking(move || delivery.subscriptions()).await
        else {
            return;
        };
        let running: Vec<String> = self.workers().keys().cloned().collect();
        for id in running
            .iter()
            .filter(|id| !stored.iter().any(|a| &a.id == *id))
        {
            self.remove(id);
        }
        for a in stored {
            if !running.contains(&a.id) {
                self.spawn(a);
            }
        }
    }

    /// Whether receivers on private addresses are allowed.
    pub fn allow_private_receivers(&self) -> bool {
        self.settings.allow_private_receivers
    }

    fn workers(&self) -> std::sync::MutexGuard<'_, HashMap<String, Worker>> {
        self.workers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts delivering to a (stored) subscription; a worker running for
    /// it already is replaced.
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
            holder: self.holder.clone(),
            held_until: None,
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

    /// Re-sends a subscription's messages from `from` on: asked through
    /// the store, so that the instance delivering it does it, whichever
    /// that is; this instance's worker is woken to look at once.
    pub fn replay(&self, id: &str, from: u64) -> Result<(), StoreError> {
        self.delivery.request_replay(id, from)?;
        if let Some(w) = self.workers().get(id) {
            let _ = w.commands.send(Command::Replay);
        }
        Ok(())
    }

    /// Lets every worker finish the delivery in flight, then stops them
    /// (each gives its lease up).
    pub async fn shutdown(&self) {
        let _ = self.stop.send(true);
        let supervisor = self
            .supervisor
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(s) = supervisor {
            s.abort();
        }
        let tasks: Vec<JoinHandle<()>> = self.workers().drain().map(|(_, w)| w.task).collect();
        for t in tasks {
            let _ = t.await;
        }
    }
}

/// Every instance's look for subscriptions registered or removed
/// elsewhere, until the dispatcher is gone.
async fn supervise(dispatcher: std::sync::Weak<Dispatcher>) {
    loop {
        tokio::time::sleep(LOOK_AGAIN).await;
        let Some(d) = dispatcher.upgrade() else {
            return;
        };
        if *d.stop.borrow() {
            return;
        }
        d.look_again().await;
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
    holder: String,
    /// Until when this worker may deliver, when it holds the lease.
    held_until: Option<std::time::Instant>,
}

/// What interrupted a wait.
enum Woken {
    Stop,
    Replay,
    Ready,
}

/// Whether a worker may deliver.
enum Hold {
    /// It holds the lease; `taken_over` when it has just taken it (and
    /// read the saved progress again).
    Held {
        taken_over: bool,
    },
    Stop,
}

impl Run {
    /// A call on the delivery store, off the async workers: on a database
    /// each is a round trip, which must not hold up `/health` and the rest.
    async fn in_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn DeliveryStore, &str) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (delivery, id) = (self.delivery.clone(), self.abonnement.id.clone());
        tokio::task::spawn_blocking(move || f(delivery.as_ref(), &id))
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?
    }

    async fn save(&self, stand: &Afleverstand) {
        let stand = stand.clone();
        if let Err(e) = self
            .in_store(move |d, id| d.save_delivery_state(id, &stand))
            .await
        {
            tracing::error!(subscription = %self.abonnement.id, error = %e, "cannot save delivery state");
        }
    }

    async fn replay(&self, stand: &mut Afleverstand, from: u64) {
        // A replay re-sends; it never moves delivery forward past
        // messages that were not delivered.
        *stand = Afleverstand {
            cursor: from.saturating_sub(1).min(stand.cursor),
            laatste_succes: stand.laatste_succes,
            laatste_fout: stand.laatste_fout.clone(),
            pogingen: 0,
            eerste_poging: None,
        };
        if let Err(e) = self
            .in_store(move |d, id| d.clear_dead_letters(id, from))
            .await
        {
            tracing::error!(subscription = %self.abonnement.id, error = %e, "cannot clear dead letters");
        }
        self.save(stand).await;
        tracing::info!(subscription = %self.abonnement.id, from, "replay");
    }

    /// Carries out a replay asked for (on any instance), if there is one.
    async fn take_replay(&self, stand: &mut Afleverstand) -> bool {
        match self.in_store(|d, id| d.take_replay(id)).await {
            Ok(Some(from)) => {
                self.replay(stand, from).await;
                true
            }
            Ok(None) => false,
            Err(e) => {
                tracing::error!(subscription = %self.abonnement.id, error = %e, "cannot read a replay request");
                false
            }
        }
    }

    /// How long a lease runs: long enough for a delivery and its renewal,
    /// short enough that another instance takes over soon after this one
    /// died.
    fn lease_time(&self) -> Duration {
        self.renew_margin() * 3
    }

    /// A lease is renewed when less than this is left: one delivery (at
    /// most the push timeout) must finish inside it.
    fn renew_margin(&self) -> Duration {
        self.settings.timeout + Duration::from_secs(2)
    }

    /// Returns once this worker holds the subscription's lease, renewing it
    /// when it runs low; while another instance holds it, waits and tries
    /// again. A lease just taken over means someone else delivered until
    /// now: the saved progress is read again.
    async fn hold(&mut self, stand: &mut Afleverstand, changes: &mut watch::Receiver<u64>) -> Hold {
        loop {
            let now = std::time::Instant::now();
            if self
                .held_until
                .is_some_and(|until| now + self.renew_margin() < until)
            {
                return Hold::Held { taken_over: false };
            }
            let (delivery, id, holder, ttl) = (
                self.delivery.clone(),
                self.abonnement.id.clone(),
                self.holder.clone(),
                self.lease_time(),
            );
            let taken =
                tokio::task::spawn_blocking(move || delivery.lease(&id, &holder, ttl)).await;
            match taken {
                Ok(Ok(true)) => {
                    // A lease that ran out here may have been another
                    // instance's meanwhile (while this one slept in a
                    // backoff, say): then its progress is the one to go on
                    // from, and the subscription may be gone.
                    let taken_over = self.held_until.is_none_or(|until| now >= until);
                    self.held_until = Some(now + ttl);
                    if taken_over {
                        match self.reread().await {
                            Ok(Some(saved)) => *stand = saved,
                            Ok(None) => {
                                self.release().await;
                                self.held_until = None;
                                return Hold::Stop;
                            }
                            Err(e) => {
                                tracing::error!(subscription = %self.abonnement.id, error = %e, "cannot read delivery state");
                                self.held_until = None;
                            }
                        }
                    }
                    if self.held_until.is_some() {
                        return Hold::Held { taken_over };
                    }
                }
                Ok(Ok(false)) => self.held_until = None,
                other => {
                    self.held_until = None;
                    tracing::warn!(subscription = %self.abonnement.id, "cannot take the delivery lease: {:?}", other.err());
                }
            }
            if let Woken::Stop = self.wait(Some(LOOK_AGAIN), changes).await {
                return Hold::Stop;
            }
        }
    }

    /// The saved progress, or `None` when the subscription is gone (removed
    /// on this instance or another while this worker was starting).
    async fn reread(&self) -> Result<Option<Afleverstand>, StoreError> {
        let (delivery, id) = (self.delivery.clone(), self.abonnement.id.clone());
        tokio::task::spawn_blocking(move || match delivery.subscription(&id)? {
            Some(_) => delivery.delivery_state(&id).map(Some),
            None => Ok(None),
        })
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?
    }

    /// Whether the lease still runs (by this instance's clock, with the
    /// margin a save needs).
    fn holds(&self) -> bool {
        self.held_until
            .is_some_and(|until| std::time::Instant::now() < until)
    }

    /// Gives the lease up, so that another instance takes over at once.
    async fn release(&self) {
        if self.held_until.is_none() {
            return;
        }
        let (delivery, id, holder) = (
            self.delivery.clone(),
            self.abonnement.id.clone(),
            self.holder.clone(),
        );
        let _ = tokio::task::spawn_blocking(move || delivery.release(&id, &holder)).await;
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
                Some(Command::Replay) => Woken::Replay,
                None => Woken::Stop,
            },
        }
    }

    async fn run(mut self) {
        let mut stand = Afleverstand::default();
        let mut changes = self.store.changes();
        self.deliver_all(&mut stand, &mut changes).await;
        // Only the holder's progress is saved: another instance's is newer.
        if self.holds() {
            self.save(&stand).await;
        }
        self.release().await;
    }

    /// Delivers until stopped.
    async fn deliver_all(&mut self, stand: &mut Afleverstand, changes: &mut watch::Receiver<u64>) {
        let id = self.abonnement.id.clone();
        'feed: loop {
            if let Hold::Stop = self.hold(stand, changes).await {
                return;
            }
            // Replays asked for (here or on another instance) first.
            while self.commands.try_recv().is_ok() {}
            self.take_replay(stand).await;
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
                    if let Woken::Stop = self.wait(Some(self.settings.retry_base), changes).await {
                        return;
                    }
                    continue;
                }
            };
            if page.is_empty() {
                // New messages wake it, and a replay asked for here; one
                // asked for on another instance is looked for now and then.
                let look_again = self.delivery.shared().then_some(LOOK_AGAIN);
                if let Woken::Stop = self.wait(look_again, changes).await {
                    return;
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
                        return;
                    }
                    match self.hold(stand, changes).await {
                        Hold::Stop => return,
                        // Someone else delivered meanwhile: from its progress.
                        Hold::Held { taken_over: true } => continue 'feed,
                        Hold::Held { taken_over: false } => {}
                    }
                    match self.deliver(stored).await {
                        Ok(()) => {
                            stand.cursor = r.volgnummer;
                            stand.laatste_succes = Some(Moment::now());
                            stand.pogingen = 0;
                            stand.eerste_poging = None;
                            self.save(stand).await;
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
                                let letter = brief.clone();
                                if let Err(e) = self
                                    .in_store(move |d, id| d.add_dead_letter(id, &letter))
                                    .await
                                {
                                    tracing::error!(subscription = %id, error = %e, "cannot record a dead letter");
                                    self.save(stand).await;
                                    continue;
                                }
                                tracing::warn!(subscription = %id, volgnummer = r.volgnummer, "dead letter");
                                stand.cursor = r.volgnummer;
                                stand.pogingen = 0;
                                stand.eerste_poging = None;
                                self.save(stand).await;
                                break;
                            }
                            self.save(stand).await;
                            match self.wait(Some(self.backoff(stand.pogingen)), changes).await {
                                Woken::Stop => return,
                                // Taken at the top, once the lease is
                                // known to be held.
                                Woken::Replay => continue 'feed,
                                Woken::Ready => {}
                            }
                        }
                    }
                }
            }
            self.save(stand).await;
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

    /// One signed POST of the message exactly as received, or as the
    /// subscription's reader takes it ([`lezer::voor_lezer`]: an earlier
    /// schema version, parts left out).
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
        let lezer = Lezer {
            versie: self.abonnement.versie,
            weglaten: self.abonnement.weglaten.clone(),
        };
        let body: Vec<u8> = match std::str::from_utf8(&stored.raw) {
            Ok(raw) => lezer::voor_lezer(raw, &lezer).into_owned().into_bytes(),
            Err(_) => stored.raw.clone(),
        };
        let timestamp = Moment::now().0 / 1_000_000;
        let signature = secret.sign(&r.bericht_id, timestamp, &body);
        let response = self
            .client
            .post(&self.abonnement.url)
            .header("content-type", "application/xml")
            .header("webhook-id", &r.bericht_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .header("ladderpost-volgnummer", r.volgnummer.to_string())
            .header("ladderpost-soort", r.soort.as_str())
            .body(body)
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
