import ArgumentParser
import Foundation
import HeraldCommandSupport
import Testing

@Suite struct KubernetesOptionsTests {
    /// The manifests set POD_NAMESPACE from the downward API instead of passing --namespace, so an overlay that
    /// moves Herald to another namespace (metallb-system, to read MetalLB's objects in place) needs no flag.
    @Test func theNamespaceIsThePodsUnlessGiven() throws {
        setenv("POD_NAMESPACE", "metallb-system", 1)
        defer { unsetenv("POD_NAMESPACE") }
        #expect(try KubernetesOptions.parse([]).namespace == "metallb-system")
        #expect(try KubernetesOptions.parse(["--namespace", "herald-system"]).namespace == "herald-system")
        setenv("POD_NAMESPACE", "", 1)
        #expect(try KubernetesOptions.parse([]).namespace == "herald-system")
    }
}
