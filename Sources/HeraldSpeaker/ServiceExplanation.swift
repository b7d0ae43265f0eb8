public import HeraldConfig
public import HeraldCore
public import KubeAPI

/// What `herald-speaker explain` prints: for each IP of one Service, the pool, the L2Advertisements that
/// announce it, the owner the election gives, the full candidate ranking and why every other node is not the
/// owner, beside what the ServiceL2Status objects say. It runs the speakers' own planner
/// (`AnnouncementPlanner`) on the same API objects and on the gossip membership one speaker sees, so the
/// answer is the one the speakers reach, not a reconstruction.
public struct ServiceExplanation: Sendable {
    public let service: ServiceKey
    public let text: String

    /// `view` holds the API objects with `membership.liveNames` as the members; `statuses` are the
    /// ServiceL2Status objects in Herald's namespace. The members' links (which lack carrier) come from
    /// `membership`, as the speakers have them from gossip.
    public init(
        service object: KubernetesService, view: SpeakerView, statuses: [ServiceL2Status],
        membership: MembershipDocument, membershipSource: String, loadBalancerClass: String?
    ) {
        service = object.serviceKey
        var view = view
        view.inputs.links = membership.links
        text =
            Self.render(
                object, view: view, statuses: statuses, membership: membership, membershipSource: membershipSource,
                loadBalancerClass: loadBalancerClass
            ).joined(separator: "\n") + "\n"
    }

    static func render(
        _ object: KubernetesService, view: SpeakerView, statuses: [ServiceL2Status], membership: MembershipDocument,
        membershipSource: String, loadBalancerClass: String?
    ) -> [String] {
        let service = object.serviceKey
        var lines: [String] = []
        let policy = object.spec?.externalTrafficPolicy ?? "Cluster"
        lines.append("Service \(service) (\(object.spec?.type ?? "ClusterIP"), externalTrafficPolicy: \(policy))")
        let members = membership.members.map { "\($0.name) \($0.status)" }.joined(separator: ", ")
        lines.append(
            "Gossip membership as \(membership.node) sees it (\(membershipSource)): "
                + "\(members.isEmpty ? "none" : members)"
        )
        for problem in view.problems { lines.append("Left out of the configuration: \(problem)") }

        guard object.isLoadBalancer(ofClass: loadBalancerClass) else {
            let wanted = loadBalancerClass.map { "spec.loadBalancerClass \"\($0)\"" } ?? "no spec.loadBalancerClass"
            return lines + ["", "Not Herald's: only Services of type LoadBalancer with \(wanted) are (--lb-class)."]
        }
        let ips = object.ingressIPs.compactMap { try? IPAddress(parsing: $0) }
        guard !ips.isEmpty else {
            return lines + [
                "",
                "No EXTERNAL-IP yet: the controller has not assigned one "
                    + "(kubectl describe service -n \(service.namespace) \(service.name): its Events say why).",
            ]
        }
        let plan = AnnouncementPlanner.plan(view.inputs)
        let reported = statuses.filter { $0.serviceKey == service }.compactMap { status -> String? in
            guard let node = status.node else { return nil }
            let interfaces = (status.status?.interfaces ?? []).compactMap(\.name)
            return interfaces.isEmpty ? node : "\(node) (\(interfaces.joined(separator: ", ")))"
        }.sorted()
        for ip in ips {
            guard let decision = plan[ip] else { continue }
            lines.append("")
            lines += describe(decision, of: service, inputs: view.inputs, reported: reported)
        }
        return lines
    }

    static func describe(
        _ decision: IPAnnouncement, of service: ServiceKey, inputs: AnnouncementInputs, reported: [String]
    ) -> [String] {
        var lines = ["\(decision.ip)"]
        func field(_ name: String, _ value: String) { lines.append("  " + (name + ":").padding(toLength: 18) + value) }
        field("pool", decision.pool ?? "none")
        if let name = decision.pool {
            let serviceLabels = inputs.services.first { $0.service == service }?.labels ?? [:]
            let labels = inputs.pools.first { $0.name == name }?.labels ?? [:]
            let advertisements = inputs.advertisements.filter { $0.selects(pool: name, labels: labels) }.map {
                advertisement in
                let nodes = advertisement.nodeSelectors.isEmpty ? "every node" : "nodes matching its nodeSelectors"
                let interfaces =
                    advertisement.interfaces.isEmpty
                    ? "every interface" : advertisement.interfaces.joined(separator: ", ")
                var notes = [nodes, interfaces]
                if !advertisement.serviceSelectors.isEmpty {
                    notes.append(
                        advertisement.selects(serviceLabels: serviceLabels)
                            ? "its serviceSelectors select this Service"
                            : "its serviceSelectors do not select this Service")
                }
                if !advertisement.preferredNodes.isEmpty {
                    notes.append("\(advertisement.preferredNodes.count) preferredNodeSelectors")
                }
                return "\(advertisement.name) (\(notes.joined(separator: "; ")))"
            }
            field("L2Advertisements", advertisements.isEmpty ? "none" : advertisements.joined(separator: ", "))
        }
        let others = decision.services.filter { $0 != service }
        if !others.isEmpty { field("shared with", others.map(\.description).joined(separator: ", ")) }
        if let withheld = decision.withheld {
            field("announced by", "nobody: \(withheld)")
        } else if let owner = decision.owner {
            let interfaces =
                decision.interfaces.map { $0.isEmpty ? "no interface" : $0.sorted().joined(separator: ", ") }
                ?? "every interface"
            field("owner", "\(owner) (\(interfaces))")
        }
        field("ServiceL2Status", reported.isEmpty ? "none" : reported.joined(separator: ", "))
        if let owner = decision.owner, !reported.isEmpty,
            !reported.contains(where: { $0 == owner || $0.hasPrefix(owner + " ") })
        {
            lines.append(
                "  note: the status names another node than the plan: a hand-over in progress, "
                    + "or that speaker sees another membership (compare its /membership)"
            )
        }
        if !decision.ranking.isEmpty {
            let scored = !decision.scores.isEmpty
            // A dual-stack Service's IPs are ranked by its first IP, so that one node announces both.
            let rankedFor =
                decision.rankedBy == decision.ip ? "this IP" : "\(decision.rankedBy) (the Service's first IP)"
            lines.append(
                scored
                    ? "  candidates, by preference score (preferredNodeSelectors), then the election's ranking for "
                        + "\(rankedFor):"
                    : "  candidates, by the election's ranking for \(rankedFor):")
            for (index, node) in decision.ranking.enumerated() {
                let role = index == 0 ? "owner" : "ranks below \(decision.ranking[0])"
                let score = scored ? "score \(String(decision.scores[node] ?? 0).padding(toLength: 4)) " : ""
                lines.append("    \(index + 1). \(node.padding(toLength: 20)) \(score)\(role)")
            }
        }
        if !decision.excluded.isEmpty {
            lines.append("  not candidates:")
            for (node, reason) in decision.excluded.sorted(by: { $0.key < $1.key }) {
                lines.append("    \(node.padding(toLength: 23)) \(reason)")
            }
        }
        return lines
    }
}

extension String {
    fileprivate func padding(toLength length: Int) -> String {
        count >= length ? self : self + String(repeating: " ", count: length - count)
    }
}
