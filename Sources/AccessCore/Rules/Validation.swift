/// The input rules shared by every command: names and emails (domain.md, "Things").
enum Validation {
    static let maximumNameLength = 200
    static let maximumEmailLength = 254

    /// A name: trimmed, non-empty, at most 200 characters, no control characters.
    static func name(_ raw: String, field: String) throws(AccessError) -> String {
        let trimmed = trim(raw)
        guard !trimmed.isEmpty else {
            throw .invalidArgument("\(field) must not be empty")
        }
        guard trimmed.count <= maximumNameLength else {
            throw .invalidArgument("\(field) is \(trimmed.count) characters long; the limit is \(maximumNameLength)")
        }
        guard !containsControlCharacter(trimmed) else {
            throw .invalidArgument("\(field) must not contain control characters")
        }
        return trimmed
    }

    /// An email address as given (trimmed); compared through `EmailKey`.
    static func email(_ raw: String, field: String = "email") throws(AccessError) -> String {
        let trimmed = trim(raw)
        guard !trimmed.isEmpty else { throw .invalidArgument("\(field) must not be empty") }
        guard trimmed.utf8.count <= maximumEmailLength else {
            throw .invalidArgument("\(field) is longer than \(maximumEmailLength) bytes")
        }
        let parts = trimmed.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
            !parts[1].hasSuffix("."),
            !containsWhitespace(trimmed),
            !containsControlCharacter(trimmed)
        else {
            throw .invalidArgument("\(field) \(PeerText.quote(trimmed)) is not an email address like name@example.com")
        }
        return trimmed
    }

    /// Optional free text (billing fields): trimmed, at most 200 characters, no control characters.
    static func optionalText(_ raw: String?, field: String) throws(AccessError) -> String? {
        guard let raw else { return nil }
        let trimmed = trim(raw)
        if trimmed.isEmpty { return nil }
        return try name(trimmed, field: field)
    }

    static func trim(_ raw: String) -> String {
        // Most inputs (ids, emails) start and end with a printable ASCII byte:
        // nothing to trim, and no need to walk grapheme clusters.
        if let first = raw.utf8.first, let last = raw.utf8.last, (0x21...0x7E).contains(first), (0x21...0x7E).contains(last) {
            return raw
        }
        var view = Substring(raw)
        while let first = view.first, first.isWhitespace { view.removeFirst() }
        while let last = view.last, last.isWhitespace { view.removeLast() }
        return String(view)
    }

    static func containsControlCharacter(_ text: String) -> Bool {
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return text.utf8.contains { $0 < 0x20 || $0 == 0x7F } }
        return text.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }

    static func containsWhitespace(_ text: String) -> Bool {
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return text.utf8.contains { $0 == 0x20 || (0x09...0x0D).contains($0) } }
        return text.unicodeScalars.contains { $0.properties.isWhitespace }
    }

    /// Whether `text` contains `needle` (both already case-folded), comparing
    /// UTF-8 bytes: no allocation, unlike the generic searcher.
    static func contains(_ text: String, _ needle: String) -> Bool {
        var text = text
        var needle = needle
        return text.withUTF8 { haystack in
            needle.withUTF8 { pattern in
                guard !pattern.isEmpty else { return true }
                guard pattern.count <= haystack.count else { return false }
                let first = pattern[0]
                var start = 0
                while start + pattern.count <= haystack.count {
                    if haystack[start] == first {
                        var matched = 1
                        while matched < pattern.count && haystack[start + matched] == pattern[matched] { matched += 1 }
                        if matched == pattern.count { return true }
                    }
                    start += 1
                }
                return false
            }
        }
    }

    /// The case-insensitive form used for uniqueness and search.
    static func foldCase(_ text: String) -> String { text.lowercased() }
}
