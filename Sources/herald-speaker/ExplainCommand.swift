import ArgumentParser
import Foundation
import HeraldCommandSupport
import HeraldConfig
import HeraldCore
import HeraldSpeaker
import KubeAPI

/// `herald-speaker explain --service NS/NAME`: which node announces each IP of a Service and why every other
/// node does not, computed by the speakers' own planner from the API objects and one speaker's view of the
/// gossip membership (its `/membership`). Read-only; needs the speaker's RBAC (or any that can list the same).
struct ExplainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract:
            "Say which node announces a Service's IPs, the candidates' ranking, "
            + "and why each other node is not the owner.",
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
        guard !serviceKey.namespace.isEmpty, !serviceKey.name.isEmpty else {
            throw ValidationError("--service takes NAMESPACE/NAME")
        }
        guard speaker.hasPrefix("http://") || speaker.hasPrefix("https://") else {
            throw ValidationError("--speaker takes http://HOST:PORT")
        }
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
        do {
            let membership = try await ServiceExplainer.membership(from: speaker)
            let explainer = ServiceExplainer(
                client: client, namespace: kubernetes.namespace, loadBalancerClass: kubernetes.lbClass)
            return try await explainer.explain(
                ServiceKey(namespace: namespace, name: name), membership: membership,
                membershipSource: "\(speaker)/membership")
        } catch { throw StartupError(error.description) }
    }
}
