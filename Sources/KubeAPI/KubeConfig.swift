public import Foundation
import Yams

/// Where and how to reach the Kubernetes API: the server, how to trust it, and who we are.
///
/// Loaded from a kubeconfig file (`--kubeconfig`, then `KUBECONFIG`, then `~/.kube/config`) or, inside a pod,
/// from the service account (`KUBERNETES_SERVICE_HOST`/`PORT`, its token and CA). Every error names the file
/// and the field at fault, e.g. `users[herald-admin].user.client-key-data: not base64`.
public struct KubeConfig: Sendable, Equatable {
    /// `https://host:port`, without a trailing slash.
    public var server: String
    /// PEM bytes of the CA that signed the server's certificate; nil: the system's trust roots.
    public var certificateAuthority: [UInt8]?
    public var insecureSkipTLSVerify: Bool
    /// PEM client certificate and key, for certificate authentication.
    public var clientCertificate: [UInt8]?
    public var clientKey: [UInt8]?
    public var bearerToken: String?
    /// A token file read again before each request (in-cluster tokens are rotated by the kubelet).
    public var tokenFile: String?
    /// The context's namespace (in-cluster: the pod's), if any.
    public var namespace: String?

    public init(
        server: String, certificateAuthority: [UInt8]? = nil, insecureSkipTLSVerify: Bool = false,
        clientCertificate: [UInt8]? = nil, clientKey: [UInt8]? = nil, bearerToken: String? = nil,
        tokenFile: String? = nil, namespace: String? = nil
    ) {
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.certificateAuthority = certificateAuthority
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
        self.clientCertificate = clientCertificate
        self.clientKey = clientKey
        self.bearerToken = bearerToken
        self.tokenFile = tokenFile
        self.namespace = namespace
    }

    /// The token to send now: the token file's current content, or the fixed token.
    public func currentToken() -> String? {
        if let tokenFile, let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) {
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return bearerToken
    }

    // MARK: Resolution

    /// The configuration a program should use: `path` if given, else `KUBECONFIG`, else in-cluster when
    /// running in a pod, else `~/.kube/config`.
    public static func resolve(
        path: String?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(KubeConfigError) -> KubeConfig {
        if let path { return try load(file: path) }
        if let list = environment["KUBECONFIG"], !list.isEmpty {
            // As kubectl: the files that exist, merged; the first to name a context, cluster or user wins.
            let paths = list.split(separator: ":").map(String.init)
            let existing = paths.filter { FileManager.default.fileExists(atPath: $0) }
            guard !existing.isEmpty else { throw KubeConfigError("KUBECONFIG=\(list): no such file") }
            return existing.count == 1 ? try load(file: existing[0]) : try load(files: existing)
        }
        if environment["KUBERNETES_SERVICE_HOST"] != nil { return try inCluster(environment: environment) }
        let home = environment["HOME"] ?? NSHomeDirectory()
        let fallback = home + "/.kube/config"
        guard FileManager.default.fileExists(atPath: fallback) else {
            throw KubeConfigError(
                "no Kubernetes configuration: give --kubeconfig, set KUBECONFIG, run in a pod, or create \(fallback)")
        }
        return try load(file: fallback)
    }

    public static func load(file path: String) throws(KubeConfigError) -> KubeConfig {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw KubeConfigError("kubeconfig \(path): cannot be read")
        }
        let directory = (path as NSString).deletingLastPathComponent
        do {
            return try parse(yaml: text, relativeTo: directory.isEmpty ? "." : directory)
        } catch {
            throw KubeConfigError("kubeconfig \(path): \(error.description)")
        }
    }

    /// In a pod: the service account's token and CA, the API's address from the environment.
    public static func inCluster(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        root: String = "/var/run/secrets/kubernetes.io/serviceaccount"
    ) throws(KubeConfigError) -> KubeConfig {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], let port = environment["KUBERNETES_SERVICE_PORT"]
        else {
            throw KubeConfigError(
                "in-cluster configuration: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT "
                    + "are not set (not in a pod?)"
            )
        }
        let tokenFile = root + "/token"
        guard FileManager.default.isReadableFile(atPath: tokenFile) else {
            throw KubeConfigError(
                "in-cluster configuration: \(tokenFile) cannot be read (is a service account token mounted?)")
        }
        guard let ca = FileManager.default.contents(atPath: root + "/ca.crt") else {
            throw KubeConfigError("in-cluster configuration: \(root)/ca.crt cannot be read")
        }
        let namespace = (try? String(contentsOfFile: root + "/namespace", encoding: .utf8))?.trimmingCharacters(
            in: .whitespacesAndNewlines)
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return KubeConfig(
            server: "https://\(hostPart):\(port)", certificateAuthority: Array(ca), tokenFile: tokenFile,
            namespace: namespace)
    }

    // MARK: Parsing

    /// Parses kubeconfig YAML; relative file paths are taken from `directory`, as kubectl does.
    /// Several kubeconfig files merged as kubectl merges the files of `KUBECONFIG`: `current-context` from the
    /// first file that sets it, and each context, cluster and user from the first file that names it (file
    /// paths in an entry are relative to the entry's own file).
    public static func load(files paths: [String]) throws(KubeConfigError) -> KubeConfig {
        var merged: [String: Any] = [:]
        for path in paths {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw KubeConfigError("kubeconfig \(path): cannot be read")
            }
            // An empty file is an empty configuration, as kubectl reads it.
            if text.split(separator: "\n").allSatisfy({
                $0.trimmingCharacters(in: .whitespaces).hasPrefix("#") || $0.allSatisfy(\.isWhitespace)
            }) {
                continue
            }
            let root: [String: Any]
            do { root = try document(text) } catch { throw KubeConfigError("kubeconfig \(path): \(error.description)") }
            let directory = (path as NSString).deletingLastPathComponent
            if merged["current-context"] as? String ?? "" == "", let current = root["current-context"] as? String {
                merged["current-context"] = current
            }
            for (list, field) in [("contexts", "context"), ("clusters", "cluster"), ("users", "user")] {
                var entries = merged[list] as? [Any] ?? []
                let known = Set(entries.compactMap { ($0 as? [String: Any])?["name"] as? String })
                for case var entry as [String: Any] in root[list] as? [Any] ?? [] {
                    guard let name = entry["name"] as? String, !known.contains(name) else { continue }
                    if var body = entry[field] as? [String: Any] {
                        for key in ["certificate-authority", "client-certificate", "client-key", "tokenFile"] {
                            if let file = body[key] as? String {
                                body[key] = absolute(file, directory.isEmpty ? "." : directory)
                            }
                        }
                        entry[field] = body
                    }
                    entries.append(entry)
                }
                merged[list] = entries
            }
        }
        do { return try parse(root: merged, relativeTo: ".") } catch {
            throw KubeConfigError("kubeconfig \(paths.joined(separator: ":")): \(error.description)")
        }
    }

    public static func parse(yaml text: String, relativeTo directory: String) throws(KubeConfigError) -> KubeConfig {
        try parse(root: try document(text), relativeTo: directory)
    }

    private static func document(_ text: String) throws(KubeConfigError) -> [String: Any] {
        let document: Any?
        do { document = try Yams.load(yaml: text) } catch { throw KubeConfigError("not YAML: \(error)") }
        guard let root = document as? [String: Any] else {
            throw KubeConfigError("not a kubeconfig (expected a mapping at the top)")
        }
        return root
    }

    private static func parse(root: [String: Any], relativeTo directory: String) throws(KubeConfigError) -> KubeConfig {
        let contextName: String
        if let current = root["current-context"] as? String, !current.isEmpty {
            contextName = current
        } else {
            throw KubeConfigError("current-context: not set")
        }
        let context = try named(contextName, in: root, list: "contexts", field: "context")
        guard let clusterName = context["cluster"] as? String else {
            throw KubeConfigError("contexts[\(contextName)].context.cluster: missing")
        }
        let cluster = try named(clusterName, in: root, list: "clusters", field: "cluster")
        let clusterPath = "clusters[\(clusterName)].cluster"
        guard let server = cluster["server"] as? String, !server.isEmpty else {
            throw KubeConfigError("\(clusterPath).server: missing")
        }
        guard server.hasPrefix("https://") || server.hasPrefix("http://") else {
            throw KubeConfigError("\(clusterPath).server: \"\(server)\" is not an http(s) URL")
        }
        var config = KubeConfig(server: server, namespace: context["namespace"] as? String)
        config.insecureSkipTLSVerify = cluster["insecure-skip-tls-verify"] as? Bool ?? false
        config.certificateAuthority = try material(
            cluster, data: "certificate-authority-data", file: "certificate-authority",
            path: clusterPath, directory: directory)
        if let userName = context["user"] as? String, !userName.isEmpty {
            let user = try named(userName, in: root, list: "users", field: "user")
            let userPath = "users[\(userName)].user"
            config.clientCertificate = try material(
                user, data: "client-certificate-data", file: "client-certificate",
                path: userPath, directory: directory)
            config.clientKey = try material(
                user, data: "client-key-data", file: "client-key", path: userPath, directory: directory)
            if (config.clientCertificate == nil) != (config.clientKey == nil) {
                throw KubeConfigError("\(userPath): a client certificate needs its key and a key its certificate")
            }
            if let token = user["token"] as? String, !token.isEmpty {
                config.bearerToken = token
            } else if let tokenFile = user["tokenFile"] as? String {
                let full = absolute(tokenFile, directory)
                guard FileManager.default.isReadableFile(atPath: full) else {
                    throw KubeConfigError("\(userPath).tokenFile: \(full) cannot be read")
                }
                config.tokenFile = full
            }
            for unsupported in ["exec", "auth-provider"] where user[unsupported] != nil {
                throw KubeConfigError(
                    "\(userPath).\(unsupported): credential plugins are not supported; "
                        + "use a token or a client certificate"
                )
            }
        }
        return config
    }

    private static func named(
        _ name: String, in root: [String: Any], list: String, field: String
    ) throws(KubeConfigError) -> [String: Any] {
        guard let entries = root[list] as? [Any] else { throw KubeConfigError("\(list): missing") }
        for entry in entries {
            guard let entry = entry as? [String: Any], entry["name"] as? String == name else { continue }
            guard let body = entry[field] as? [String: Any] else {
                throw KubeConfigError("\(list)[\(name)].\(field): missing")
            }
            return body
        }
        throw KubeConfigError("\(list): no entry named \"\(name)\"")
    }

    private static func material(
        _ object: [String: Any], data: String, file: String, path: String, directory: String
    ) throws(KubeConfigError) -> [UInt8]? {
        if let encoded = object[data] as? String {
            guard let bytes = Data(base64Encoded: encoded.filter { !$0.isWhitespace }) else {
                throw KubeConfigError("\(path).\(data): not base64")
            }
            return Array(bytes)
        }
        if let name = object[file] as? String {
            let full = absolute(name, directory)
            guard let bytes = FileManager.default.contents(atPath: full) else {
                throw KubeConfigError("\(path).\(file): \(full) cannot be read")
            }
            return Array(bytes)
        }
        return nil
    }

    private static func absolute(_ path: String, _ directory: String) -> String {
        path.hasPrefix("/") ? path : directory + "/" + path
    }
}

public struct KubeConfigError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
