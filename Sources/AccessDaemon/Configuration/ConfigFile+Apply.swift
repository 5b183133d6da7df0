import AccessPaths

extension ConfigFile {
    /// Puts the keys the file sets into a configuration (the socket and the
    /// state directory are `DaemonPaths`' business, the log level the
    /// executable's), checking each value against `ConfigKey`'s table in the
    /// order of the file: the error is the first problem, at its line.
    public func apply(to configuration: inout DaemonConfiguration) throws {
        for (key, entry) in entries.sorted(by: { $0.value.line < $1.value.line }) {
            let target = key.spec.formerNameOf ?? key
            if target != key, entries[target] != nil {
                throw invalid(entry, "\(key.name) is the former name of \(target.name); set only \(target.name)")
            }
            guard let field = target.field, let value = try value(of: key) else { continue }
            guard field.set(value, &configuration) else {
                throw invalid(entry, key.spec.values.refusal(of: entry.value, for: key))
            }
        }
    }
}
