import Foundation
import HeraldTestSupport
import Testing

/// The installation as manifests/ defines it: scripts/lab applies the namespace, the CRDs and the RBAC from
/// manifests/, checks the whole kustomize base with a server-side dry run, and runs herald-controller and every
/// herald-speaker with a token of its own ServiceAccount. So every lab test is also a test that the RBAC is
/// sufficient; these tests check that it is no more than that, and that nothing was refused.
extension LabTests {
    /// `kubectl auth can-i` as the ServiceAccount (its token, from the kubeconfig the lab runs it with);
    /// `resource/subresource` asks for the subresource.
    func can(_ account: String, _ verb: String, _ resource: String, namespace: String? = nil) async throws -> Bool {
        let parts = resource.split(separator: "/").map(String.init)
        var arguments = ["kubectl", "--kubeconfig", "\(lab.directory)/\(account).kubeconfig", "auth", "can-i", verb, parts[0]]
        if parts.count == 2 { arguments.append("--subresource=\(parts[1])") }
        arguments += namespace.map { ["-n", $0] } ?? ["--all-namespaces"]
        let result = try await Command.run(arguments, check: false)
        let answer = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(answer == "yes" || answer == "no", "kubectl auth can-i: \(result)")
        return answer == "yes"
    }

    @Test func eachProgramHoldsExactlyTheRightsItsCodeUses() async throws {
        let system = "herald-system"
        // What the code calls (the comments in manifests/rbac say where).
        let needed: [(String, String, String, String?)] = [
            ("herald-controller", "watch", "services", nil), ("herald-controller", "patch", "services/status", nil),
            ("herald-controller", "patch", "services", nil), ("herald-controller", "create", "events", "default"),
            ("herald-controller", "list", "namespaces", nil), ("herald-controller", "watch", "ipaddresspools.metallb.io", system),
            ("herald-controller", "update", "leases.coordination.k8s.io", system),
            ("herald-speaker", "watch", "services", nil), ("herald-speaker", "watch", "nodes", nil),
            ("herald-speaker", "watch", "endpointslices.discovery.k8s.io", nil), ("herald-speaker", "create", "events", "default"),
            ("herald-speaker", "watch", "l2advertisements.metallb.io", system), ("herald-speaker", "create", "servicel2statuses.metallb.io", system),
            ("herald-speaker", "patch", "servicel2statuses.metallb.io/status", system), ("herald-speaker", "list", "pods", system),
        ]
        for (account, verb, resource, namespace) in needed {
            #expect(try await can(account, verb, resource, namespace: namespace), "\(account) cannot \(verb) \(resource)")
        }
        // What neither needs: no Secrets, no writes to Services beyond the controller's patches, no pools, no
        // rights outside herald-system for Herald's own objects, and nothing of each other's.
        let refused: [(String, String, String, String?)] = [
            ("herald-controller", "list", "secrets", nil), ("herald-speaker", "list", "secrets", nil),
            ("herald-controller", "get", "secrets", system), ("herald-speaker", "get", "secrets", system),
            ("herald-controller", "delete", "services", nil), ("herald-controller", "update", "services", nil),
            ("herald-speaker", "patch", "services", nil), ("herald-speaker", "patch", "services/status", nil),
            ("herald-controller", "create", "ipaddresspools.metallb.io", system), ("herald-speaker", "update", "ipaddresspools.metallb.io", system),
            ("herald-controller", "create", "servicel2statuses.metallb.io", system), ("herald-controller", "list", "nodes", nil),
            ("herald-speaker", "update", "leases.coordination.k8s.io", system), ("herald-speaker", "patch", "nodes", nil),
            ("herald-speaker", "list", "ipaddresspools.metallb.io", "default"), ("herald-speaker", "create", "pods", system),
        ]
        for (account, verb, resource, namespace) in refused {
            #expect(try await !can(account, verb, resource, namespace: namespace), "\(account) may \(verb) \(resource)")
        }
    }

    /// After the lab's scenarios (allocation, announcements, statuses, Events, leader election), no program
    /// was refused anything by the apiserver, and the controller, run with `--log-format json`, wrote one JSON
    /// object per line.
    @Test func nothingWasRefusedAndJSONLogsParse() async throws {
        let ip = try await serve("rbac")
        #expect(try await lab.owner(ip) != nil, "nobody answers ARP for \(ip)")
        let logs = ["controller"] + (1...lab.nodeCount).map { "speaker-\($0)" }
        for name in logs {
            let text = try String(contentsOfFile: "\(lab.directory)/\(name).log", encoding: .utf8)
            let refused = text.split(separator: "\n").filter { $0.contains("forbidden") || $0.contains(" 403") || $0.contains("\"code\":403") }
            #expect(refused.isEmpty, "\(name) was refused: \(refused.prefix(3))")
        }
        let lines = try String(contentsOfFile: "\(lab.directory)/controller.log", encoding: .utf8).split(separator: "\n")
        #expect(lines.count > 3)
        for line in lines {
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["message"] is String && object?["level"] is String, "not a JSON log record: \(line)")
        }
        #expect(lines.contains { $0.contains("\"message\":\"assigned\"") && $0.contains(ip) },
                "the controller logged nothing of the allocation of \(ip)")
    }
}
