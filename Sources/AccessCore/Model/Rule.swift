/// A numbered rule of the domain contract (`docs/domain.md`), so that errors,
/// decisions and tests can name the rule they enforce.
public struct Rule: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    public static let r1 = Rule(rawValue: 1)
    public static let r2 = Rule(rawValue: 2)
    public static let r3 = Rule(rawValue: 3)
    public static let r4 = Rule(rawValue: 4)
    public static let r5 = Rule(rawValue: 5)
    public static let r6 = Rule(rawValue: 6)
    public static let r7 = Rule(rawValue: 7)
    public static let r8 = Rule(rawValue: 8)
    public static let r9 = Rule(rawValue: 9)
    public static let r10 = Rule(rawValue: 10)
    public static let r11 = Rule(rawValue: 11)
    public static let r12 = Rule(rawValue: 12)
    public static let r13 = Rule(rawValue: 13)
    public static let r14 = Rule(rawValue: 14)
    public static let r15 = Rule(rawValue: 15)
    public static let r16 = Rule(rawValue: 16)
    public static let r17 = Rule(rawValue: 17)
    public static let r18 = Rule(rawValue: 18)
    public static let r19 = Rule(rawValue: 19)
    public static let r20 = Rule(rawValue: 20)
    public static let r21 = Rule(rawValue: 21)

    public var description: String { "R\(rawValue)" }
}
