import ArgumentParser
import AsyncHTTPClient
import Foundation
import HeraldCommandSupport
import HeraldSpeaker
import KubeAPI
import NIOCore
import NIOHTTP1

/// `herald-speaker explain --service NS/NAME`: which node announces each IP of a Service and why every other
/// node does not, computed by the speakers' own planner from the API objects and one speaker's view of the
/// gossip membership (its `/membership`). Read-only; needs the speaker's RBAC (or any that can list the same).
struct ExplainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Say which node announces a Service's IPs, the candidates' ranking, and why each other node is not the owner.",
        discussion: """
            Reads Services, EndpointSlices, Nodes, IPAddressPools, L2Advertisements and ServiceL2Statuses from \
            the API, and the gossip membership from a running speaker's operations endpoint (--speaker, its \
            /membership). In a speaker pod: kubectl exec -n herald-system ds/herald-speaker -- herald-speaker \
            explain --service default/web
            """
    )

    @OptionGroup var kubernetes: KubernetesOptions

    @Option(help: "The Service, as NAMESPACE/NAME (NAME alone: the default namespace).")
    var service: String

    @Option(help: "A running speaker's operations address (its --metrics-bind-address), for the gossip membership.")
    var speaker: String = "http://127.0.0.1:7472"

    var serviceKey: (namespace: String, name: String) {
        let parts = service.split(separator: "/", maxSplits: 1).map(String.init)
        return parts.count == 2 ? (parts[0], parts[1]) : ("default", service)
    }

    func validate() throws {
        guard !serviceKey.namespace.isEmpty, !serviceKey.name.isEmpty else { throw ValidationError("--service takes NAMESPACE/NAME") }
        guard speaker.hasPrefix("http://") || speaker.hasPrefix("https://") else { throw ValidationError("--speaker takes http://HOST:PORT") }
    }

    func run() async throws {
        let (_, client) = try kubernetes.client()
        do {
            let text = try await explain(client)
            await client.shutdown()
            print(text, terminator: "")
        } catch {
            await client.shutdown()
            throw error
        }
    }

    private func explain(_ client: HTTPKubeClient) async throws -> String {
        let (namespace, name) = serviceKey
        let membership = try await readMembership()
        let objects: Objects
        do { objects = try await Objects.read(client, namespace: kubernetes.namespace) } catch {
            throw StartupError("reading the API: \(error)")
        }
        guard let object = objects.services.first(where: { $0.metadata.namespace == namespace && $0.metadata.name == name }) else {
            throw StartupError("no Service \(namespace)/\(name)")
        }
        let view = SpeakerView(services: objects.services, endpointSlices: objects.slices, pools: objects.pools,
                               advertisements: objects.advertisements, nodes: objects.nodes, members: membership.liveNames,
                               loadBalancerClass: kubernetes.lbClass)
        return ServiceExplanation(service: object, view: view, statuses: objects.statuses, membership: membership,
                                  membershipSource: "\(speaker)/membership", loadBalancerClass: kubernetes.lbClass).text
    }

    /// What the planner reads, listed once.
    struct Objects {
        var services: [KubernetesService]
        var slices: [EndpointSlice]
        var pools: [IPAddressPool]
        var advertisements: [L2Advertisement]
        var nodes: [Node]
        var statuses: [ServiceL2Status]

        static func read(_ client: HTTPKubeClient, namespace: String) async throws(KubeError) -> Objects {
            Objects(services: try await client.list(KubernetesService.self).items,
                    slices: try await client.list(EndpointSlice.self, namespace: nil, type: try await client.endpointSliceType()).items,
                    pools: try await client.list(IPAddressPool.self, namespace: namespace).items,
                    advertisements: try await client.list(L2Advertisement.self, namespace: namespace).items,
                    nodes: try await client.list(Node.self).items,
                    statuses: try await client.list(ServiceL2Status.self, namespace: namespace).items)
        }
    }

    private func readMembership() async throws -> MembershipDocument {
        let url = speaker.hasSuffix("/") ? speaker + "membership" : speaker + "/membership"
        do {
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(5))
            let body = try await response.body.collect(upTo: 4 << 20)
            guard response.status == .ok else { throw StartupError("HTTP \(response.status.code)") }
            return try MembershipDocument.decode(String(buffer: body))
        } catch {
            throw StartupError("""
                cannot read the gossip membership from \(url): \(error). Give --speaker the operations address \
                of a running speaker (its --metrics-bind-address; in a speaker pod the default works).
                """)
        }
    }
}
