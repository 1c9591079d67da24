/// Why a capture source cannot deliver packets. One line for the operator, with a stable code
/// for scripts.
public struct CaptureError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        case unreadable      // cannot open or not a capture file
        case truncated       // the file ends inside a record
        case unsupportedLinkType
        case readFailed
        case openFailed      // a live source cannot be bound (permissions, queue taken)
    }

    public var code: Code
    public var path: String
    public var detail: String

    public init(_ code: Code, path: String, detail: String) {
        self.code = code
        self.path = path
        self.detail = detail
    }

    public var description: String { "\(path): \(detail)" }
}
