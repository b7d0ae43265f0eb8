import HeraldCore
import Testing

/// Builders that keep allocator tests to one line a step.
enum Fixtures {
    static func pools(_ specs: PoolSpec..., sourceLocation: SourceLocation = #_sourceLocation) -> [AddressPool] {
        let result = PoolValidator.validate(specs)
        #expect(result.errors.isEmpty, "fixture pools must be valid: \(result.errors)", sourceLocation: sourceLocation)
        return result.pools
    }

    static func ip(_ text: String) -> IPAddress { try! IPAddress(parsing: text) }

    static func range(_ text: String) -> IPRange { try! IPRange(parsing: text) }

    /// A Service request. `backend` makes it `externalTrafficPolicy: Local` with selector `app=<backend>`.
    static func service(_ name: String, namespace: String = "default", ips: [String] = [], pool: String? = nil,
                        share: String? = nil, ports: [ServicePort] = [], backend: String? = nil,
                        policy: IPFamilyPolicy = .singleStack, families: [IPFamily] = [],
                        labels: [String: String] = [:], namespaceLabels: [String: String] = [:],
                        createdAt: Int64 = 0) -> AllocationRequest {
        AllocationRequest(service: ServiceKey(namespace: namespace, name: name), labels: labels,
                          namespaceLabels: namespaceLabels, requestedIPs: ips.map(ip), requestedPool: pool,
                          sharingKey: share, ports: ports, trafficPolicy: backend == nil ? .cluster : .local,
                          selector: backend.map { ["app": $0] } ?? [:], ipFamilyPolicy: policy, ipFamilies: families,
                          createdAt: createdAt)
    }

    static func key(_ name: String, namespace: String = "default") -> ServiceKey {
        ServiceKey(namespace: namespace, name: name)
    }
}

extension Allocator {
    /// The addresses a Service holds, as text.
    func ips(of name: String, namespace: String = "default") -> [String] {
        assignment(for: Fixtures.key(name, namespace: namespace))?.ips.map(\.description) ?? []
    }

    /// Assigns and returns the addresses as text, or the failure's code.
    mutating func take(_ request: AllocationRequest) -> Result<[String], AllocationFailure> {
        do throws(AllocationFailure) { return .success(try assign(request).ips.map(\.description)) } catch { return .failure(error) }
    }
}

extension Result where Success == [String], Failure == AllocationFailure {
    var ips: [String]? { if case .success(let ips) = self { ips } else { nil } }
    var failure: AllocationFailure? { if case .failure(let failure) = self { failure } else { nil } }
}

/// Expects `body` to throw an error that prints exactly `message`.
func expectError<E: Error & CustomStringConvertible, T>(
    _ message: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws(E) -> T
) {
    do throws(E) {
        let value = try body()
        Issue.record("expected the error \"\(message)\", got \(value)", sourceLocation: sourceLocation)
    } catch {
        #expect(error.description == message, sourceLocation: sourceLocation)
    }
}
