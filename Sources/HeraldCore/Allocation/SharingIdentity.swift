/// What two Services must have in common to hold the same IP: the same `allow-shared-ip` key, and for
/// `externalTrafficPolicy: Local` the same pod selector (a Local IP lives on a node with endpoints of every
/// Service on it). Equal identities with a key share; no key never shares.
struct SharingIdentity: Hashable, Sendable {
    /// The `allow-shared-ip` key, `nil` when the Service does not share.
    var key: String?
    /// The selector of a `Local` Service in `kubectl -l` syntax, `nil` for `Cluster`.
    var backend: String?

    /// Why a Service with identity `self` may not join `holder`'s IP, or `nil` when it may.
    func refusal(joining holder: ServiceKey, identity existing: SharingIdentity, ip: IPAddress) -> String? {
        guard let existingKey = existing.key else {
            return "\(ip) is held by \(holder), which does not allow sharing (it has no metallb.io/allow-shared-ip)"
        }
        guard let key else {
            return
                "\(ip) is held by \(holder); to share it, set metallb.io/allow-shared-ip to \"\(existingKey)\" on both"
        }
        guard key == existingKey else {
            return "\(ip) is held by \(holder) with sharing key \"\(existingKey)\", not \"\(key)\""
        }
        guard backend == existing.backend else {
            func policy(_ backend: String?) -> String { backend.map { "Local with selector \($0)" } ?? "Cluster" }
            return
                "\(ip) is held by \(holder) with externalTrafficPolicy \(policy(existing.backend)), "
                + "this Service has \(policy(backend)); "
                + "Services sharing an IP need the same policy and, for Local, the same selector"
        }
        return nil
    }
}
