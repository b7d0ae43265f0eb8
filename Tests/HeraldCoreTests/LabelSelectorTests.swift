import HeraldCore
import Testing

@Suite struct LabelSelectorTests {
    typealias Requirement = LabelSelectorRequirement

    @Test func emptySelectorMatchesEverything() {
        #expect(LabelSelector().matches([:]))
        #expect(LabelSelector().matches(["app": "web"]))
        #expect(LabelSelector.everything.description == "<all>")
    }

    @Test(arguments: [
        // matchLabels: present and equal.
        (LabelSelector(matchLabels: ["app": "web"]), ["app": "web", "tier": "x"], true),
        (LabelSelector(matchLabels: ["app": "web"]), ["app": "db"], false),
        (LabelSelector(matchLabels: ["app": "web"]), [:], false),
        // In: present and one of the values.
        (LabelSelector(matchExpressions: [Requirement(key: "env", operator: .in, values: ["a", "b"])]), ["env": "b"], true),
        (LabelSelector(matchExpressions: [Requirement(key: "env", operator: .in, values: ["a", "b"])]), ["env": "c"], false),
        (LabelSelector(matchExpressions: [Requirement(key: "env", operator: .in, values: ["a"])]), [:], false),
        // NotIn: absent, or present with another value.
        (LabelSelector(matchExpressions: [Requirement(key: "env", operator: .notIn, values: ["a"])]), [:], true),
        (LabelSelector(matchExpressions: [Requirement(key: "env", operator: .notIn, values: ["a"])]), ["env": "b"], true),
        (LabelSelector(matchExpressions: [Requirement(key: "env", operator: .notIn, values: ["a"])]), ["env": "a"], false),
        // Exists and DoesNotExist, whatever the value (also empty).
        (LabelSelector(matchExpressions: [Requirement(key: "env", operator: .exists)]), ["env": ""], true),
        (LabelSelector(matchExpressions: [Requirement(key: "env", operator: .exists)]), [:], false),
        (LabelSelector(matchExpressions: [Requirement(key: "env", operator: .doesNotExist)]), [:], true),
        (LabelSelector(matchExpressions: [Requirement(key: "env", operator: .doesNotExist)]), ["env": "x"], false),
        // Everything must hold.
        (LabelSelector(matchLabels: ["app": "web"], matchExpressions: [Requirement(key: "env", operator: .exists)]), ["app": "web"], false),
        (LabelSelector(matchLabels: ["app": "web"], matchExpressions: [Requirement(key: "env", operator: .exists)]), ["app": "web", "env": "p"], true),
    ] as [(LabelSelector, [String: String], Bool)])
    func matches(selector: LabelSelector, labels: [String: String], expected: Bool) throws {
        try selector.validate()
        #expect(selector.matches(labels) == expected)
    }

    @Test(arguments: [
        (LabelSelector(matchExpressions: [Requirement(key: "env", operator: .in)]),
         "requirement on \"env\": operator In needs at least one value"),
        (LabelSelector(matchExpressions: [Requirement(key: "env", operator: .notIn)]),
         "requirement on \"env\": operator NotIn needs at least one value"),
        (LabelSelector(matchExpressions: [Requirement(key: "env", operator: .exists, values: ["x"])]),
         "requirement on \"env\": operator Exists takes no values, got [\"x\"]"),
        (LabelSelector(matchLabels: ["-bad": "x"]),
         "label key \"-bad\": name \"-bad\" must be at most 63 alphanumerics, '-', '_' or '.', beginning and ending with an alphanumeric"),
        (LabelSelector(matchLabels: ["a/b/c": "x"]), "label key \"a/b/c\" has more than one \"/\""),
        (LabelSelector(matchLabels: ["Example.com/app": "x"]),
         "label key \"Example.com/app\": prefix \"Example.com\" is not a DNS subdomain (lower-case alphanumerics, '-' and '.', at most 253 characters)"),
        (LabelSelector(matchLabels: ["app": "bad value"]),
         "label value \"bad value\" for key \"app\" must be empty or at most 63 alphanumerics, '-', '_' or '.', beginning and ending with an alphanumeric"),
        (LabelSelector(matchLabels: ["app": String(repeating: "a", count: 64)]),
         "label value \"\(String(repeating: "a", count: 64))\" for key \"app\" must be empty or at most 63 alphanumerics, '-', '_' or '.', beginning and ending with an alphanumeric"),
    ] as [(LabelSelector, String)])
    func refusesInvalidSelectors(selector: LabelSelector, message: String) {
        expectError(message) { () throws(LabelSelectorError) in try selector.validate() }
    }

    @Test func acceptsQualifiedKeysAndEmptyValues() throws {
        try LabelSelector(matchLabels: ["kubernetes.io/metadata.name": "", "app.kubernetes.io/name": "web_1.x"]).validate()
        // Kubernetes limits a prefix to 253 characters in all, not 63 per dot-separated part.
        try LabelSelector(matchLabels: ["\(String(repeating: "a", count: 64)).example.com/tier": "x"]).validate()
    }

    @Test func printsInKubectlSyntax() {
        let selector = LabelSelector(matchLabels: ["b": "2", "a": "1"], matchExpressions: [
            Requirement(key: "env", operator: .in, values: ["y", "x"]), Requirement(key: "old", operator: .doesNotExist),
            Requirement(key: "t", operator: .notIn, values: ["q"]), Requirement(key: "z", operator: .exists),
        ])
        #expect(selector.description == "a=1,b=2,env in (x,y),!old,t notin (q),z")
    }
}
