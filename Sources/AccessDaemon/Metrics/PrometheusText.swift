import AccessStore
/// Writes Prometheus text exposition (format 0.0.4) for the families the
/// daemon gathers from its loops when scraped (calls, durations, bytes):
/// `# HELP` and `# TYPE` once per family, then its samples, `name{labels}
/// value` per line. (swift-prometheus renders the others; its histograms
/// can only be fed one observation at a time, and these are summed from
/// counters.)
struct PrometheusText {
    private(set) var text = ""

    mutating func family(_ name: String, type: String, help: String) {
        text += "# HELP \(name) "
        for character in help.unicodeScalars {
            switch character {
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            default: text.unicodeScalars.append(character)
            }
        }
        text += "\n# TYPE \(name) \(type)\n"
    }

    mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: String) {
        text += name
        if !labels.isEmpty {
            text += "{"
            for (index, (key, labelValue)) in labels.enumerated() {
                if index > 0 { text += "," }
                text += key + "=\""
                for character in labelValue.unicodeScalars {
                    switch character {
                    case "\\": text += "\\\\"
                    case "\"": text += "\\\""
                    case "\n": text += "\\n"
                    default: text.unicodeScalars.append(character)
                    }
                }
                text += "\""
            }
            text += "}"
        }
        text += " " + value + "\n"
    }

    /// Nanoseconds as exact decimal seconds ("0.00001", "2.5", "10").
    static func seconds(nanoseconds: UInt64) -> String {
        let whole = nanoseconds / 1_000_000_000
        let fraction = nanoseconds % 1_000_000_000
        guard fraction != 0 else { return "\(whole)" }
        var digits = String(fraction)
        digits = String(repeating: "0", count: 9 - digits.count) + digits
        while digits.last == "0" { digits.removeLast() }
        return "\(whole).\(digits)"
    }
}
