/// Who holds one address: one Service, or several that share it under one identity on distinct ports.
struct AddressUsage: Sendable, Equatable {
    let pool: String
    let sharing: SharingIdentity
    /// Each holder and its ports.
    var holders: [ServiceKey: [ServicePort]]

    /// The holder of a port that `ports` would collide with, ignoring `service` itself.
    func portConflict(with ports: [ServicePort], for service: ServiceKey) -> (ServicePort, ServiceKey)? {
        for (holder, held) in holders where holder != service {
            if let port = ports.first(where: held.contains) { return (port, holder) }
        }
        return nil
    }

    /// Why `request` may not hold this address as well, or `nil` when it may.
    func refusal(for request: AllocationRequest, ip: IPAddress) -> AllocationFailure? {
        let others = holders.keys.filter { $0 != request.service }.sorted()
        guard let first = others.first else { return nil }
        if let reason = request.sharing.refusal(joining: first, identity: sharing, ip: ip) {
            return AllocationFailure(.ipInUse, reason, holder: first)
        }
        if let (port, holder) = portConflict(with: request.ports, for: request.service) {
            return AllocationFailure(
                .portInUse, "\(port) on \(ip) is already used by \(holder), which shares the address", holder: holder)
        }
        return nil
    }
}

/// Where to find the addresses of a pool held under one sharing identity, to offer them to the next Service
/// with that identity before a free address, as MetalLB does.
struct SharedAddressKey: Hashable, Sendable {
    let pool: String
    let sharing: SharingIdentity
}
