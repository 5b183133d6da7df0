/// Text a peer sent, made safe to put in a message or a log line
/// (docs/protocol.md, "Bad input and limits"): at most `limit` characters
/// (then an ellipsis), in single quotes, with control characters, quotes and
/// backslashes escaped, so that a megabyte of actor comes back as a short
/// phrase and a terminal escape sequence as harmless text.
public enum PeerText {
    /// Characters kept before the ellipsis.
    public static let limit = 64

    /// `'text'`, bounded and escaped.
    ///
    /// - Complexity: O(`limit`): the rest of the text is never walked.
    public static func quote(_ text: some StringProtocol) -> String {
        var out = "'"
        var count = 0
        for scalar in text.unicodeScalars {
            if count == limit {
                out += "…"
                break
            }
            count += 1
            switch scalar {
            case "\\": out += "\\\\"
            case "'": out += "\\'"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
                    || (0x2028...0x2029).contains(scalar.value) || (0x202A...0x202E).contains(scalar.value)
                    || (0x2066...0x2069).contains(scalar.value)
                {
                    out += "\\u{" + String(scalar.value, radix: 16) + "}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "'"
    }

    /// An id as a peer gave it, quoted like any other text of theirs:
    /// `no user 'usr_zzz'` for an id that names nothing.
    public static func quote(_ id: some EntityID) -> String { quote(id.rawValue) }
}
