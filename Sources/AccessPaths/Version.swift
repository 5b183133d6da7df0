/// The one version string of accessd (`accessd --version`, the README).
public enum AccessdVersion {
    public static let current = "0.5.0"
}
