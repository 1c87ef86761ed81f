//! The sequencer's peer-to-peer network on libp2p.
//!
//! TCP with noise (peers authenticated by their ed25519 libp2p key) and yamux; gossipsub for
//! what goes to everyone (transactions, proposals: signed by their publisher, validated by the
//! application before they are forwarded); request-response for what goes to one peer (votes,
//! timeouts, finality signatures: "direct" messages) and for catch-up questions; identify.
//!
//! Only committee members may connect (an allow-list of peer ids). The network knows which
//! member each peer is, so the application sees messages as coming from member indices.
//! Misbehaving peers are penalised by the application ([`Network::penalise`]); a peer whose score
//! falls to the ban threshold is disconnected and refused for a while. Scores recover with time,
//! so an honest peer's occasional stale message is forgiven.
//!
//! The crate moves bytes; what they mean is the node's business.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, MessageAuthenticity, MessageId, ValidationMode};
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{allow_block_list, identify, identity, noise, tcp, yamux, Multiaddr, PeerId, StreamProtocol, Swarm};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use libp2p::gossipsub::MessageId as GossipId;
pub use libp2p::identity::Keypair;
pub use libp2p::{Multiaddr as Address, PeerId as Peer};

/// A committee member's position (as in consensus).
pub type Member = u16;

/// The gossip topics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Batches of submitted transactions.
    Transactions,
    /// Leaders' proposals.
    Proposals,
}

impl Topic {
    fn ident(self, chain_id: u64) -> IdentTopic {
        match self {
            Topic::Transactions => IdentTopic::new(format!("/rollup-sequencer/{chain_id}/txs/1")),
            Topic::Proposals => IdentTopic::new(format!("/rollup-sequencer/{chain_id}/proposals/1")),
        }
    }
}

/// What the gossip layer should do with a validated message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Valid: forward it.
    Accept,
    /// Useless but harmless: drop it.
    Ignore,
    /// Invalid: drop it and count it against its source.
    Reject,
}

/// One committee member as the network knows it.
#[derive(Debug, Clone)]
pub struct PeerInfo {
    /// Its member index.
    pub member: Member,
    /// Its libp2p identity.
    pub peer_id: PeerId,
    /// Where to dial it.
    pub address: Multiaddr,
}

/// Network settings.
#[derive(Debug, Clone)]
pub struct NetworkConfig {
    /// Which sequencer chain (topic names).
    pub chain_id: u64,
    /// This node's libp2p key.
    pub keypair: identity::Keypair,
    /// This node's member index.
    pub me: Member,
    /// Where to listen.
    pub listen: Multiaddr,
    /// Every committee member (this node included).
    pub peers: Vec<PeerInfo>,
    /// Largest gossip message (a proposal carries a whole block).
    pub max_gossip_bytes: usize,
    /// Largest direct message.
    pub max_direct_bytes: usize,
    /// Largest catch-up answer.
    pub max_response_bytes: usize,
    /// Score at which a peer is banned (a positive number of penalty points).
    pub ban_threshold: i64,
    /// How long a ban lasts.
    pub ban_duration: Duration,
    /// Penalty points forgiven per second.
    pub recovery_per_second: i64,
    /// How often unconnected members are dialled again.
    pub redial_interval: Duration,
    /// How long a catch-up request may take.
    pub request_timeout: Duration,
}

impl NetworkConfig {
    /// Defaults for the limits and timings.
    pub fn new(chain_id: u64, keypair: identity::Keypair, me: Member, listen: Multiaddr, peers: Vec<PeerInfo>) -> Self {
        NetworkConfig {
            chain_id,
            keypair,
            me,
            listen,
            peers,
            max_gossip_bytes: 16 << 20,
            max_direct_bytes: 1 << 20,
            max_response_bytes: 16 << 20,
            ban_threshold: 100,
            ban_duration: Duration::from_secs(60),
            recovery_per_second: 1,
            redial_interval: Duration::from_secs(1),
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// Why the network could not start.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The transport could not be built.
    #[error("cannot build the libp2p transport: {0}")]
    Transport(String),
    /// The listen address is unusable.
    #[error("cannot listen on {0}: {1}")]
    Listen(Multiaddr, String),
    /// The gossip configuration is invalid.
    #[error("invalid gossip configuration: {0}")]
    Gossip(String),
}

/// What the network delivers to the node.
#[derive(Debug)]
pub enum Event {
    /// A gossip message, to be judged with [`Network::report`].
    Gossip {
        /// Its topic.
        topic: Topic,
        /// The member that published it (authenticated by its signature).
        source: Member,
        /// Its id, for [`Network::report`].
        id: MessageId,
        /// The peer that forwarded it to us, for [`Network::report`].
        via: PeerId,
        /// The payload.
        data: Vec<u8>,
    },
    /// A direct message from a member.
    Direct {
        /// The sender.
        from: Member,
        /// The payload.
        data: Vec<u8>,
    },
    /// A catch-up question; answer with [`Network::respond`] and the same `key`.
    Request {
        /// The asker.
        from: Member,
        /// Key of the pending answer.
        key: u64,
        /// The question.
        data: Vec<u8>,
    },
    /// The answer to our [`Network::request`] `id`.
    Response {
        /// Who answered (or failed to).
        from: Member,
        /// The id given to [`Network::request`].
        id: u64,
        /// The answer, or why there is none.
        result: Result<Vec<u8>, String>,
    },
    /// A member connected.
    Connected(Member),
    /// A member's last connection closed.
    Disconnected(Member),
    /// A member was banned for misbehaving.
    Banned(Member),
}

/// Counters the node exports as metrics.
#[derive(Debug, Default)]
pub struct NetworkStats {
    /// Members currently connected.
    pub connected: AtomicUsize,
    /// Messages received (gossip, direct, requests).
    pub messages_in: AtomicU64,
    /// Messages sent.
    pub messages_out: AtomicU64,
    /// Bytes received in messages.
    pub bytes_in: AtomicU64,
    /// Bytes sent in messages.
    pub bytes_out: AtomicU64,
    /// Penalty points given.
    pub penalty_points: AtomicU64,
    /// Bans.
    pub bans: AtomicU64,
    /// Commands dropped because the network task was overloaded.
    pub dropped_commands: AtomicU64,
}

enum Command {
    Publish(Topic, Vec<u8>),
    Direct(Member, Vec<u8>),
    Request(Member, u64, Vec<u8>),
    Respond(u64, Vec<u8>),
    Report(MessageId, PeerId, Verdict),
    Penalise(Member, i64, &'static str),
}

/// A handle to the running network (cheap to clone).
#[derive(Clone)]
pub struct Network {
    commands: mpsc::Sender<Command>,
    stats: Arc<NetworkStats>,
    peer_id: PeerId,
}

impl Network {
    /// Starts the network task: listens, dials the other members, and delivers [`Event`]s until
    /// `shutdown` is cancelled. Returns the handle, the event stream and the bound addresses.
    pub async fn start(
        cfg: NetworkConfig,
        shutdown: CancellationToken,
    ) -> Result<(Network, mpsc::Receiver<Event>, tokio::task::JoinHandle<()>), NetworkError> {
        let peer_id = cfg.keypair.public().to_peer_id();
        let mut swarm = build_swarm(&cfg)?;
        swarm.listen_on(cfg.listen.clone()).map_err(|e| NetworkError::Listen(cfg.listen.clone(), e.to_string()))?;
        for topic in [Topic::Transactions, Topic::Proposals] {
            swarm.behaviour_mut().gossipsub.subscribe(&topic.ident(cfg.chain_id)).map_err(|e| NetworkError::Gossip(e.to_string()))?;
        }
        for p in &cfg.peers {
            if p.member != cfg.me {
                swarm.behaviour_mut().allow.allow_peer(p.peer_id);
            }
        }
        let (cmd_tx, cmd_rx) = mpsc::channel(16_384);
        let (ev_tx, ev_rx) = mpsc::channel(16_384);
        let stats = Arc::new(NetworkStats::default());
        let task = NetworkTask {
            members: cfg.peers.iter().map(|p| (p.peer_id, p.member)).collect(),
            peers: cfg.peers.iter().map(|p| (p.member, p.clone())).collect(),
            cfg,
            swarm,
            events: ev_tx,
            stats: stats.clone(),
            scores: HashMap::new(),
            banned: HashMap::new(),
            responders: HashMap::new(),
            next_key: 0,
            outbound: HashMap::new(),
            connections: HashMap::new(),
        };
        let handle = tokio::spawn(task.run(cmd_rx, shutdown));
        Ok((Network { commands: cmd_tx, stats, peer_id }, ev_rx, handle))
    }

    fn command(&self, c: Command) {
        if self.commands.try_send(c).is_err() {
            self.stats.dropped_commands.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// This node's peer id.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// Counters.
    pub fn stats(&self) -> &NetworkStats {
        &self.stats
    }

    /// Gossips `data` to every member.
    pub fn publish(&self, topic: Topic, data: Vec<u8>) {
        self.command(Command::Publish(topic, data));
    }

    /// Sends a direct message (delivery is best effort: the protocol tolerates loss).
    pub fn send(&self, to: Member, data: Vec<u8>) {
        self.command(Command::Direct(to, data));
    }

    /// Asks member `to` a catch-up question; the answer comes as [`Event::Response`] with `id`.
    pub fn request(&self, to: Member, id: u64, data: Vec<u8>) {
        self.command(Command::Request(to, id, data));
    }

    /// Answers the [`Event::Request`] with `key`.
    pub fn respond(&self, key: u64, data: Vec<u8>) {
        self.command(Command::Respond(key, data));
    }

    /// Judges a gossip message (forward, drop, or drop and penalise its source).
    pub fn report(&self, id: MessageId, via: PeerId, verdict: Verdict) {
        self.command(Command::Report(id, via, verdict));
    }

    /// Counts `points` against a member for `reason`.
    pub fn penalise(&self, member: Member, points: i64, reason: &'static str) {
        self.command(Command::Penalise(member, points, reason));
    }
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    allow: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
    gossipsub: gossipsub::Behaviour,
    direct: request_response::Behaviour<FramedCodec>,
    sync: request_response::Behaviour<FramedCodec>,
    identify: identify::Behaviour,
}

/// Length-prefixed (u32 big-endian) byte messages with size caps checked before allocating.
#[derive(Clone)]
struct FramedCodec {
    max_request: usize,
    max_response: usize,
}

async fn read_frame<T: futures::AsyncRead + Unpin + Send>(io: &mut T, max: usize) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("message of {len} bytes exceeds the limit of {max}")));
    }
    let mut buf = vec![0u8; len];
    io.read_exact(&mut buf).await?;
    Ok(buf)
}

async fn write_frame<T: futures::AsyncWrite + Unpin + Send>(io: &mut T, data: &[u8]) -> io::Result<()> {
    io.write_all(&(data.len() as u32).to_be_bytes()).await?;
    io.write_all(data).await?;
    io.close().await
}

impl request_response::Codec for FramedCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T: futures::AsyncRead + Unpin + Send>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>> {
        read_frame(io, self.max_request).await
    }
    async fn read_response<T: futures::AsyncRead + Unpin + Send>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>> {
        read_frame(io, self.max_response).await
    }
    async fn write_request<T: futures::AsyncWrite + Unpin + Send>(&mut self, _: &StreamProtocol, io: &mut T, req: Vec<u8>) -> io::Result<()> {
        write_frame(io, &req).await
    }
    async fn write_response<T: futures::AsyncWrite + Unpin + Send>(&mut self, _: &StreamProtocol, io: &mut T, res: Vec<u8>) -> io::Result<()> {
        write_frame(io, &res).await
    }
}

fn build_swarm(cfg: &NetworkConfig) -> Result<Swarm<Behaviour>, NetworkError> {
    let gossip_cfg = gossipsub::ConfigBuilder::default()
        .max_transmit_size(cfg.max_gossip_bytes)
        .validation_mode(ValidationMode::Strict)
        .validate_messages()
        // Message ids are gossipsub's default, publisher and sequence number (messages are
        // signed): no hashing of multi-megabyte proposals on every receipt.
        .heartbeat_interval(Duration::from_secs(1))
        .mesh_n_low(2)
        .mesh_n(3)
        .mesh_n_high(6)
        .mesh_outbound_min(1)
        .history_length(5)
        .history_gossip(3)
        .build()
        .map_err(|e| NetworkError::Gossip(e.to_string()))?;
    let max_direct = cfg.max_direct_bytes;
    let max_response = cfg.max_response_bytes;
    let request_timeout = cfg.request_timeout;
    let swarm = libp2p::SwarmBuilder::with_existing_identity(cfg.keypair.clone())
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
        .map_err(|e| NetworkError::Transport(e.to_string()))?
        .with_behaviour(|key| {
            let gossipsub = gossipsub::Behaviour::new(MessageAuthenticity::Signed(key.clone()), gossip_cfg)?;
            let direct = request_response::Behaviour::with_codec(
                FramedCodec { max_request: max_direct, max_response: 16 },
                [(StreamProtocol::new("/rollup-sequencer/direct/1"), ProtocolSupport::Full)],
                request_response::Config::default().with_request_timeout(Duration::from_secs(5)).with_max_concurrent_streams(1024),
            );
            let sync = request_response::Behaviour::with_codec(
                FramedCodec { max_request: 1024, max_response },
                [(StreamProtocol::new("/rollup-sequencer/sync/1"), ProtocolSupport::Full)],
                request_response::Config::default().with_request_timeout(request_timeout),
            );
            let identify = identify::Behaviour::new(identify::Config::new("/rollup-sequencer/1".into(), key.public()));
            Ok(Behaviour { allow: Default::default(), gossipsub, direct, sync, identify })
        })
        .map_err(|e| NetworkError::Transport(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
        .build();
    Ok(swarm)
}

struct NetworkTask {
    cfg: NetworkConfig,
    swarm: Swarm<Behaviour>,
    members: HashMap<PeerId, Member>,
    peers: HashMap<Member, PeerInfo>,
    events: mpsc::Sender<Event>,
    stats: Arc<NetworkStats>,
    scores: HashMap<Member, i64>,
    banned: HashMap<Member, Instant>,
    responders: HashMap<u64, ResponseChannel<Vec<u8>>>,
    next_key: u64,
    outbound: HashMap<OutboundRequestId, (Member, u64)>,
    connections: HashMap<PeerId, usize>,
}

impl NetworkTask {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>, shutdown: CancellationToken) {
        let mut redial = tokio::time::interval(self.cfg.redial_interval);
        redial.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut recover = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                ev = self.swarm.select_next_some() => self.on_swarm_event(ev).await,
                cmd = commands.recv() => match cmd {
                    Some(c) => self.on_command(c),
                    None => break,
                },
                _ = redial.tick() => self.redial(),
                _ = recover.tick() => self.recover(),
            }
        }
        tracing::debug!("network task stopped");
    }

    fn redial(&mut self) {
        let now = Instant::now();
        let expired: Vec<Member> = self.banned.iter().filter(|(_, until)| **until <= now).map(|(m, _)| *m).collect();
        for m in expired {
            self.banned.remove(&m);
            self.scores.insert(m, 0);
            if let Some(p) = self.peers.get(&m) {
                self.swarm.behaviour_mut().allow.allow_peer(p.peer_id);
                tracing::info!(member = m, "ban lifted");
            }
        }
        let targets: Vec<PeerInfo> = self
            .peers
            .values()
            .filter(|p| p.member != self.cfg.me && !self.banned.contains_key(&p.member) && !self.swarm.is_connected(&p.peer_id))
            .cloned()
            .collect();
        for p in targets {
            let opts = libp2p::swarm::dial_opts::DialOpts::peer_id(p.peer_id).addresses(vec![p.address.clone()]).build();
            if let Err(e) = self.swarm.dial(opts) {
                tracing::trace!(member = p.member, "dial: {e}");
            }
        }
    }

    fn recover(&mut self) {
        let r = self.cfg.recovery_per_second;
        for s in self.scores.values_mut() {
            *s = (*s + r).min(0);
        }
    }

    fn member_of(&self, peer: &PeerId) -> Option<Member> {
        self.members.get(peer).copied().filter(|m| !self.banned.contains_key(m))
    }

    fn penalise(&mut self, member: Member, points: i64, reason: &'static str) {
        if member == self.cfg.me || points <= 0 {
            return;
        }
        self.stats.penalty_points.fetch_add(points as u64, Ordering::Relaxed);
        let score = self.scores.entry(member).or_insert(0);
        *score -= points;
        tracing::warn!(member, points, score = *score, reason, "peer penalised");
        if *score <= -self.cfg.ban_threshold && !self.banned.contains_key(&member) {
            self.banned.insert(member, Instant::now() + self.cfg.ban_duration);
            self.stats.bans.fetch_add(1, Ordering::Relaxed);
            if let Some(p) = self.peers.get(&member) {
                // Disallowing closes its connections and refuses new ones until the ban ends.
                self.swarm.behaviour_mut().allow.disallow_peer(p.peer_id);
            }
            tracing::warn!(member, "peer banned for {:?}", self.cfg.ban_duration);
            let _ = self.events.try_send(Event::Banned(member));
        }
    }

    fn on_command(&mut self, c: Command) {
        match c {
            Command::Publish(topic, data) => {
                let len = data.len() as u64;
                match self.swarm.behaviour_mut().gossipsub.publish(topic.ident(self.cfg.chain_id), data) {
                    Ok(_) => {
                        self.stats.messages_out.fetch_add(1, Ordering::Relaxed);
                        self.stats.bytes_out.fetch_add(len, Ordering::Relaxed);
                    }
                    Err(e) => tracing::debug!("publish on {topic:?}: {e}"),
                }
            }
            Command::Direct(to, data) => {
                if let Some(p) = self.peers.get(&to).filter(|p| p.member != self.cfg.me && !self.banned.contains_key(&to)) {
                    let peer = p.peer_id;
                    self.stats.messages_out.fetch_add(1, Ordering::Relaxed);
                    self.stats.bytes_out.fetch_add(data.len() as u64, Ordering::Relaxed);
                    self.swarm.behaviour_mut().direct.send_request(&peer, data);
                }
            }
            Command::Request(to, id, data) => match self.peers.get(&to).map(|p| p.peer_id) {
                Some(peer) if to != self.cfg.me => {
                    let rid = self.swarm.behaviour_mut().sync.send_request(&peer, data);
                    self.outbound.insert(rid, (to, id));
                }
                _ => {
                    let _ = self.events.try_send(Event::Response { from: to, id, result: Err("not a peer".into()) });
                }
            },
            Command::Respond(key, data) => {
                if let Some(ch) = self.responders.remove(&key) {
                    self.stats.bytes_out.fetch_add(data.len() as u64, Ordering::Relaxed);
                    let _ = self.swarm.behaviour_mut().sync.send_response(ch, data);
                }
            }
            Command::Report(id, via, verdict) => {
                let acceptance = match verdict {
                    Verdict::Accept => MessageAcceptance::Accept,
                    Verdict::Ignore => MessageAcceptance::Ignore,
                    Verdict::Reject => MessageAcceptance::Reject,
                };
                self.swarm.behaviour_mut().gossipsub.report_message_validation_result(&id, &via, acceptance);
            }
            Command::Penalise(m, points, reason) => self.penalise(m, points, reason),
        }
    }

    async fn emit(&mut self, ev: Event) {
        // Backpressure: a busy node slows the network task down rather than buffering without
        // bound.
        let _ = self.events.send(ev).await;
    }

    async fn on_swarm_event(&mut self, ev: SwarmEvent<BehaviourEvent>) {
        match ev {
            SwarmEvent::NewListenAddr { address, .. } => tracing::info!("p2p listening on {address}"),
            SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                let n = self.connections.entry(peer_id).or_insert(0);
                *n += 1;
                if *n == 1 {
                    self.stats.connected.fetch_add(1, Ordering::Relaxed);
                    if let Some(m) = self.member_of(&peer_id) {
                        tracing::info!(member = m, %peer_id, "peer connected");
                        self.emit(Event::Connected(m)).await;
                    }
                }
            }
            SwarmEvent::ConnectionClosed { peer_id, num_established, .. } => {
                if num_established == 0 && self.connections.remove(&peer_id).is_some() {
                    self.stats.connected.fetch_sub(1, Ordering::Relaxed);
                    if let Some(m) = self.members.get(&peer_id).copied() {
                        tracing::info!(member = m, "peer disconnected");
                        self.emit(Event::Disconnected(m)).await;
                    }
                } else if let Some(n) = self.connections.get_mut(&peer_id) {
                    *n = num_established as usize;
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message { propagation_source, message_id, message })) => {
                let topic = if message.topic == Topic::Proposals.ident(self.cfg.chain_id).hash() {
                    Topic::Proposals
                } else if message.topic == Topic::Transactions.ident(self.cfg.chain_id).hash() {
                    Topic::Transactions
                } else {
                    self.swarm.behaviour_mut().gossipsub.report_message_validation_result(&message_id, &propagation_source, MessageAcceptance::Reject);
                    return;
                };
                let source = message.source.and_then(|s| self.member_of(&s));
                let Some(source) = source else {
                    // Published by someone outside the committee (relayed by a member).
                    self.swarm.behaviour_mut().gossipsub.report_message_validation_result(&message_id, &propagation_source, MessageAcceptance::Reject);
                    if let Some(relay) = self.member_of(&propagation_source) {
                        self.penalise(relay, 50, "relayed a message from outside the committee");
                    }
                    return;
                };
                self.stats.messages_in.fetch_add(1, Ordering::Relaxed);
                self.stats.bytes_in.fetch_add(message.data.len() as u64, Ordering::Relaxed);
                self.emit(Event::Gossip { topic, source, id: message_id, via: propagation_source, data: message.data }).await;
            }
            SwarmEvent::Behaviour(BehaviourEvent::Direct(request_response::Event::Message {
                peer,
                message: request_response::Message::Request { request, channel, .. },
                ..
            })) => {
                let _ = self.swarm.behaviour_mut().direct.send_response(channel, Vec::new());
                if let Some(from) = self.member_of(&peer) {
                    self.stats.messages_in.fetch_add(1, Ordering::Relaxed);
                    self.stats.bytes_in.fetch_add(request.len() as u64, Ordering::Relaxed);
                    self.emit(Event::Direct { from, data: request }).await;
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message { peer, message, .. })) => match message {
                request_response::Message::Request { request, channel, .. } => {
                    if let Some(from) = self.member_of(&peer) {
                        self.next_key += 1;
                        let key = self.next_key;
                        self.responders.insert(key, channel);
                        self.stats.messages_in.fetch_add(1, Ordering::Relaxed);
                        self.emit(Event::Request { from, key, data: request }).await;
                    }
                }
                request_response::Message::Response { request_id, response } => {
                    if let Some((from, id)) = self.outbound.remove(&request_id) {
                        self.stats.bytes_in.fetch_add(response.len() as u64, Ordering::Relaxed);
                        self.emit(Event::Response { from, id, result: Ok(response) }).await;
                    }
                }
            },
            SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::OutboundFailure { request_id, error, .. })) => {
                if let Some((from, id)) = self.outbound.remove(&request_id) {
                    self.emit(Event::Response { from, id, result: Err(error.to_string()) }).await;
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::InboundFailure { peer, error, .. }))
            | SwarmEvent::Behaviour(BehaviourEvent::Direct(request_response::Event::InboundFailure { peer, error, .. })) => {
                // Oversized or truncated frames: the peer sent something no honest node sends.
                if let (Some(m), request_response::InboundFailure::Io(e)) = (self.member_of(&peer), &error) {
                    if e.kind() == io::ErrorKind::InvalidData {
                        self.penalise(m, 50, "oversized message");
                    }
                }
                tracing::debug!(%peer, "inbound request failed: {error}");
            }
            SwarmEvent::IncomingConnectionError { error, send_back_addr, .. } => {
                tracing::debug!("incoming connection from {send_back_addr} refused: {error}");
            }
            _ => {}
        }
        // Keep the map of pending answers bounded (answers never given are dropped by libp2p).
        if self.responders.len() > 4096 {
            let min = self.next_key.saturating_sub(4096);
            self.responders.retain(|k, _| *k > min);
        }
    }
}
