import Foundation
import KubeAPI
import Testing

@Suite struct KubeConfigTests {
    static let ca = Data("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".utf8).base64EncodedString()

    static func yaml(user: String = "token: abc123", cluster: String = "certificate-authority-data: \(ca)") -> String {
        """
        apiVersion: v1
        kind: Config
        current-context: dev
        contexts:
        - name: dev
          context: {cluster: c1, user: u1, namespace: team-a}
        clusters:
        - name: c1
          cluster:
            server: https://127.0.0.1:16443/
            \(cluster)
        users:
        - name: u1
          user:
            \(user)
        """
    }

    @Test func readsServerTokenCAAndNamespace() throws {
        let config = try KubeConfig.parse(yaml: Self.yaml(), relativeTo: "/")
        #expect(config.server == "https://127.0.0.1:16443")
        #expect(config.bearerToken == "abc123")
        #expect(config.namespace == "team-a")
        #expect(config.certificateAuthority.map { String(decoding: $0, as: UTF8.self) }?.hasPrefix("-----BEGIN CERTIFICATE-----") == true)
    }

    @Test func readsClientCertificateFilesRelativeToTheKubeconfig() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-kubeconfig-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "CERT".write(to: directory.appendingPathComponent("client.crt"), atomically: true, encoding: .utf8)
        try "KEY".write(to: directory.appendingPathComponent("client.key"), atomically: true, encoding: .utf8)
        let path = directory.appendingPathComponent("config").path
        try Self.yaml(user: "client-certificate: client.crt\n    client-key: client.key", cluster: "insecure-skip-tls-verify: true")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let config = try KubeConfig.load(file: path)
        #expect(config.clientCertificate == Array("CERT".utf8))
        #expect(config.clientKey == Array("KEY".utf8))
        #expect(config.insecureSkipTLSVerify)
    }

    @Test(arguments: [
        ("current-context: dev", "current-context: nowhere", "contexts: no entry named \"nowhere\""),
        ("server: https://127.0.0.1:16443/", "server: 127.0.0.1:16443", "clusters[c1].cluster.server: \"127.0.0.1:16443\" is not an http(s) URL"),
        ("token: abc123", "client-key-data: '%%%'", "users[u1].user.client-key-data: not base64"),
        ("token: abc123", "client-certificate: /nonexistent/cert", "users[u1].user.client-certificate: /nonexistent/cert cannot be read"),
        ("token: abc123", "exec: {command: aws}", "users[u1].user.exec: credential plugins are not supported"),
    ])
    func errorsNameTheField(replacing: String, with: String, expected: String) {
        let text = Self.yaml().replacingOccurrences(of: replacing, with: with)
        #expect {
            try KubeConfig.parse(yaml: text, relativeTo: "/")
        } throws: { error in
            "\(error)".contains(expected)
        }
    }

    @Test func inClusterReadsTheServiceAccount() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("herald-sa-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try "token-1\n".write(to: root.appendingPathComponent("token"), atomically: true, encoding: .utf8)
        try "CA".write(to: root.appendingPathComponent("ca.crt"), atomically: true, encoding: .utf8)
        try "herald-system".write(to: root.appendingPathComponent("namespace"), atomically: true, encoding: .utf8)
        let config = try KubeConfig.inCluster(environment: ["KUBERNETES_SERVICE_HOST": "2001:db8::1", "KUBERNETES_SERVICE_PORT": "443"],
                                              root: root.path)
        #expect(config.server == "https://[2001:db8::1]:443")
        #expect(config.currentToken() == "token-1")
        #expect(config.namespace == "herald-system")
        // The kubelet rotates the token: the next request reads the new one.
        try "token-2".write(to: root.appendingPathComponent("token"), atomically: true, encoding: .utf8)
        #expect(config.currentToken() == "token-2")
    }

    /// `KUBECONFIG=a:b` as kubectl reads it: files that do not exist are skipped, an empty one is empty, the first current-context
    /// wins, each entry comes from the first file that names it, and a file path in an entry is relative to
    /// that entry's file.
    @Test func kubeconfigListsAreMergedAsKubectlMergesThem() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("herald-kc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("b"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try "CA-B".write(to: root.appendingPathComponent("b/ca.crt"), atomically: true, encoding: .utf8)
        // a: the current context and its user; its cluster entry is shadowed by nothing, b's "lab" by a's.
        try """
            current-context: mine
            contexts: [{name: mine, context: {cluster: lab, user: me, namespace: team}}]
            users: [{name: me, user: {token: from-a}}]
            """.write(to: root.appendingPathComponent("a.yaml"), atomically: true, encoding: .utf8)
        try """
            current-context: theirs
            contexts: [{name: mine, context: {cluster: other, user: other}}]
            clusters: [{name: lab, cluster: {server: "https://203.0.113.1:6443", certificate-authority: ca.crt}}]
            users: [{name: me, user: {token: from-b}}]
            """.write(to: root.appendingPathComponent("b/b.yaml"), atomically: true, encoding: .utf8)
        try "# nothing yet\n".write(to: root.appendingPathComponent("empty.yaml"), atomically: true, encoding: .utf8)
        let list = ["/nonexistent/config", root.appendingPathComponent("empty.yaml").path, root.appendingPathComponent("a.yaml").path,
                    root.appendingPathComponent("b/b.yaml").path]
        let config = try KubeConfig.resolve(path: nil, environment: ["KUBECONFIG": list.joined(separator: ":")])
        #expect(config.server == "https://203.0.113.1:6443")
        #expect(config.namespace == "team")
        #expect(config.currentToken() == "from-a")
        #expect(config.certificateAuthority == Array("CA-B".utf8))
        #expect {
            try KubeConfig.resolve(path: nil, environment: ["KUBECONFIG": "/nonexistent/a:/nonexistent/b"])
        } throws: { error in
            "\(error)".contains("no such file")
        }
    }

    @Test func noConfigurationAnywhereSaysWhatToDo() {
        #expect {
            try KubeConfig.resolve(path: nil, environment: ["HOME": "/nonexistent"])
        } throws: { error in
            "\(error)".contains("give --kubeconfig, set KUBECONFIG")
        }
    }
}
