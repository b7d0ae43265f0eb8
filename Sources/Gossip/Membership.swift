#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SWIM membership with Lifeguard's refinements, as a pure state machine: it is fed messages and the time, and
/// answers with actions (messages to send, membership changes). No socket, no clock: the transport and the
/// deterministic simulator drive the same type.
///
/// - Probing: every `probeInterval` (scaled by local health), ping the next member of a shuffled round-robin
///   order; without an ack after `probeTimeout`, ask `indirectProbes` others to ping it; without any ack by the
///   end of the interval, suspect it.
/// - Suspicion: a suspect is declared dead when its suspicion times out; the timeout starts at
///   `suspicionMaxTimeoutMultiplier` times the minimum and shrinks towards the minimum with each independent
///   confirmation (Lifeguard). A suspected member refutes by raising its incarnation.
/// - Local health (Lifeguard): a member that misses acks or is suspected slows its own probing, so a slow node
///   does not accuse healthy ones.
/// - Dissemination: updates ride on pings and acks, `retransmitMultiplier × ceil(log10(n + 1))` times each; a
///   ping to a suspect carries the suspicion first, so the suspect learns of it at once (the buddy system).
public struct Membership<Random: RandomNumberGenerator & Sendable>: Sendable {
    public enum Action: Hashable, Sendable {
        case send(GossipMessage, to: String)
        /// Another member's status, address or metadata changed (or it was new).
        case changed(Member)
    }

    public private(set) var me: Member
    public let configuration: GossipConfiguration
    var random: Random
    var others: [String: Member] = [:]
    var probeOrder: [String] = []
    /// Members others suspect, to be probed next out of turn: a real failure collects Lifeguard's independent
    /// confirmations within one probe interval instead of one round-robin round.
    var probeSoon: [String] = []
    var nextProbeAt: Duration
    var nextPushPullAt: Duration
    var nextGossipAt: Duration
    var nextDeadProbeAt: Duration
    /// When each member now dead was declared so (by anyone), for `deadProbeInterval`.
    var deadSince: [String: Duration] = [:]
    var sequence: UInt32 = 0
    var probe: PendingProbe?
    var relays: [UInt32: Relay] = [:]
    var suspicions: [String: Suspicion] = [:]
    var broadcasts = BroadcastQueue()
    /// Lifeguard's local health multiplier score, 0 (healthy) up to `awarenessMaxMultiplier - 1`.
    public private(set) var awareness = 0

    struct PendingProbe: Sendable {
        let target: String
        let sequence: UInt32
        var sentAt: Duration
        var indirectSent = false
        var expectedNacks = 0
        var nacks = 0
    }

    struct Relay: Sendable {
        let requesterAddress: String
        let sequence: UInt32
        var deadline: Duration
    }

    struct Suspicion: Sendable {
        var start: Duration
        let incarnation: UInt64
        var confirmations: Set<String>
        /// When the timeout ran out: the deadline of the last-chance ping sent to the suspect.
        var finalProbe: Duration?
    }

    /// Last-chance pings in flight: sequence → suspect.
    var finalProbes: [UInt32: String] = [:]

    public init(me: Member, configuration: GossipConfiguration, random: Random, now: Duration) {
        self.me = me
        self.me.status = .alive
        self.configuration = configuration
        self.random = random
        nextProbeAt = now
        nextPushPullAt = now + configuration.pushPullInterval
        nextGossipAt = now
        nextDeadProbeAt = now + (configuration.deadProbeInterval ?? .zero)
    }

    // MARK: Queries

    /// Every member this node knows of, itself included, by name.
    public var members: [Member] { ([me] + others.values).sorted { $0.name < $1.name } }

    /// Alive and suspect members, itself included: the candidates for owning an IP.
    public var liveMembers: [Member] { members.filter(\.isLive) }

    public func member(named name: String) -> Member? { name == me.name ? me : others[name] }

    /// Every member it knows of, itself included, in any state (counted without building the sorted list: the
    /// driver asks on every tick).
    public var knownCount: Int { others.count + 1 }

    /// Alive and suspect members, itself included (counted without building a list: it is on every message's path).
    public var liveCount: Int { others.values.reduce(1) { $0 + ($1.isLive ? 1 : 0) } }

    private var multiplier: Int64 { Int64(awareness + 1) }

    // MARK: Joining and leaving

    /// Sends this node's state to the seeds, which answer with theirs.
    public mutating func join(seeds: [String]) -> [Action] {
        seeds.filter { $0 != me.address }.map { .send(.state(members: members, reply: true), to: $0) }
    }

    /// New metadata for this node (a speaker's MACs after an interface came or went): a higher incarnation,
    /// gossiped as a refutation is, so every member takes it over the older state.
    public mutating func setMetadata(_ metadata: [String: String]) {
        guard metadata != me.metadata, me.status != .left else { return }
        me.metadata = metadata
        me.incarnation += 1
        broadcasts.enqueue(MemberUpdate(me))
    }

    /// Leaves on purpose: every live member is told at once and drops this node without suspicion.
    public mutating func leave() -> [Action] {
        me.incarnation += 1
        me.status = .left
        return others.values.filter(\.isLive).sorted { $0.name < $1.name }
            .map { .send(.state(members: [me], reply: false), to: $0.address) }
    }

    // MARK: Receiving

    public mutating func receive(_ envelope: Envelope, now: Duration) -> [Action] {
        guard me.status != .left else { return [] }
        var actions: [Action] = []
        for update in envelope.message.updates { apply(update, from: envelope.from, now: now, into: &actions) }
        switch envelope.message {
        case .ping(let sequence, let target, _):
            guard target == me.name else { break }
            // Our own latest state goes first: if the ping carried a suspicion of us, the refutation rides back.
            actions.append(
                .send(.ack(sequence: sequence, updates: piggyback(first: me.name)), to: envelope.fromAddress))
        case .pingRequest(let sequence, let target, let targetAddress, _):
            let relaySequence = nextSequence()
            relays[relaySequence] = Relay(
                requesterAddress: envelope.fromAddress, sequence: sequence,
                deadline: now + configuration.probeTimeout * multiplier)
            actions.append(
                .send(
                    .ping(sequence: relaySequence, target: target, updates: piggyback(first: target)), to: targetAddress
                ))
        case .ack(let sequence, _):
            if probe?.sequence == sequence {
                probe = nil
                awareness = max(0, awareness - 1)
            } else if let suspect = finalProbes.removeValue(forKey: sequence) {
                // The suspect answered its last-chance probe. Its refutation rides on this ack and is applied
                // above; if it did not, give the suspicion another full term rather than declare a member dead
                // that has just answered.
                if var suspicion = suspicions[suspect] {
                    suspicion.start = now
                    suspicion.finalProbe = nil
                    suspicions[suspect] = suspicion
                }
            } else if let relay = relays.removeValue(forKey: sequence) {
                actions.append(.send(.ack(sequence: relay.sequence, updates: piggyback()), to: relay.requesterAddress))
            }
        case .nack(let sequence, _):
            if probe?.sequence == sequence { probe?.nacks += 1 }
        case .gossip:
            break
        case .state(let members, let reply):
            for member in members { apply(MemberUpdate(member), from: envelope.from, now: now, into: &actions) }
            if reply { actions.append(.send(.state(members: self.members, reply: false), to: envelope.fromAddress)) }
        }
        return actions
    }

    // MARK: Time

    /// The earliest time at which `tick` has something to do, given no message arrives before: a driver can
    /// sleep until then instead of ticking on a fixed short period. Receiving a message can bring it forward.
    public var nextDeadline: Duration {
        guard me.status != .left else { return .seconds(Int64.max / 2) }
        var deadline = nextPushPullAt
        if let pending = probe {
            if !pending.indirectSent {
                deadline = min(deadline, pending.sentAt + configuration.probeTimeout * multiplier)
            }
            deadline = min(deadline, pending.sentAt + configuration.probeInterval * multiplier)
        } else {
            deadline = min(deadline, nextProbeAt)
        }
        if !broadcasts.isEmpty { deadline = min(deadline, nextGossipAt) }
        if configuration.deadProbeInterval != nil && !deadSince.isEmpty { deadline = min(deadline, nextDeadProbeAt) }
        for relay in relays.values { deadline = min(deadline, relay.deadline) }
        for suspicion in suspicions.values {
            deadline = min(
                deadline,
                suspicion.finalProbe ?? suspicion.start + suspicionTimeout(confirmations: suspicion.confirmations.count)
            )
        }
        return deadline
    }

    /// Advances the protocol to `now`: probe timeouts, indirect probes, suspicions, the next probe. Call it at
    /// least every few milliseconds; extra calls are harmless.
    public mutating func tick(now: Duration) -> [Action] {
        guard me.status != .left else { return [] }
        var actions: [Action] = []
        for (sequence, relay) in relays.sorted(by: { $0.key < $1.key }) where now >= relay.deadline {
            relays[sequence] = nil
            actions.append(.send(.nack(sequence: relay.sequence, updates: piggyback()), to: relay.requesterAddress))
        }
        if var pending = probe {
            if !pending.indirectSent && now >= pending.sentAt + configuration.probeTimeout * multiplier,
                let target = others[pending.target]
            {
                let helpers = pick(configuration.indirectProbes) { $0.isLive && $0.name != pending.target }
                for helper in helpers {
                    actions.append(
                        .send(
                            .pingRequest(
                                sequence: pending.sequence, target: target.name, targetAddress: target.address,
                                updates: piggyback()), to: helper.address))
                }
                // A second direct ping alongside the indirect ones (memberlist sends its over TCP): a single
                // lost ping or ack no longer needs all k helpers to get through.
                actions.append(
                    .send(
                        .ping(sequence: pending.sequence, target: target.name, updates: piggyback(first: target.name)),
                        to: target.address))
                pending.indirectSent = true
                pending.expectedNacks = helpers.count
                probe = pending
            }
            if now >= pending.sentAt + configuration.probeInterval * multiplier {
                probe = nil
                // Lifeguard: if the helpers did not even nack, the fault may be ours; slow down.
                if pending.nacks < pending.expectedNacks || pending.expectedNacks == 0 { raiseAwareness() }
                if let target = others[pending.target], target.isLive {
                    var suspect = target
                    suspect.status = .suspect
                    apply(MemberUpdate(suspect, accuser: me.name), from: me.name, now: now, into: &actions)
                    // An independent suspicion of an already-suspect member: spread it, so that every member
                    // counts it as a confirmation (Lifeguard), not only this one.
                    if target.status == .suspect { broadcasts.enqueue(MemberUpdate(suspect, accuser: me.name)) }
                    // Tell the suspect first and at once, so it can refute before the suspicion runs out.
                    actions.append(
                        .send(
                            .ping(
                                sequence: nextSequence(), target: target.name, updates: piggyback(first: target.name)),
                            to: target.address))
                }
            }
        }
        for (name, var suspicion) in suspicions.sorted(by: { $0.key < $1.key })
        where now >= suspicion.start + suspicionTimeout(confirmations: suspicion.confirmations.count) {
            guard var member = others[name], member.status == .suspect, member.incarnation == suspicion.incarnation
            else {
                endSuspicion(of: name)
                continue
            }
            // Before declaring death, one last probe that carries the suspicion: a live member whose
            // refutation has not reached this node (gossip is probabilistic, and loss can starve one node of
            // an update) answers with it. A crashed member costs one probe timeout more.
            if configuration.finalProbe && suspicion.finalProbe == nil {
                suspicion.finalProbe = now + configuration.probeTimeout * multiplier
                suspicions[name] = suspicion
                actions += finalProbe(of: member)
                continue
            }
            if let deadline = suspicion.finalProbe, now < deadline { continue }
            endSuspicion(of: name)
            member.status = .dead
            apply(MemberUpdate(member), from: me.name, now: now, into: &actions)
        }
        if now >= nextGossipAt {
            nextGossipAt = now + configuration.gossipInterval
            // News travels on its own too, not only on probes: a death or a refutation reaches everyone in
            // a few gossip intervals (log of n rounds of `gossipNodes`) instead of a few probe intervals.
            if !broadcasts.isEmpty {
                for peer in pick(configuration.gossipNodes, where: \.isLive) {
                    let updates = piggyback()
                    if updates.isEmpty { break }
                    actions.append(.send(.gossip(updates: updates), to: peer.address))
                }
            }
        }
        if now >= nextPushPullAt {
            nextPushPullAt = now + configuration.pushPullInterval
            if let peer = pick(1, where: { $0.status != .left }).first {
                actions.append(.send(.state(members: members, reply: true), to: peer.address))
            }
        }
        if let interval = configuration.deadProbeInterval, now >= nextDeadProbeAt {
            nextDeadProbeAt = now + interval
            let (window, deadSince) = (configuration.deadProbeWindow, deadSince)
            if let peer = pick(1, where: { $0.status == .dead && now - (deadSince[$0.name] ?? now) < window }).first {
                actions.append(.send(.state(members: members, reply: true), to: peer.address))
            }
        }
        if probe == nil && now >= nextProbeAt {
            nextProbeAt = now + configuration.probeInterval * multiplier
            if let target = nextProbeTarget() {
                let sequence = nextSequence()
                probe = PendingProbe(target: target.name, sequence: sequence, sentAt: now)
                actions.append(
                    .send(
                        .ping(sequence: sequence, target: target.name, updates: piggyback(first: target.name)),
                        to: target.address))
            }
        }
        return actions
    }

    /// Tells the state machine that this member did not run for `pause` (its process was descheduled or
    /// stopped): the pending timeouts are moved on by that much, so the time it was away does not count against
    /// the others. Without this, a member that wakes from a stall expires its probes and suspicions before it
    /// reads the acks and refutations waiting in its socket, and declares healthy members dead. A pause long
    /// enough to fail a probe is also a sign of poor local health (Lifeguard): the member slows its probing.
    public mutating func resume(afterPause pause: Duration) {
        guard pause > .zero, me.status != .left else { return }
        probe?.sentAt += pause
        for sequence in relays.keys { relays[sequence]?.deadline += pause }
        for name in suspicions.keys {
            suspicions[name]?.start += pause
            if let deadline = suspicions[name]?.finalProbe { suspicions[name]?.finalProbe = deadline + pause }
        }
        if pause >= configuration.probeTimeout { raiseAwareness() }
    }

    // MARK: Updates

    /// Applies what someone says of a member. Higher incarnation wins; at equal incarnation the later state
    /// (alive < suspect < dead < left) wins. Said of this node, a suspicion or death is refuted.
    mutating func apply(_ received: MemberUpdate, from source: String, now: Duration, into actions: inout [Action]) {
        let update = received.member
        let accuser = received.accuser ?? source
        if update.name == me.name {
            let accused = update.status == .suspect || update.status == .dead
            if (accused && update.incarnation >= me.incarnation) || update.incarnation > me.incarnation {
                me.incarnation = max(me.incarnation, update.incarnation) + 1
                broadcasts.enqueue(MemberUpdate(me))
                if accused {
                    raiseAwareness()
                    // Refute straight to the accuser and to whoever told us, besides gossiping it: the accuser's
                    // suspicion timer is the one running out first.
                    for name in (accuser == source ? [accuser] : [accuser, source]) where name != me.name {
                        if let member = others[name], member.isLive {
                            actions.append(.send(.state(members: [me], reply: false), to: member.address))
                        }
                    }
                }
            } else if accused {
                // A stale accusation of this node, made before its last refutation: say it again, so the
                // refutation rides on the answer to whoever still holds the old suspicion.
                broadcasts.enqueue(MemberUpdate(me))
            }
            return
        }
        guard let existing = others[update.name] else {
            others[update.name] = update
            noteDeath(of: update, now: now)
            if update.isLive {
                broadcasts.enqueue(MemberUpdate(update, accuser: update.status == .suspect ? accuser : nil))
                actions.append(.changed(update))
                if update.status == .suspect { startSuspicion(of: update, by: accuser, now: now) }
            }
            return
        }
        if update.status == .suspect && existing.status == .suspect && update.incarnation == existing.incarnation {
            suspicions[update.name]?.confirmations.insert(accuser)  // Lifeguard: counts distinct accusers only
            return
        }
        let newer =
            update.incarnation > existing.incarnation
            || (update.incarnation == existing.incarnation && update.status > existing.status)
        guard newer else {
            // A stale accusation of a member that has refuted it: send the refutation again, so it rides on
            // the answer to this very message back to whoever is still spreading the old news.
            if update.status >= .suspect && existing.status == .alive && update.incarnation < existing.incarnation {
                broadcasts.enqueue(MemberUpdate(existing))
            }
            return
        }
        others[update.name] = update
        noteDeath(of: update, now: now)
        broadcasts.enqueue(MemberUpdate(update, accuser: update.status == .suspect ? accuser : nil))
        // Metadata too: a speaker's MACs or the carrier of its links decide who announces what.
        if update.status != existing.status || update.address != existing.address
            || update.metadata != existing.metadata
        {
            actions.append(.changed(update))
        }
        if update.status == .suspect {
            startSuspicion(of: update, by: accuser, now: now)
        } else {
            endSuspicion(of: update.name)
        }
    }

    /// A ping to the suspect with the suspicion attached, directly and through k others (so one lost datagram
    /// does not decide a death); an ack to any of them keeps the suspect alive.
    private mutating func finalProbe(of suspect: Member) -> [Action] {
        let sequence = nextSequence()
        finalProbes[sequence] = suspect.name
        let accusation = MemberUpdate(suspect, accuser: me.name)
        var actions: [Action] = [
            .send(
                .ping(sequence: sequence, target: suspect.name, updates: [accusation] + piggyback()),
                to: suspect.address)
        ]
        for helper in pick(configuration.indirectProbes, where: { $0.isLive && $0.name != suspect.name }) {
            actions.append(
                .send(
                    .pingRequest(
                        sequence: sequence, target: suspect.name, targetAddress: suspect.address,
                        updates: [accusation]), to: helper.address))
        }
        return actions
    }

    private mutating func noteDeath(of member: Member, now: Duration) {
        if member.status == .dead {
            if deadSince[member.name] == nil { deadSince[member.name] = now }
        } else if deadSince[member.name] != nil {
            deadSince[member.name] = nil
        }
    }

    private mutating func endSuspicion(of name: String) {
        suspicions[name] = nil
        if !finalProbes.isEmpty { finalProbes = finalProbes.filter { $0.value != name } }
    }

    private mutating func startSuspicion(of member: Member, by source: String, now: Duration) {
        suspicions[member.name] = Suspicion(start: now, incarnation: member.incarnation, confirmations: [source])
        if source != me.name && configuration.probeSuspectsFirst && !probeSoon.contains(member.name) {
            probeSoon.append(member.name)
        }
    }

    /// Lifeguard's dynamic suspicion timeout: from `max` with one suspecter down to `min` with `k` confirmations.
    func suspicionTimeout(confirmations: Int) -> Duration {
        let scale = max(1, log10(Double(liveCount)))
        let minimum = configuration.probeInterval * (Double(configuration.suspicionMultiplier) * scale)
        let maximum = minimum * configuration.suspicionMaxTimeoutMultiplier
        let expected = max(1, min(configuration.suspicionConfirmations, liveCount - 2))
        let independent = max(0, confirmations - 1)
        let fraction = log(Double(independent + 1)) / log(Double(expected + 1))
        let timeout = maximum - (maximum - minimum) * min(1, fraction)
        return max(minimum, timeout)
    }

    private mutating func raiseAwareness() {
        awareness = min(configuration.awarenessMaxMultiplier - 1, awareness + 1)
    }

    // MARK: Helpers

    private mutating func nextSequence() -> UInt32 {
        sequence &+= 1
        return sequence
    }

    private mutating func piggyback(first: String? = nil) -> [MemberUpdate] {
        let limit = configuration.retransmitMultiplier * Int(ceil(log10(Double(liveCount + 1))))
        return broadcasts.take(limit: configuration.maxPiggybackedUpdates, maxTransmits: max(1, limit), first: first)
    }

    /// The next live member in a shuffled round-robin order, reshuffled after each full round (SWIM §4.3).
    private mutating func nextProbeTarget() -> Member? {
        while let name = probeSoon.first {
            probeSoon.removeFirst()
            if let member = others[name], member.status == .suspect { return member }
        }
        while true {
            if probeOrder.isEmpty {
                probeOrder = others.values.filter(\.isLive).map(\.name).sorted()
                probeOrder.shuffle(using: &random)
                if probeOrder.isEmpty { return nil }
            }
            let name = probeOrder.removeLast()
            if let member = others[name], member.isLive { return member }
        }
    }

    private mutating func pick(_ count: Int, where included: (Member) -> Bool) -> [Member] {
        var candidates = others.values.filter(included).sorted { $0.name < $1.name }
        candidates.shuffle(using: &random)
        return Array(candidates.prefix(count))
    }
}
