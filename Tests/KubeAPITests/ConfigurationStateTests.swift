import KubeAPI
import KubeAPITesting
import Logging
import Testing

/// What a component's ConfigurationState says, as a value: the result, the summary, one condition per check,
/// and transition times that move only when a condition's status does.
@Suite struct ConfigurationStateTests {
    static let pools = ConfigurationState.Check(type: "poolReconcilerValid", problems: [], validMessage: "every pool is valid")

    @Test func validInvalidAndTheTransitionTime() {
        let valid = ConfigurationState.status(reporting: [Self.pools], previous: nil, now: "2026-12-04T10:00:00Z")
        #expect(valid.result == "Valid" && valid.errorSummary == nil)
        #expect(valid.conditions == [.init(type: "poolReconcilerValid", status: "True", reason: "Reconciled",
                                           message: "every pool is valid", lastTransitionTime: "2026-12-04T10:00:00Z")])
        var broken = Self.pools
        broken.problems = ["IPAddressPool herald-system/a: bad", "IPAddressPool herald-system/b: worse"]
        let invalid = ConfigurationState.status(reporting: [broken], previous: valid, now: "2026-12-04T10:05:00Z")
        #expect(invalid.result == "Invalid")
        #expect(invalid.errorSummary == "IPAddressPool herald-system/a: bad; IPAddressPool herald-system/b: worse")
        #expect(invalid.conditions?.first?.status == "False" && invalid.conditions?.first?.reason == "ConfigurationError")
        #expect(invalid.conditions?.first?.lastTransitionTime == "2026-12-04T10:05:00Z")
        // Another problem, the same condition status: the transition time stays.
        broken.problems = ["IPAddressPool herald-system/c: also bad"]
        let still = ConfigurationState.status(reporting: [broken], previous: invalid, now: "2026-12-04T10:09:00Z")
        #expect(still.conditions?.first?.lastTransitionTime == "2026-12-04T10:05:00Z")
        #expect(still.errorSummary == "IPAddressPool herald-system/c: also bad")
    }

    /// A speaker's object is created owned by its Node, so the garbage collector removes it with the Node.
    @Test func aSpeakersObjectIsCreatedOwnedByItsNode() async throws {
        let client = InMemoryKubeClient()
        let publisher = ConfigurationStatePublisher(
            speakerOn: "node-a", in: "herald-system", client: client, logger: Logger(label: "test"))
        let node = OwnerReference(apiVersion: "v1", kind: "Node", name: "node-a", uid: "3f1c-node-a")
        await publisher.setOwner(node)
        #expect(await publisher.publish([Self.pools]))
        let object = try await client.get(ConfigurationState.self, namespace: "herald-system", name: "speaker-node-a")
        #expect(object.metadata.ownerReferences == [node])
        #expect(object.metadata.labels?[ConfigurationState.nodeNameLabel] == "node-a")
        #expect(object.status?.result == "Valid")
    }
}
