/// Everything a gossip member does around its `Membership` that is not I/O: seals and opens every packet
/// with the keyring and decodes it, joins (again, with a backoff) while it knows no other member, notices
/// that its process was paused and moves the timeouts on by the pause, and says when it must be woken next.
/// Pure like `Membership`: time and randomness are parameters, packets are bytes in and out.
///
/// `GossipNode` runs it on the monotonic clock over a real transport; `GossipSimulation.Simulator` runs it on
/// virtual time over a virtual network, so the simulator exercises the production driver.
public struct GossipDriver<Random: RandomNumberGenerator & Sendable>: Sendable {
    public struct Options: Sendable {
        /// nil only with `--insecure-gossip`: packets are then sent and accepted in plaintext.
        public var keyring: Keyring?
        /// Where to join through while alone (peers' `IP:port`, or simulated names).
        public var seeds: [String]
        /// The longest the state machine's timers go unchecked; they are also checked at each deadline.
        public var tickInterval: Duration
        /// Running later than this past its own wake-up counts as a pause of the process (CPU starvation, a
        /// stopped container): the state machine's timeouts are moved on by the pause (`Membership.resume`).
        public var pauseTolerance: Duration
        /// The largest datagram; a larger message goes on a stream (memberlist's UDP buffer size: a datagram
        /// that fits an Ethernet frame with room for tunnel headers).
        public var maxDatagramSize: Int

        public init(
            keyring: Keyring?, seeds: [String] = [], tickInterval: Duration = .milliseconds(25),
            pauseTolerance: Duration = .milliseconds(10), maxDatagramSize: Int = 1400
        ) {
            self.keyring = keyring
            self.seeds = seeds
            self.tickInterval = tickInterval
            self.pauseTolerance = pauseTolerance
            self.maxDatagramSize = maxDatagramSize
        }
    }

    public enum Output: Hashable, Sendable {
        /// Send these bytes (sealed when there is a keyring): a datagram, or with `stream` one frame on a stream.
        case send([UInt8], to: String, stream: Bool)
        /// A member changed (joined, suspected, died, left, came back, new metadata).
        case changed(Member)
        /// A packet was dropped: it failed authentication, or it is not a gossip message.
        case rejected(Rejection, error: String)
        /// The process did not run for this long; `warn` at most once per `pauseWarningInterval`, and only for
        /// pauses long enough to matter (a probe timeout or more).
        case paused(Duration, warn: Bool)
        /// Still alone: joining again through the seeds.
        case rejoining(seeds: [String])
    }

    public enum Rejection: Hashable, Sendable { case authentication, malformed }

    public static var pauseWarningInterval: Duration { .seconds(10) }

    public private(set) var membership: Membership<Random>
    public var options: Options
    /// For the keyring's nonces.
    private var random: Random
    /// When the driver meant to be woken next; running much later than that is a pause.
    public private(set) var wakeTarget: Duration
    private var nextPauseWarningAt: Duration = .zero
    private var nextJoinAt: Duration = .zero
    private var joinBackoff: Duration = .milliseconds(500)

    /// - Parameters:
    ///   - random: for the state machine's choices (probe order, gossip targets).
    ///   - nonces: for the keyring's nonces.
    public init(
        me: Member, configuration: GossipConfiguration, options: Options, random: Random, nonces: Random, now: Duration
    ) {
        membership = Membership(me: me, configuration: configuration, random: random, now: now)
        self.options = options
        self.random = nonces
        wakeTarget = now
    }

    /// The timers start now (a driver made long before it runs must not take the wait for a pause).
    public mutating func start(now: Duration) {
        wakeTarget = now
    }

    /// Replaces the addresses to join through (found peers). A member still alone tries the new ones at once.
    public mutating func setSeeds(_ seeds: [String]) {
        guard seeds != options.seeds else { return }
        options.seeds = seeds
        nextJoinAt = .zero
        joinBackoff = .milliseconds(500)
    }

    /// New metadata for this member, told to the others with a new incarnation.
    public mutating func setMetadata(_ metadata: [String: String]) {
        membership.setMetadata(metadata)
    }

    /// Joins through `seeds` now, and again with a backoff while still alone.
    public mutating func join(seeds: [String], now: Duration) -> [Output] {
        options.seeds = seeds
        nextJoinAt = now + .milliseconds(500)
        joinBackoff = .seconds(1)
        return outputs(membership.join(seeds: seeds))
    }

    /// The timers: call at `nextWake` (and no later than `tickInterval` after the last call).
    public mutating func tick(now: Duration) -> [Output] {
        var result = noticePause(now: now)
        result += joinIfAlone(now: now)
        result += outputs(membership.tick(now: now))
        wakeTarget = max(min(membership.nextDeadline, now + options.tickInterval), now + .milliseconds(1))
        return result
    }

    /// When to call `tick` next.
    public var nextWake: Duration { wakeTarget }

    /// One packet as it arrived (a datagram, or one frame of a stream).
    public mutating func receive(_ bytes: [UInt8], now: Duration) -> [Output] {
        var plaintext = bytes
        if let keyring = options.keyring {
            do { plaintext = try keyring.open(bytes) } catch {
                return [.rejected(.authentication, error: "\(error)")]
            }
        }
        let envelope: Envelope
        do { envelope = try GossipCodec.decode(plaintext) } catch {
            return [.rejected(.malformed, error: "\(error)")]
        }
        var result = noticePause(now: now)
        result += outputs(membership.receive(envelope, now: now))
        if membership.nextDeadline <= now { result += outputs(membership.tick(now: now)) }
        return result
    }

    /// Tells every live member that this one leaves, over streams (they must arrive), so they drop it at once
    /// instead of suspecting it.
    public mutating func leave() -> [Output] {
        outputs(membership.leave()).map { output in
            guard case .send(let bytes, let to, _) = output else { return output }
            return .send(bytes, to: to, stream: true)
        }
    }

    // MARK: Inside

    /// Ran well after the driver meant to be woken (by its tick or a packet, whichever came first): the process
    /// was paused. The time away must not count against the others, or acks and refutations still unread in
    /// the socket would be too late for timeouts that ran out while nothing ran.
    private mutating func noticePause(now: Duration) -> [Output] {
        let pause = now - wakeTarget
        guard pause > options.pauseTolerance else { return [] }
        wakeTarget = now
        membership.resume(afterPause: pause)
        let warn = now >= nextPauseWarningAt && pause >= membership.configuration.probeTimeout
        if warn { nextPauseWarningAt = now + Self.pauseWarningInterval }
        return [.paused(pause, warn: warn)]
    }

    /// Until some other member is known, (re)sends the join to the seeds with a backoff up to 30 s: a speaker
    /// that starts before its peers finds them when they come.
    private mutating func joinIfAlone(now: Duration) -> [Output] {
        guard !options.seeds.isEmpty, now >= nextJoinAt, membership.knownCount == 1 else { return [] }
        let again: [Output] = nextJoinAt > .zero ? [.rejoining(seeds: options.seeds)] : []
        nextJoinAt = now + joinBackoff
        joinBackoff = min(joinBackoff * 2, .seconds(30))
        return again + outputs(membership.join(seeds: options.seeds))
    }

    private mutating func outputs(_ actions: [Membership<Random>.Action]) -> [Output] {
        actions.map { action in
            switch action {
            case .changed(let member):
                return .changed(member)
            case .send(let message, let to):
                let bytes = seal(message)
                // Full state goes on a stream (it can be large, and join and leave must arrive); the rest on
                // datagrams, unless a member's metadata made one too large to send without IP fragmentation.
                let isState = if case .state = message { true } else { false }
                return .send(bytes, to: to, stream: isState || bytes.count > options.maxDatagramSize)
            }
        }
    }

    private mutating func seal(_ message: GossipMessage) -> [UInt8] {
        let me = membership.me
        let bytes = GossipCodec.encode(Envelope(from: me.name, fromAddress: me.address, message: message))
        guard let keyring = options.keyring else { return bytes }
        let nonce = (0..<12).map { _ in UInt8.random(in: .min ... .max, using: &random) }
        // Sealing fails only for a nonce that is not 12 bytes, which this is.
        return (try? keyring.seal(bytes, nonce: nonce)) ?? []
    }
}
