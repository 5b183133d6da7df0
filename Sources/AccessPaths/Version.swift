/// The one version string of accessd (`accessd --version`, the README).
package enum AccessdVersion {
    package static let current = "0.5.0"
}
