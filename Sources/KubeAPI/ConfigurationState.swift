import Foundation
public import Logging

/// MetalLB's `ConfigurationState` (metallb.io/v1beta1): status only, one object per component in the system
/// namespace — `controller`, and `speaker-NODE` for each speaker — saying whether the component accepts the
/// configuration it reads and, if not, what it left out. `kubectl get configurationstates -A` lists them.
public struct ConfigurationState: KubeResource {
    public static let type = ResourceType(
        group: "metallb.io", version: "v1beta1", plural: "configurationstates", kind: "ConfigurationState",
        namespaced: true)

    /// `controller` or `speaker`.
    public static let componentTypeLabel = "metallb.io/component-type"
    /// The speaker's node.
    public static let nodeNameLabel = "metallb.io/node-name"

    /// A `metav1.Condition`.
    public struct Condition: Codable, Sendable, Hashable {
        public var type: String
        /// "True", "False" or "Unknown".
        public var status: String
        public var reason: String
        public var message: String
        public var lastTransitionTime: String
        public var observedGeneration: Int64?

        public init(
            type: String, status: String, reason: String, message: String, lastTransitionTime: String,
            observedGeneration: Int64? = nil
        ) {
            self.type = type
            self.status = status
            self.reason = reason
            self.message = message
            self.lastTransitionTime = lastTransitionTime
            self.observedGeneration = observedGeneration
        }
    }

    public struct Status: Codable, Sendable, Hashable {
        /// "Valid", "Invalid" or "Unknown".
        public var result: String?
        public var errorSummary: String?
        public var conditions: [Condition]?

        public init(result: String? = nil, errorSummary: String? = nil, conditions: [Condition]? = nil) {
            self.result = result
            self.errorSummary = errorSummary
            self.conditions = conditions
        }
    }

    public var apiVersion: String? = "metallb.io/v1beta1"
    public var kind: String? = "ConfigurationState"
    public var metadata: ObjectMeta
    public var status: Status?

    public init(metadata: ObjectMeta, status: Status? = nil) {
        self.metadata = metadata
        self.status = status
    }

    /// One part of a component's configuration check: a condition type (MetalLB's names:
    /// `poolReconcilerValid`, `configReconcilerValid`, `nodeReconcilerValid`) and what it left out.
    public struct Check: Sendable, Hashable {
        public var type: String
        /// One line per object left out, naming it and the field at fault; empty: valid.
        public var problems: [String]
        /// The condition's message when valid (the apiserver wants a message).
        public var validMessage: String

        public init(type: String, problems: [String], validMessage: String) {
            self.type = type
            self.problems = problems
            self.validMessage = validMessage
        }
    }

    /// The status that reports `checks`: `Invalid` with every problem in `errorSummary` when any check has
    /// one, else `Valid`; one condition per check, `True`/`Reconciled` or `False`/`ConfigurationError`. A
    /// condition whose status is what `previous` showed keeps its `lastTransitionTime`.
    public static func status(reporting checks: [Check], previous: Status?, now: String) -> Status {
        let problems = checks.flatMap(\.problems)
        let conditions = checks.map { check in
            let valid = check.problems.isEmpty
            let status = valid ? "True" : "False"
            let since = previous?.conditions?.first { $0.type == check.type && $0.status == status }?.lastTransitionTime
            return Condition(
                type: check.type, status: status, reason: valid ? "Reconciled" : "ConfigurationError",
                message: valid ? check.validMessage : check.problems.joined(separator: "; "),
                lastTransitionTime: since ?? now)
        }
        return Status(
            result: problems.isEmpty ? "Valid" : "Invalid",
            errorSummary: problems.isEmpty ? nil : problems.joined(separator: "; "), conditions: conditions)
    }
}

/// Keeps one component's `ConfigurationState` object current: created when missing, its status written
/// (subresource) when what it reports changed. `post` never waits: `run()` writes the newest checks posted,
/// and retries a failed write every `retryInterval` (the apiserver away) until it succeeds or newer checks
/// come; the work it reports never waits on it.
public actor ConfigurationStatePublisher {
    private let client: any KubeClient
    private let namespace: String
    private let name: String
    private let labels: [String: String]
    private let logger: Logger
    /// Set on the object when this publisher creates it: a speaker's Node, so that the garbage collector removes
    /// the object with the Node (a node that leaves the cluster leaves no stale ConfigurationState behind).
    private var owner: OwnerReference?
    /// The checks last written; nil until a write succeeded (or after one failed).
    private var published: [ConfigurationState.Check]?
    private let posted: AsyncStream<[ConfigurationState.Check]>
    private let postedContinuation: AsyncStream<[ConfigurationState.Check]>.Continuation
    static let retryInterval: Duration = .seconds(2)

    /// The controller's object: `controller`, component type `controller`.
    public init(controllerIn namespace: String, client: any KubeClient, logger: Logger) {
        self.init(
            client: client, namespace: namespace, name: "controller",
            labels: [ConfigurationState.componentTypeLabel: "controller"], logger: logger)
    }

    /// A speaker's object: `speaker-NODE`, component type `speaker`, labelled with the node.
    public init(speakerOn node: String, in namespace: String, client: any KubeClient, logger: Logger) {
        self.init(
            client: client, namespace: namespace, name: "speaker-\(node)",
            labels: [ConfigurationState.componentTypeLabel: "speaker", ConfigurationState.nodeNameLabel: node],
            logger: logger)
    }

    init(client: any KubeClient, namespace: String, name: String, labels: [String: String], logger: Logger) {
        self.client = client
        self.namespace = namespace
        self.name = name
        self.labels = labels
        self.logger = logger
        (posted, postedContinuation) = AsyncStream.makeStream(
            of: [ConfigurationState.Check].self, bufferingPolicy: .bufferingNewest(1))
    }

    /// The owner a new object gets (an existing one is left as it is: the components may not update it). A new
    /// owner (the Node deleted and registered again, so the collector removed the object) makes the next
    /// checks be written again, which creates the object anew.
    public func setOwner(_ reference: OwnerReference?) {
        guard reference != owner else { return }
        owner = reference
        published = nil
    }

    /// Asks for `checks` to be written; only the newest asked for is.
    public nonisolated func post(_ checks: [ConfigurationState.Check]) {
        postedContinuation.yield(checks)
    }

    /// Writes what is posted until cancelled.
    public func run() async {
        for await checks in posted {
            while !(await publish(checks)), !Task.isCancelled {
                try? await Task.sleep(for: Self.retryInterval)
            }
        }
    }

    /// Writes `checks` unless they are what was last written; whether they are written now.
    @discardableResult
    public func publish(_ checks: [ConfigurationState.Check]) async -> Bool {
        guard checks != published else { return true }
        do throws(KubeError) {
            let current: ConfigurationState
            do throws(KubeError) {
                current = try await client.get(ConfigurationState.self, namespace: namespace, name: name)
            } catch let error where error.code == .notFound {
                var metadata = ObjectMeta(name: name, namespace: namespace, labels: labels)
                metadata.ownerReferences = owner.map { [$0] }
                current = try await client.create(ConfigurationState(metadata: metadata))
            }
            let status = ConfigurationState.status(
                reporting: checks, previous: current.status, now: Timestamps.time())
            if current.status != status {
                _ = try await client.mergePatch(
                    ConfigurationState.self, namespace: namespace, name: name, patch: try Self.patch(status),
                    subresource: "status")
            }
            published = checks
            return true
        } catch {
            published = nil
            logger.warning(
                "could not write the ConfigurationState; retrying",
                metadata: ["object": "\(namespace)/\(name)", "error": "\(error)"])
            return false
        }
    }

    /// The status as a merge patch; an absent `errorSummary` is removed (null), not left behind.
    static func patch(_ status: ConfigurationState.Status) throws(KubeError) -> JSONValue {
        let encoded: JSONValue
        do {
            encoded = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(status))
        } catch {
            throw KubeError(.invalid, status: 0, "cannot encode a ConfigurationState status: \(error)")
        }
        guard case .object(var fields) = encoded else { return ["status": encoded] }
        if fields["errorSummary"] == nil { fields["errorSummary"] = .null }
        return ["status": .object(fields)]
    }
}
