/// A test of the server leaf certificate's validity times (Suricata's tls_cert_notbefore,
/// tls_cert_notafter, tls_cert_expired, tls_cert_valid): Unix seconds, compared as Suricata
/// does: `<` and `>` include the value, a range includes both ends, a time of 0 (no
/// certificate, or one whose time could not be read) never matches.
public struct TLSCertValidity: Sendable, Equatable {
    public enum Field: UInt8, Sendable { case notBefore = 0, notAfter = 1 }
    public enum Mode: UInt8, Sendable {
        case equal = 0, atMost = 1, atLeast = 2, range = 3
        /// `tls_cert_expired`: the packet time is after notAfter; `tls_cert_valid`: it is not.
        case expired = 4, valid = 5
    }
    public var field: Field
    public var mode: Mode
    public var a: Int64 = 0
    public var b: Int64 = 0

    public init(field: Field, mode: Mode, a: Int64 = 0, b: Int64 = 0) {
        self.field = field
        self.mode = mode
        self.a = a
        self.b = b
    }

    @inlinable
    public func matches(notBefore: Int64, notAfter: Int64, now: Int64) -> Bool {
        let t = field == .notBefore ? notBefore : notAfter
        guard t != 0 else { return false }
        switch mode {
        case .equal: return t == a
        case .atMost: return t <= a
        case .atLeast: return t >= a
        case .range: return t >= a && t <= b
        case .expired: return now > t
        case .valid: return now <= t
        }
    }
}
