public import AsyncHTTPClient
import HeraldConfig
public import HeraldCore
public import KubeAPI
import NIOCore
import NIOHTTP1

/// `herald-speaker explain`'s work, without the command line: list what the planner reads, fetch one
/// speaker's view of the gossip membership (its `/membership`), and explain one Service from both.
public struct ServiceExplainer: Sendable {
    /// Why an explanation could not be made, in words for the operator.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    public var client: any KubeClient
    /// Herald's namespace: pools, L2Advertisements and ServiceL2Statuses.
    public var namespace: String
    public var loadBalancerClass: String?

    public init(client: any KubeClient, namespace: String, loadBalancerClass: String?) {
        self.client = client
        self.namespace = namespace
        self.loadBalancerClass = loadBalancerClass
    }

    /// What the planner reads, listed once.
    public struct Objects: Sendable {
        public var services: [KubernetesService]
        public var slices: [EndpointSlice]
        public var pools: [IPAddressPool]
        public var advertisements: [L2Advertisement]
        public var nodes: [Node]
        public var statuses: [ServiceL2Status]
    }

    public func objects() async throws(KubeError) -> Objects {
        Objects(
            services: try await client.list(KubernetesService.self).items,
            slices: try await client.list(
                EndpointSlice.self, namespace: nil, type: try await client.endpointSliceType()
            ).items,
            pools: try await client.list(IPAddressPool.self, namespace: namespace).items,
            advertisements: try await client.list(L2Advertisement.self, namespace: namespace).items,
            nodes: try await client.list(Node.self).items,
            statuses: try await client.list(ServiceL2Status.self, namespace: namespace).items)
    }

    /// The text `explain` prints for `service`, with `membership` read from `membershipSource`.
    public func explain(
        _ service: ServiceKey, membership: MembershipDocument, membershipSource: String
    ) async throws(Failure) -> String {
        let objects: Objects
        do { objects = try await self.objects() } catch { throw Failure("reading the API: \(error)") }
        guard let object = objects.services.first(where: { $0.serviceKey == service }) else {
            throw Failure("no Service \(service)")
        }
        let view = SpeakerView(
            services: objects.services, endpointSlices: objects.slices, pools: objects.pools,
            advertisements: objects.advertisements, nodes: objects.nodes, members: membership.liveNames,
            loadBalancerClass: loadBalancerClass)
        return ServiceExplanation(
            service: object, view: view, statuses: objects.statuses, membership: membership,
            membershipSource: membershipSource, loadBalancerClass: loadBalancerClass
        ).text
    }

    /// The `/membership` document of the speaker whose operations endpoint is at `speaker` (http://HOST:PORT).
    public static func membership(
        from speaker: String, client: HTTPClient = .shared
    ) async throws(Failure) -> MembershipDocument {
        let url = speaker.hasSuffix("/") ? speaker + "membership" : speaker + "/membership"
        do {
            let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(5))
            let body = try await response.body.collect(upTo: 4 << 20)
            guard response.status == .ok else { throw Failure("HTTP \(response.status.code)") }
            return try MembershipDocument.decode(String(buffer: body))
        } catch {
            throw Failure(
                """
                cannot read the gossip membership from \(url): \(error). Give --speaker the operations address \
                of a running speaker (its --metrics-bind-address; in a speaker pod the default works).
                """)
        }
    }
}
