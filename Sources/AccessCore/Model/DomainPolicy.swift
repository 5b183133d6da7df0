/// Settings of the domain that an operator may configure. Passed to `decide`;
/// never needed to apply events (their results are in the events).
public struct DomainPolicy: Hashable, Sendable {
    /// How long an activation token stays valid (R8). Default: 7 days.
    public var activationLifetimeMilliseconds: Int64

    public init(activationLifetimeMilliseconds: Int64 = 7 * 24 * 3600 * 1000) {
        self.activationLifetimeMilliseconds = activationLifetimeMilliseconds
    }
}
