/// The table of keys as people read it: `accessd --help-config` prints
/// `helpText`, and the README's configuration reference is `markdownTable`
/// (scripts/config-keys.sh writes it there; ConfigurationTests fails when
/// the README shows anything else).
extension ConfigKey {
    /// The values the key takes, in words.
    package var valuesDescription: String {
        switch spec.values {
        case .path: "a path"
        case .ids: "numbers, comma-separated"
        case .whole(let range): "\(range)"
        case .decimal(let range): "\(range.lowerBound)...\(range.upperBound)"
        case .oneOf(let words): words.map { "`\($0)`" }.joined(separator: ", ")
        case .promFile: "an absolute path ending in `.prom`, or empty"
        case .word: "a name"
        case .endpoints: "servers, comma-separated"
        }
    }

    /// The default in words: "see above" when where accessd runs decides.
    package func defaultDescription(whereItRuns: String) -> String {
        guard spec.formerNameOf == nil else { return "" }
        guard let value = spec.defaultValue else { return whereItRuns }
        let shown = value.isEmpty ? (spec.values == .ids ? "none" : "empty") : value
        return spec.defaultNote.map { "\(shown) (\($0))" } ?? shown
    }

    /// "reload" when a reload puts a change in force, "restart" when it needs one.
    package var reloadDescription: String {
        switch spec.reload {
        case .applied: "reload"
        case .restart: "restart"
        }
    }

    /// The README's configuration reference: one row per key.
    package static var markdownTable: String {
        var lines = ["| key | values | default | a change needs | meaning |", "|---|---|---|---|---|"]
        for key in allCases {
            let values = key.spec.formerNameOf.map { "as `\($0.name)`" } ?? key.valuesDescription
            let cells = [
                "`\(key.name)`", values, key.defaultDescription(whereItRuns: "see above"), key.reloadDescription,
                key.spec.help,
            ]
            lines.append("| " + cells.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n")
    }

    /// `accessd --help-config`: every key with its values, default and reload, then what it does.
    package static var helpText: String {
        var lines = [
            "The keys of accessd's config file (key = value lines, # comments; flags and the environment win over it).",
            "'reload': SIGHUP (systemctl reload accessd) puts a change in force without dropping a connection;",
            "'restart': a change waits for the next start, and a reload that meets one says so in the log.",
            "",
        ]
        for key in allCases {
            var facts: [String]
            if let current = key.spec.formerNameOf {
                facts = ["as \(current.name)"]
            } else {
                facts = [
                    key.valuesDescription.replacingBackticks,
                    "default: " + key.defaultDescription(whereItRuns: "see accessd --help"), key.reloadDescription,
                ]
            }
            if key.spec.readByDiscovery { facts.append("read by accessctl and the C client") }
            lines.append("  \(key.name) (\(facts.joined(separator: "; ")))")
            lines += wrapped(key.spec.help.replacingBackticks, width: 96).map { "      " + $0 }
        }
        return lines.joined(separator: "\n")
    }

    /// Words of `text` in lines of at most `width` characters (a longer word gets a line of its own).
    static func wrapped(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty, line.count + 1 + word.count > width {
                lines.append(line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }
}

extension String {
    fileprivate var replacingBackticks: String { String(filter { $0 != "`" }) }
}
