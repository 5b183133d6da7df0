import Foundation

/// Prometheus text exposition 0.0.4 read the way Prometheus and
/// node_exporter's textfile collector read it, strictly: every line is
/// `# HELP name text`, `# TYPE name type` or a sample `name{labels} value`;
/// each family says its HELP and TYPE once, before its samples, and its lines
/// are together; a histogram's samples are `_bucket` (with `le`), `_sum` and
/// `_count`. A line that breaks a rule is an error naming it.
package struct PrometheusExposition {
    package struct Sample: Equatable {
        package var name: String
        package var labels: [String: String]
        package var value: Double
    }

    package struct Invalid: Error, CustomStringConvertible {
        var line: Int
        var text: String
        var reason: String
        package var description: String { "line \(line) (\(text)): \(reason)" }
    }

    package private(set) var types: [String: String] = [:]
    package private(set) var helps: [String: String] = [:]
    package private(set) var samples: [Sample] = []

    package init(_ text: String) throws {
        guard text.isEmpty || text.hasSuffix("\n") else { throw Invalid(line: 0, text: "", reason: "the text does not end with a line break") }
        var finished: Set<String> = []
        var current: String?
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().enumerated() {
            let number = index + 1
            func invalid(_ reason: String) -> Invalid { Invalid(line: number, text: String(line), reason: reason) }
            func enter(_ family: String) throws {
                guard family != current else { return }
                if let current { finished.insert(current) }
                guard !finished.contains(family) else { throw invalid("the lines of \(family) are not together") }
                current = family
            }
            if line.hasPrefix("#") {
                let words = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
                guard words.count >= 3, words[0] == "#", Self.isMetricName(words[2]) else { throw invalid("not a HELP or TYPE line") }
                let family = words[2]
                try enter(family)
                switch words[1] {
                case "HELP":
                    guard helps[family] == nil else { throw invalid("a second HELP for \(family)") }
                    guard types[family] == nil else { throw invalid("HELP after TYPE for \(family)") }
                    helps[family] = words.count == 4 ? words[3] : ""
                case "TYPE":
                    guard words.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(words[3]) else {
                        throw invalid("not a type")
                    }
                    guard types[family] == nil else { throw invalid("a second TYPE for \(family)") }
                    types[family] = words[3]
                default:
                    throw invalid("a comment that is neither HELP nor TYPE")
                }
                continue
            }
            let sample = try Self.sample(line, invalid)
            var family = sample.name
            for suffix in ["_bucket", "_sum", "_count"] where sample.name.hasSuffix(suffix) {
                let base = String(sample.name.dropLast(suffix.count))
                if types[base] == "histogram" { family = base }
            }
            guard let type = types[family] else { throw invalid("no TYPE line before the samples of \(family)") }
            guard helps[family] != nil else { throw invalid("no HELP line for \(family)") }
            try enter(family)
            if type == "histogram" {
                guard sample.name != family else { throw invalid("a histogram sample without _bucket, _sum or _count") }
                if sample.name.hasSuffix("_bucket"), sample.labels["le"] == nil { throw invalid("a bucket without le") }
            }
            if type == "counter", sample.value < 0 { throw invalid("a negative counter") }
            samples.append(sample)
        }
    }

    /// The value of the one sample with this name and these labels (exactly), if any.
    package func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    /// The samples of `name` whose labels include `labels`.
    package func samples(_ name: String, matching labels: [String: String] = [:]) -> [Sample] {
        samples.filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }
    }

    package static func isMetricName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || first == ":" || (first.isASCII && first.properties.isAlphabetic)
        else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == ":") }
    }

    private static func sample(_ line: Substring, _ invalid: (String) -> Invalid) throws -> Sample {
        var rest = line[...]
        let name = String(rest.prefix { $0 != "{" && $0 != " " })
        guard isMetricName(name) else { throw invalid("not a metric name") }
        rest = rest.dropFirst(name.count)
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while rest.first != "}" {
                let key = String(rest.prefix { $0 != "=" })
                guard isMetricName(key), !key.contains(":") else { throw invalid("not a label name: \(key)") }
                rest = rest.dropFirst(key.count)
                guard rest.hasPrefix("=\"") else { throw invalid("a label without =\"value\"") }
                rest = rest.dropFirst(2)
                var value = ""
                while true {
                    guard let character = rest.first else { throw invalid("an unterminated label value") }
                    rest = rest.dropFirst()
                    if character == "\"" { break }
                    if character == "\\" {
                        guard let escaped = rest.first, ["\\", "\"", "n"].contains(escaped) else { throw invalid("a bad escape") }
                        rest = rest.dropFirst()
                        value.append(escaped == "n" ? "\n" : escaped)
                    } else {
                        value.append(character)
                    }
                }
                guard labels[key] == nil else { throw invalid("label \(key) twice") }
                labels[key] = value
                if rest.first == "," { rest = rest.dropFirst() } else if rest.first != "}" { throw invalid("labels not separated by commas") }
            }
            rest = rest.dropFirst()
        }
        guard rest.first == " " else { throw invalid("no space before the value") }
        let text = rest.dropFirst()
        let value: Double
        switch text {
        case "+Inf": value = .infinity
        case "-Inf": value = -.infinity
        case "NaN": value = .nan
        default:
            guard let number = Double(text), !text.contains(" ") else { throw invalid("not a value (or a timestamp, which a textfile may not carry)") }
            value = number
        }
        return Sample(name: name, labels: labels, value: value)
    }
}
