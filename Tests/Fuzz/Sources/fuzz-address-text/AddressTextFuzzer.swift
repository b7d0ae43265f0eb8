import HeraldCore

/// libFuzzer entry point. Any input must parse or throw, never trap; whatever parses must format to text that
/// parses back to the same value; validation and allocation over fuzzed pools must keep their invariants.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAddressText(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let text = String(decoding: bytes, as: UTF8.self)

    if let address = try? IPAddress(parsing: text) {
        precondition((try? IPAddress(parsing: address.description)) == address, "IP round trip: \(text)")
    }
    if let network = try? IPNetwork(parsing: text) {
        precondition((try? IPNetwork(parsing: network.description)) == network, "CIDR round trip: \(text)")
        precondition(network.contains(network.range.first) && network.contains(network.range.last))
    }
    if let range = try? IPRange(parsing: text) {
        precondition((try? IPRange(parsing: range.description)) == range, "range round trip: \(text)")
        precondition(range.first <= range.last)
    }
    if let mac = try? MACAddress(parsing: text) {
        precondition((try? MACAddress(parsing: mac.description)) == mac, "MAC round trip: \(text)")
    }
    _ = try? AllocationRequest.parseRequestedIPs(annotation: text, loadBalancerIP: nil)
    do { _ = try AddressBlock.parse(text) } catch { precondition(!error.description.isEmpty) }

    // Lines as pool entries, split into pools at blank lines; then allocate until the pools are full.
    let pools = text.split(separator: "\n\n", omittingEmptySubsequences: true).prefix(8).enumerated().map { index, chunk in
        PoolSpec(name: "p\(index)", addresses: chunk.split(separator: "\n").prefix(8).map(String.init),
                 avoidBuggyIPs: index % 2 == 1, createdAt: Int64(index))
    }
    let validation = PoolValidator.validate(pools)
    precondition(validation.pools.count + validation.errors.count == pools.count)
    var allocator = Allocator(pools: validation.pools)
    for index in 0..<64 {
        let family: IPFamily = index % 2 == 0 ? .v4 : .v6
        let request = AllocationRequest(service: ServiceKey(namespace: "fuzz", name: "s\(index)"),
                                        sharingKey: index % 3 == 0 ? "k" : nil, ports: [.tcp(UInt16(index))],
                                        ipFamilies: [family])
        guard let assignment = try? allocator.assign(request) else { continue }
        for ip in assignment.ips {
            precondition(validation.pools.contains { $0.name == assignment.pool && $0.contains(ip) }, "outside pool")
        }
    }
    return 0
}
