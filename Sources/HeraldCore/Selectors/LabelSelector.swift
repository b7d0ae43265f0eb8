/// A Kubernetes label selector (`metav1.LabelSelector`): every `matchLabels` pair and every requirement must hold.
///
/// The empty selector matches every object, as in Kubernetes. An absent selector (`nil` at the call site) is a
/// different thing, and where Kubernetes reads it as "matches nothing" the caller decides so.
public struct LabelSelector: Hashable, Sendable {
    public var matchLabels: [String: String]
    public var matchExpressions: [LabelSelectorRequirement]

    public init(matchLabels: [String: String] = [:], matchExpressions: [LabelSelectorRequirement] = []) {
        self.matchLabels = matchLabels
        self.matchExpressions = matchExpressions
    }

    /// Matches everything.
    public static let everything = LabelSelector()

    public var isEmpty: Bool { matchLabels.isEmpty && matchExpressions.isEmpty }

    public func matches(_ labels: [String: String]) -> Bool {
        matchLabels.allSatisfy { labels[$0.key] == $0.value } && matchExpressions.allSatisfy { $0.matches(labels) }
    }

    /// Checks what the Kubernetes API machinery checks when it turns a selector into a matcher: label keys and
    /// values are well formed, `In`/`NotIn` carry values, `Exists`/`DoesNotExist` carry none.
    public func validate() throws(LabelSelectorError) {
        for (key, value) in matchLabels.sorted(by: { $0.key < $1.key }) {
            try LabelSyntax.validateKey(key)
            try LabelSyntax.validateValue(value, key: key)
        }
        for requirement in matchExpressions { try requirement.validate() }
    }
}

/// One `matchExpressions` entry.
public struct LabelSelectorRequirement: Hashable, Sendable {
    public enum Operator: String, Hashable, Sendable, CaseIterable {
        case `in` = "In"
        case notIn = "NotIn"
        case exists = "Exists"
        case doesNotExist = "DoesNotExist"
    }

    public var key: String
    public var `operator`: Operator
    public var values: [String]

    public init(key: String, operator: Operator, values: [String] = []) {
        self.key = key
        self.operator = `operator`
        self.values = values
    }

    /// `NotIn` and `DoesNotExist` hold for objects without the label, as in Kubernetes.
    public func matches(_ labels: [String: String]) -> Bool {
        let value = labels[key]
        switch `operator` {
        case .in: return value.map(values.contains) ?? false
        case .notIn: return value.map { !values.contains($0) } ?? true
        case .exists: return value != nil
        case .doesNotExist: return value == nil
        }
    }

    public func validate() throws(LabelSelectorError) {
        try LabelSyntax.validateKey(key)
        switch `operator` {
        case .in, .notIn:
            guard !values.isEmpty else {
                throw LabelSelectorError(
                    "requirement on \"\(key)\": operator \(`operator`.rawValue) needs at least one value")
            }
            for value in values { try LabelSyntax.validateValue(value, key: key) }
        case .exists, .doesNotExist:
            guard values.isEmpty else {
                throw LabelSelectorError(
                    "requirement on \"\(key)\": operator \(`operator`.rawValue) takes no values, got \(values)")
            }
        }
    }
}

/// A selector Kubernetes would refuse, with what to fix.
public struct LabelSelectorError: Error, Hashable, Sendable, CustomStringConvertible {
    public var detail: String
    public init(_ detail: String) { self.detail = detail }
    public var description: String { detail }
}

extension LabelSelector: CustomStringConvertible {
    /// The selector in `kubectl -l` syntax: `app=web,tier in (a,b),!legacy`; the empty selector prints as `<all>`.
    public var description: String {
        let labels = matchLabels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let expressions = matchExpressions.map { requirement -> String in
            switch requirement.operator {
            case .in: "\(requirement.key) in (\(requirement.values.sorted().joined(separator: ",")))"
            case .notIn: "\(requirement.key) notin (\(requirement.values.sorted().joined(separator: ",")))"
            case .exists: requirement.key
            case .doesNotExist: "!\(requirement.key)"
            }
        }
        let all = labels + expressions
        return all.isEmpty ? "<all>" : all.joined(separator: ",")
    }
}

/// The syntax of label keys and values (Kubernetes `validation.IsQualifiedName` and `IsValidLabelValue`).
enum LabelSyntax {
    /// `[prefix/]name`: name of 1 to 63 alphanumerics, `-`, `_`, `.` beginning and ending alphanumeric; prefix a
    /// DNS subdomain of at most 253 characters.
    static func validateKey(_ key: String) throws(LabelSelectorError) {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { throw LabelSelectorError("label key \"\(key)\" has more than one \"/\"") }
        let name = parts.last!
        if parts.count == 2 {
            let prefix = parts[0]
            guard !prefix.isEmpty, prefix.utf8.count <= 253,
                prefix.split(separator: ".", omittingEmptySubsequences: false)
                    .allSatisfy({ isDNSLabel($0) })
            else {
                throw LabelSelectorError(
                    "label key \"\(key)\": prefix \"\(prefix)\" is not a DNS subdomain "
                        + "(lower-case alphanumerics, '-' and '.', at most 253 characters)"
                )
            }
        }
        guard !name.isEmpty else { throw LabelSelectorError("label key \"\(key)\" has an empty name") }
        guard isLabelName(name) else {
            throw LabelSelectorError(
                "label key \"\(key)\": name \"\(name)\" must be at most 63 alphanumerics, '-', '_' or '.', "
                    + "beginning and ending with an alphanumeric"
            )
        }
    }

    /// Empty, or what a key's name part may be.
    static func validateValue(_ value: String, key: String) throws(LabelSelectorError) {
        guard value.isEmpty || isLabelName(value[...]) else {
            throw LabelSelectorError(
                "label value \"\(value)\" for key \"\(key)\" must be empty or at most 63 alphanumerics, "
                    + "'-', '_' or '.', beginning and ending with an alphanumeric"
            )
        }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    private static func isLabelName(_ text: Substring) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, let last = bytes.last, bytes.count <= 63,
            isAlphanumeric(first), isAlphanumeric(last)
        else { return false }
        return bytes.allSatisfy {
            isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
        }
    }

    /// One dot-separated part of a DNS-1123 subdomain. Kubernetes limits the whole subdomain to 253 characters
    /// but not each part, and neither does Herald.
    private static func isDNSLabel(_ text: Substring) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, let last = bytes.last else { return false }
        let lowerAlnum = { (b: UInt8) in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b)
        }
        return lowerAlnum(first) && lowerAlnum(last) && bytes.allSatisfy { lowerAlnum($0) || $0 == UInt8(ascii: "-") }
    }
}
