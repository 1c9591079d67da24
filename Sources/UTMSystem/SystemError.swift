#if canImport(Glibc)
import Glibc
#endif

/// An operational failure of a system call: which call, on what, and the errno text.
/// One line, because operators read it in a terminal or a journal.
public struct SystemError: Error, CustomStringConvertible, Sendable {
    public var call: String
    public var subject: String
    public var code: Int32

    public init(call: String, subject: String, code: Int32 = errno) {
        self.call = call
        self.subject = subject
        self.code = code
    }

    /// The errno text alone ("Operation not permitted"), for errors that add their own context.
    public var errnoText: String { String(cString: strerror(code)) }

    public var description: String {
        "\(subject): \(call) failed: \(String(cString: strerror(code)))"
    }
}
