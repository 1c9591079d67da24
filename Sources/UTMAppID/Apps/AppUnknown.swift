import UTMCore

/// Nothing identified the flow.
enum AppUnknown {
    static let descriptor = AppDescriptor(
        id: .unknown, name: "Unknown", kind: .proto, category: "Unknown")
}
