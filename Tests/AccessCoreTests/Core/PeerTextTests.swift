import Testing

@testable import AccessCore

/// Text a peer sent, as messages and logs quote it (docs/protocol.md, "Bad
/// input and limits"): bounded, in single quotes, control characters escaped.
@Suite struct PeerTextTests {
    /// The scalars a terminal or a reader could be fooled by: C0 and C1
    /// controls, DEL, line and paragraph separators, bidi embeddings,
    /// overrides and isolates.
    static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.generalCategory == .control || (0x2028...0x202E).contains(scalar.value)
            || (0x2066...0x2069).contains(scalar.value)
    }

    @Test func plainTextPassesUnchangedInQuotes() {
        #expect(PeerText.quote("usr_zzz") == "'usr_zzz'")
        #expect(PeerText.quote("ann@acme.example") == "'ann@acme.example'")
        #expect(PeerText.quote("Zürich Büro ✓ 東京") == "'Zürich Büro ✓ 東京'")
        #expect(PeerText.quote("") == "''")
        #expect(PeerText.quote("two words") == "'two words'")
        #expect(PeerText.quote("a\"b") == "'a\"b'", "a double quote needs no escape inside single quotes")
        #expect(PeerText.quote("Account Owner"[...]) == "'Account Owner'", "any StringProtocol")
    }

    @Test func idsQuoteTheirRawValue() {
        #expect(PeerText.quote(UserID(uncheckedRawValue: "usr_zzz")) == "'usr_zzz'")
        #expect(PeerText.quote(AccountID(uncheckedRawValue: "acc_1")) == PeerText.quote("acc_1"))
    }

    @Test func quotesAndBackslashesAreEscaped() {
        #expect(PeerText.quote("O'Brien") == "'O\\'Brien'")
        #expect(PeerText.quote("a\\b") == "'a\\\\b'")
        #expect(PeerText.quote("'") == "'\\''")
    }

    @Test func controlCharactersAreEscaped() {
        #expect(PeerText.quote("\u{1B}[31mred\u{1B}[0m") == "'\\u{1b}[31mred\\u{1b}[0m'")
        #expect(PeerText.quote("a\u{0}b") == "'a\\u{0}b'")
        #expect(PeerText.quote("one\ntwo\r\nthree\tfour") == "'one\\ntwo\\r\\nthree\\tfour'")
        #expect(PeerText.quote("del\u{7F}") == "'del\\u{7f}'")
        #expect(PeerText.quote("c1\u{80}\u{85}\u{9B}\u{9F}") == "'c1\\u{80}\\u{85}\\u{9b}\\u{9f}'")
        #expect(PeerText.quote("\u{202E}gnp.exe") == "'\\u{202e}gnp.exe'", "a right-to-left override")
        #expect(PeerText.quote("\u{2028}\u{2029}\u{202A}\u{2066}\u{2069}") == "'\\u{2028}\\u{2029}\\u{202a}\\u{2066}\\u{2069}'")
        // Every C0 control, DEL and every C1 control comes out as printable ASCII.
        for value in Array(0x00...0x1F) + Array(0x7F...0x9F) {
            let scalar = Unicode.Scalar(UInt32(value))!
            let quoted = PeerText.quote(String(Character(scalar)))
            #expect(!quoted.unicodeScalars.contains(where: Self.isUnsafe), "U+\(String(value, radix: 16)): \(quoted.debugDescription)")
            #expect(quoted.unicodeScalars.allSatisfy { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F }, "\(quoted.debugDescription)")
        }
    }

    @Test func theQuoteIsBoundedWhateverTheInput() {
        let mebibyte = String(repeating: "a", count: 1 << 20)
        let quoted = PeerText.quote(mebibyte)
        #expect(quoted == "'" + String(repeating: "a", count: PeerText.limit) + "…'")
        #expect(quoted.count <= 70, "\(quoted.count) characters")

        // Exactly the limit: no ellipsis; one more: an ellipsis.
        #expect(PeerText.quote(String(repeating: "b", count: PeerText.limit)) == "'" + String(repeating: "b", count: PeerText.limit) + "'")
        #expect(PeerText.quote(String(repeating: "b", count: PeerText.limit + 1)).hasSuffix("b…'"))

        // Escapes lengthen what is kept, but only the first `limit` scalars are kept.
        let hostile = String(repeating: "\u{1B}[31m\n\u{202E}", count: 1 << 18)
        let escaped = PeerText.quote(hostile)
        #expect(escaped.count < 8 * PeerText.limit + 4, "\(escaped.count) characters")
        #expect(escaped.hasSuffix("…'"))
        #expect(!escaped.unicodeScalars.contains(where: Self.isUnsafe))
    }

    @Test func onlyTheFirstCharactersAreRead() {
        // The rest of the text is never walked: what follows the first
        // `limit` scalars changes nothing, and a very long text returns.
        let head = String(repeating: "x", count: PeerText.limit)
        let long = head + String(repeating: "\u{1B}", count: 16 << 20)
        #expect(PeerText.quote(long) == PeerText.quote(head + "y"))
        #expect(PeerText.quote(long[...]) == "'" + head + "…'")
        // Characters made of several scalars are cut at a scalar, not walked to their end.
        let combining = "e" + String(repeating: "\u{301}", count: 1 << 20)
        #expect(PeerText.quote(combining).unicodeScalars.count == PeerText.limit + 3)
    }
}
