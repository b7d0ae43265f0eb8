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

    /// The log lines in which the apiserver refused a request.
    static func refusals(in log: String) -> [Substring] {
        log.split(separator: "\n").filter { $0.contains("forbidden") || $0.contains(" 403") || $0.contains("\"code\":403") }
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
            ("herald-speaker", "watch", "bgppeers.metallb.io", system), ("herald-speaker", "watch", "bgpadvertisements.metallb.io", system),
            ("herald-speaker", "watch", "communities.metallb.io", system), ("herald-speaker", "get", "secrets", system),
            ("herald-speaker", "create", "servicebgpstatuses.metallb.io", system),
            ("herald-speaker", "patch", "servicebgpstatuses.metallb.io/status", system),
        ]
        for (account, verb, resource, namespace) in needed {
            #expect(try await can(account, verb, resource, namespace: namespace), "\(account) cannot \(verb) \(resource)")
        }
        // What neither needs: no Secrets beyond the speaker's reads of a password by name, no writes to Services beyond the controller's patches, no pools, no
        // rights outside herald-system for Herald's own objects, and nothing of each other's.
        let refused: [(String, String, String, String?)] = [
            ("herald-controller", "list", "secrets", nil), ("herald-speaker", "list", "secrets", nil),
            ("herald-controller", "get", "secrets", system), ("herald-speaker", "list", "secrets", system),
            ("herald-speaker", "get", "secrets", "default"), ("herald-speaker", "create", "bgppeers.metallb.io", system),
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
            let refused = Self.refusals(in: text)
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

extension LabTests {
    /// `herald-speaker explain`, run as an operator would with the speaker's ServiceAccount: it names the owner
    /// the client's ARP reaches, and a node whose speaker is stopped as not a live member.
    @Test func explainNamesTheOwnerTheClientHears() async throws {
        let ip = try await serve("why")
        let owner = try #require(try await lab.owner(ip))
        let stopped = try #require(lab.nodes.first { $0 != owner })
        let asked = try #require(lab.nodes.first { $0 != owner && $0 != stopped })
        try await lab.lab("speaker", "stop", stopped)
        try await lab.settle()
        let index = asked.replacingOccurrences(of: "node-", with: "")
        let result = try await lab.speakerCommand("explain", "--service", "default/why", "--kubeconfig", "\(lab.directory)/herald-speaker.kubeconfig",
                                                  "--speaker", "http://203.0.113.\(10 + Int(index)!):7472", check: false)
        try await lab.lab("speaker", "start", stopped)
        #expect(result.succeeded, "\(result)")
        let text = result.output
        #expect(text.contains("Gossip membership as \(asked) sees it"), "\(text)")
        #expect(text.contains("owner:            \(owner) "), "\(text)")
        #expect(text.contains("ServiceL2Status:  \(owner)"), "\(text)")
        #expect(text.contains("\(stopped) ") && text.contains("its speaker is not a live member"), "\(text)")
        #expect(text.contains("1. \(owner)"), "\(text)")

        let missing = try await lab.speakerCommand("explain", "--service", "default/nope", "--kubeconfig", "\(lab.directory)/herald-speaker.kubeconfig",
                                                   "--speaker", "http://203.0.113.\(10 + Int(index)!):7472", check: false)
        #expect(!missing.succeeded && missing.description.contains("no Service default/nope"), "\(missing)")
    }
}

extension LabTests {
    /// A cluster as MetalLB leaves it, in MetalLB's own namespace: pools and L2Advertisements in
    /// `metallb-system`, a `ServiceL2Status` MetalLB's speaker wrote there, Services with IPs in their status that
    /// are not the ones a fresh allocation would pick, the `metallb.io/ip-allocated-from-pool` annotation,
    /// MetalLB's deprecated `metallb.universe.tf/*` annotations on some, two Services sharing an IP through
    /// either spelling. Herald is installed into `metallb-system` with the kustomize overlay of
    /// docs/migration-from-metallb.md (`scripts/lab install`: applied for real, the programs run with that
    /// namespace's ServiceAccounts and take it from POD_NAMESPACE) and started on it: it reads MetalLB's objects
    /// in place, no Service changes its IP, none is cleared, every IP is answered, the statuses name the nodes
    /// that answer, and the apiserver refuses nothing.
    @Test func aMetalLBClusterKeepsEveryIPWhenHeraldStarts() async throws {
        try await lab.reset()
        let metallb = "metallb-system"
        try await lab.during("install", metallb, "--stopped", undo: "install", "herald-system") {
            try await lab.apply(pool("migrated", ["203.0.113.220-203.0.113.229"], namespace: metallb))
            let services: [(name: String, ip: String, port: Int, annotations: [String: String])] = [
                ("m1", "203.0.113.227", 80, ["metallb.io/ip-allocated-from-pool": "migrated"]),
                ("m2", "203.0.113.223", 80, ["metallb.universe.tf/address-pool": "migrated", "metallb.universe.tf/allow-shared-ip": "k"]),
                ("m3", "203.0.113.225", 80, ["metallb.universe.tf/loadBalancerIPs": "203.0.113.225"]),
                ("m4", "203.0.113.223", 443, ["metallb.io/allow-shared-ip": "k", "metallb.io/ip-allocated-from-pool": "migrated"]),
            ]
            for service in services {
                try await lab.apply(self.service(service.name, port: service.port, annotations: service.annotations))
                try await lab.kubectl("patch", "service", service.name, "-n", "default", "--subresource=status", "--type=merge",
                                      "-p", #"{"status":{"loadBalancer":{"ingress":[{"ip":"\#(service.ip)"}]}}}"#)
                try await lab.lab(["endpoints", service.name] + lab.nodes)
            }
            // What MetalLB's speaker on node-1 wrote for m1 (its name, its labels, its status).
            try await lab.apply("""
                apiVersion: metallb.io/v1beta1
                kind: ServiceL2Status
                metadata:
                  name: l2-metallb1
                  namespace: \(metallb)
                  labels: {metallb.io/node: node-1, metallb.io/service-name: m1, metallb.io/service-namespace: default}
                """)
            try await lab.kubectl("patch", "servicel2statuses", "l2-metallb1", "-n", metallb, "--subresource=status", "--type=merge",
                                  "-p", #"{"status":{"node":"node-1","serviceName":"m1","serviceNamespace":"default","interfaces":[{"name":"eth0"}]}}"#)

            let logs = ["controller"] + (1...lab.nodeCount).map { "speaker-\($0)" }
            let before = logs.map { LabCluster.fileSize("\(lab.directory)/\($0).log") }
            try await lab.lab("controller", "start")
            for node in lab.nodes { try await lab.lab("speaker", "start", node) }
            // The controller has taken the cluster over once it wrote the pool annotation on every Service.
            _ = try await waitFor("the controller to adopt the four Services", limit: .seconds(30), interval: .milliseconds(200)) {
                let annotated = try await lab.kubectl("get", "svc", "-n", "default", "-l", LabCluster.testLabel,
                                                      "-o", #"jsonpath={range .items[*]}{.metadata.annotations.metallb\.io/ip-allocated-from-pool}{"\n"}{end}"#).output
                let count = annotated.split(separator: "\n").filter { $0 == "migrated" }.count
                return (count == services.count ? true : nil, annotated)
            }
            try await lab.settle()
            for service in services {
                let ips = try await lab.kubectl("get", "svc", service.name, "-n", "default",
                                                "-o", "jsonpath={.status.loadBalancer.ingress[*].ip}").output
                #expect(ips.trimmingCharacters(in: .whitespacesAndNewlines) == service.ip, "\(service.name) has \(ips), had \(service.ip)")
                #expect(try await lab.owner(service.ip) != nil, "nobody answers for \(service.ip) (\(service.name))")
            }
            // MetalLB's status for m1 is replaced by one naming the node that answers (node-1 or not).
            let owner = try #require(try await lab.owner("203.0.113.227"))
            try await waitForStatus(of: "m1", naming: [owner], namespace: metallb)
            let cleared = try await lab.kubectl("get", "events", "-n", "default", "--field-selector", "reason=ClearAssignment",
                                                "-o", "jsonpath={.items[*].involvedObject.name}").output
            #expect(!services.contains { cleared.split(separator: " ").contains(Substring($0.name)) }, "cleared: \(cleared)")
            let written = zip(logs, before).map { LabCluster.tail(of: "\(lab.directory)/\($0.0).log", from: $0.1) }
            #expect(written[0].contains(#""kept":"4""#) || written[0].contains(#""kept":4"#), "the controller's rebuild did not keep the four Services")
            for (name, text) in zip(logs, written) {
                let refused = Self.refusals(in: text)
                #expect(refused.isEmpty, "\(name), as metallb-system's ServiceAccount, was refused: \(refused.prefix(3))")
            }
            // Leave no Service or pool of this test for Herald's return to herald-system.
            try await lab.kubectl("delete", "svc", "-n", "default", "-l", LabCluster.testLabel, "--wait=true")
            try await lab.kubectl("delete", "ipaddresspools,l2advertisements", "-n", metallb, "--all")
        }
        try await lab.settle()
    }
}

extension LabTests {
    /// The CRDs refuse at `kubectl apply` what the controller would leave out anyway (a selector operator that
    /// does not exist, a negative priority), so the operator hears of it at once; a valid pool is accepted.
    @Test func theCRDsRefuseWhatTheControllerWouldLeaveOut() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("herald-bad-pool-\(UUID().uuidString).yaml")
        defer { try? FileManager.default.removeItem(at: file) }
        let bad = """
            apiVersion: metallb.io/v1beta1
            kind: IPAddressPool
            metadata: {name: refused, namespace: herald-system}
            spec:
              addresses: [203.0.113.240/30]
              serviceAllocation:
                priority: -1
                serviceSelectors: [{matchExpressions: [{key: app, operator: Bogus}]}]
            """
        try bad.write(to: file, atomically: true, encoding: .utf8)
        let result = try await lab.kubectl("apply", "--dry-run=server", "-f", file.path, check: false)
        #expect(!result.succeeded, "\(result)")
        #expect(result.description.contains("Unsupported value: \"Bogus\""), "\(result)")
        #expect(result.description.contains("priority"), "\(result)")
        let good = bad.replacingOccurrences(of: "priority: -1", with: "priority: 1").replacingOccurrences(of: "Bogus", with: "Exists")
        try good.write(to: file, atomically: true, encoding: .utf8)
        let accepted = try await lab.kubectl("apply", "--dry-run=server", "-f", file.path, check: false)
        #expect(accepted.succeeded, "\(accepted)")
    }
}

extension LabTests {
    /// The lab runs every program with the capabilities the manifests grant (scripts/lab: setpriv): the
    /// speakers with CAP_NET_RAW alone, the controller with none. They serve (every other lab test), hold
    /// exactly those, and none logged a permission error: nothing in the code needs more than the manifests give.
    @Test func eachProgramRunsWithOnlyTheCapabilitiesTheManifestsGrant() async throws {
        let ip = try await serve("caps")
        #expect(try await lab.owner(ip) != nil, "nobody answers ARP for \(ip)")
        let netRaw: UInt64 = 1 << 13
        let programs = [("controller", UInt64(0))] + (1...lab.nodeCount).map { ("speaker-\($0)", netRaw) }
        for (name, granted) in programs {
            let pid = try String(contentsOfFile: "\(lab.directory)/\(name).pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
            for field in ["CapEff", "CapPrm", "CapBnd"] {
                let line = try #require(status.split(separator: "\n").first { $0.hasPrefix(field + ":") }, "\(name): no \(field)")
                let value = UInt64(line.split(separator: "\t").last.map(String.init) ?? "", radix: 16)
                #expect(value == granted, "\(name) \(line), want \(String(granted, radix: 16))")
            }
            let log = try String(contentsOfFile: "\(lab.directory)/\(name).log", encoding: .utf8)
            let denied = log.split(separator: "\n").filter {
                $0.contains("Operation not permitted") || $0.contains("EPERM") || $0.contains("cannot enter")
            }
            #expect(denied.isEmpty, "\(name) was denied something: \(denied.prefix(3))")
        }
        // And the manifests grant exactly that, as the server reads them (so the lab cannot drift from them).
        let rendered = try await lab.kubectl("apply", "-k", packageRoot.appendingPathComponent("manifests").path,
                                             "--dry-run=server", "-o", "json").output
        let list = try #require(try JSONSerialization.jsonObject(with: Data(rendered.utf8)) as? [String: Any])
        func podSpec(_ kind: String) throws -> [String: Any] {
            let items = list["items"] as? [[String: Any]] ?? []
            let object = try #require(items.first { $0["kind"] as? String == kind }, "no \(kind) in manifests/")
            return try #require(((object["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])
        }
        func container(_ spec: [String: Any]) throws -> [String: Any] {
            try #require((spec["containers"] as? [[String: Any]])?.first?["securityContext"] as? [String: Any])
        }
        let speaker = try podSpec("DaemonSet"), speakerContext = try container(speaker)
        let speakerCapabilities = speakerContext["capabilities"] as? [String: Any]
        #expect(speaker["hostNetwork"] as? Bool == true)
        #expect(speakerCapabilities?["add"] as? [String] == ["NET_RAW"] && speakerCapabilities?["drop"] as? [String] == ["ALL"], "\(speakerContext)")
        #expect(speakerContext["privileged"] as? Bool != true && speakerContext["allowPrivilegeEscalation"] as? Bool == false, "\(speakerContext)")
        let controller = try podSpec("Deployment"), controllerContext = try container(controller)
        let controllerCapabilities = controllerContext["capabilities"] as? [String: Any]
        #expect(controllerCapabilities?["add"] == nil && controllerCapabilities?["drop"] as? [String] == ["ALL"], "\(controllerContext)")
        #expect((controller["securityContext"] as? [String: Any])?["runAsNonRoot"] as? Bool == true)
        #expect(controllerContext["readOnlyRootFilesystem"] as? Bool == true && controllerContext["allowPrivilegeEscalation"] as? Bool == false)
    }
}
