import Foundation
import HeraldTestSupport
import Testing

/// Herald's CRDs (manifests/crds) accept MetalLB v0.16's whole Layer 2 configuration: every sample in
/// Tests/MetalLBSamples, applied to the real kube-apiserver, comes back with every field as written (a
/// structural schema silently prunes what it does not know, so this is the check that nothing is lost), and
/// the samples under invalid/ are refused by the server with the validation MetalLB's CRDs have.
@Suite(.serialized, .needsAPIServer)
struct MetalLBSchemaTests {
    static let samples = packageRoot.appendingPathComponent("Tests/MetalLBSamples")
    let namespace = "samples-t-\(String(UInt32.random(in: 0 ... .max), radix: 36))"

    static func files(in directory: URL) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "yaml" }.sorted { $0.path < $1.path }
    }

    func withNamespace(_ body: () async throws -> Void) async throws {
        try await installHeraldCRDs()
        _ = try await kubectl("create", "namespace", namespace)
        do { try await body() } catch {
            await cleanUp()
            throw error
        }
        await cleanUp()
    }

    func cleanUp() async {
        _ = try? await kubectl("delete", "-n", namespace, "ipaddresspools,l2advertisements,servicel2statuses,configurationstates,bgppeers,bgpadvertisements,"
                               + "communities,servicebgpstatuses,bfdprofiles",
                               "--all", check: false)
        _ = try? await kubectl("delete", "namespace", namespace, "--wait=false", check: false)
    }

    static func json(_ text: String) throws -> Any { try JSONSerialization.jsonObject(with: Data(text.utf8)) }

    @Test func everyFieldOfEverySampleComesBackAsWritten() async throws {
        let files = try Self.files(in: Self.samples)
        #expect(files.count >= 6)
        try await withNamespace {
            for file in files {
                let written = try Self.json(try await kubectl("create", "--dry-run=client", "-n", namespace, "-o", "json", "-f", file.path).output)
                _ = try await kubectl("apply", "-n", namespace, "-f", file.path)
                if let object = written as? [String: Any], let status = object["status"] {
                    let kind = try #require(object["kind"] as? String).lowercased()
                    let name = try #require((object["metadata"] as? [String: Any])?["name"] as? String)
                    let patch = try JSONSerialization.data(withJSONObject: ["status": status])
                    _ = try await kubectl("patch", "\(kind).metallb.io", name, "-n", namespace, "--subresource=status",
                                          "--type=merge", "-p", String(decoding: patch, as: UTF8.self))
                }
                let read = try Self.json(try await kubectl("get", "-n", namespace, "-f", file.path, "-o", "json").output)
                let missing = Self.differences(written, read, path: "")
                #expect(missing.isEmpty, "\(file.lastPathComponent): pruned or changed: \(missing)")
            }
        }
    }

    @Test func theServerRefusesWhatMetalLBsSchemaRefuses() async throws {
        let files = try Self.files(in: Self.samples.appendingPathComponent("invalid"))
        #expect(files.count >= 5)
        try await withNamespace {
            for file in files {
                // --validate=false: the server's validation, not kubectl's copy of the schema.
                let result = try await kubectl("apply", "--validate=false", "-n", namespace, "-f", file.path, check: false)
                #expect(!result.succeeded && result.description.contains("is invalid"),
                        "\(file.lastPathComponent) was not refused: \(result.description)")
            }
        }
    }

    /// Where `read` lacks or differs from what `written` has (objects: every key of `written`; arrays: element
    /// by element; values: equal).
    static func differences(_ written: Any, _ read: Any?, path: String) -> [String] {
        switch written {
        case let object as [String: Any]:
            guard let read = read as? [String: Any] else { return [path.isEmpty ? "/" : path] }
            return object.keys.sorted().flatMap { differences(object[$0]!, read[$0], path: "\(path).\($0)") }
        case let array as [Any]:
            guard let read = read as? [Any], read.count == array.count else { return [path] }
            return zip(array, read).enumerated().flatMap { differences($0.element.0, $0.element.1, path: "\(path)[\($0.offset)]") }
        default:
            guard let read, "\(written)" == "\(read)" else { return [path] }
            return []
        }
    }
}
